"""`rapport analyzer ...`: train the analyzer's model, cross-validate it, explain a turn."""

from __future__ import annotations

import filecmp
import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from app.config import PROJECT_ROOT

__all__ = ["analyzer_app"]

analyzer_app = typer.Typer(
    help="The turn analyzer's model: train, evaluate, explain.", no_args_is_help=True
)

CORPUS_DIR = PROJECT_ROOT / "corpus" / "analyzer"
MODEL_FILE = PROJECT_ROOT / "app" / "analysis" / "data" / "analyzer.model"


def _rows(corpus: Path) -> tuple[list, list[Path]]:
    """Load the corpus or exit 2 naming the broken line."""
    from app.analysis.corpus import CorpusError, load_corpus

    if not corpus.exists():
        typer.echo(f"error: no corpus at {corpus}", err=True)
        raise typer.Exit(2)
    files = sorted(corpus.glob("*.jsonl")) if corpus.is_dir() else [corpus]
    try:
        return load_corpus(files), files
    except CorpusError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _needs_sklearn() -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        typer.echo(
            "error: training needs scikit-learn: pip install -e '.[train]'", err=True
        )
        raise typer.Exit(2) from exc


def _progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


@analyzer_app.command("train")
def train(
    corpus: Annotated[Path, typer.Option(help="Corpus folder or file.")] = CORPUS_DIR,
    out: Annotated[Path, typer.Option(help="Model file to write.")] = MODEL_FILE,
    check: Annotated[
        bool, typer.Option(help="Rebuild into a temporary file and compare with --out.")
    ] = False,
) -> None:
    """Rebuild the model file from the corpus (same corpus and seed: same bytes)."""
    from app.analysis.training import train_to_file

    _needs_sklearn()
    rows, files = _rows(corpus)
    typer.echo(f"training on {len(rows)} rows from {len(files)} files", err=True)
    if check:
        with tempfile.TemporaryDirectory() as tmp:
            built = Path(tmp) / out.name
            train_to_file(rows, built, files=files, progress=_progress)
            same = out.is_file() and filecmp.cmp(built, out, shallow=False)
        typer.echo(f"{'identical' if same else 'DIFFERENT'}: rebuilt model vs {out}")
        raise typer.Exit(0 if same else 1)
    meta = train_to_file(rows, out, files=files, progress=_progress)
    typer.echo(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB; {meta['sentences']} sentences, "
        f"corpus sha256 {str(meta['corpus_sha256'])[:12]})"
    )


@analyzer_app.command("evaluate")
def evaluate(
    corpus: Annotated[Path, typer.Option(help="Corpus folder or file.")] = CORPUS_DIR,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
) -> None:
    """Print k-fold cross-validated figures of the whole analyzer on the corpus."""
    from app.analysis.training import cross_validate, format_report, split_holdout

    _needs_sklearn()
    rows, _ = _rows(corpus)
    rows, held = split_holdout(rows)
    typer.echo(f"cross-validating on {len(rows)} rows ({len(held)} held back for the tests)",
               err=True)
    report = cross_validate(rows, folds=folds, progress=_progress)
    typer.echo("\n".join(format_report(report)))


@analyzer_app.command("explain")
def explain(
    text: Annotated[str, typer.Argument(help="The counsellor's turn.")],
    client: Annotated[
        list[str] | None, typer.Option(help="What the client said before it (repeatable).")
    ] = None,
) -> None:
    """Show how each sentence of a turn was coded, with its probability and what decided it."""
    from app.analysis import ContextTurn
    from app.analysis.analyzer import code_units

    context = [ContextTurn(speaker="client", text=line) for line in client or []]
    units, empathy = code_units(text, context=context)
    for unit in units:
        top = sorted(unit.probabilities.items(), key=lambda kv: -kv[1])[:3]
        line = {
            "sentence": unit.text,
            "code": unit.code,
            "confidence": round(unit.confidence, 3),
            "decided_by": unit.source,
            "model_top3": {k: round(v, 3) for k, v in top},
        }
        typer.echo(json.dumps(line, ensure_ascii=False))
    typer.echo(json.dumps({"empathy": empathy}))
