"""Does the grade separate high- from low-quality sessions of the team's own session corpus?

`corpus/sessions/*.jsonl` holds whole counselling sessions written by the team and labelled
high or low MI quality (see corpus/sessions/README.md). This grades each one with the analytic
grader as an imported transcript, and prints the overall grade's AUROC (with a bootstrap 95 %
interval), the same within length tertiles (so a grade cannot win by rewarding length), the
two length baselines, each criterion's AUROC, and the figures per file and per register.

Nothing is fitted here. Prints figures; not a test (tests/test_session_quality.py holds floors).

Usage: .venv/bin/python bench/session_quality.py [PATH...] [--rubric ID] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from validity import auroc, binned_auroc, bootstrap_ci, length_bins  # bench/ is on sys.path

from app.config import Settings
from app.grading import grade_analytic, input_from_transcript
from app.rubric import DEFAULT_RUBRIC_ID, load_rubrics
from app.transcripts import Transcript

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "corpus" / "sessions"
QUALITIES = {"high": 1, "low": 0}


@dataclass(frozen=True)
class Session:
    """One labelled session of the corpus."""

    id: str
    source: str  # file name
    high: int  # 1 high quality, 0 low
    register: str
    transcript: Transcript


class SessionCorpusError(ValueError):
    """A corpus line that does not follow the format (the message names file and line)."""


def load_sessions(paths: Sequence[Path]) -> list[Session]:
    """Every session in the files (a directory means its *.jsonl), checked line by line."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    sessions: list[Session] = []
    seen: set[str] = set()
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{file.name}:{number}"
            try:
                row = json.loads(line)
                quality = QUALITIES[row["quality"]]
                turns = row["turns"]
                transcript = Transcript.model_validate({"id": row["id"], "turns": turns})
            except (KeyError, TypeError, ValueError) as exc:
                raise SessionCorpusError(f"{where}: {exc}") from exc
            speakers = [t["speaker"] for t in turns]
            if speakers[:1] != ["counsellor"] or any(a == b for a, b in pairwise(speakers)):
                raise SessionCorpusError(f"{where}: turns must alternate, counsellor first")
            if row["id"] in seen:
                raise SessionCorpusError(f"{where}: id {row['id']} is used twice")
            seen.add(row["id"])
            sessions.append(Session(row["id"], file.name, quality, row.get("register", "?"),
                                    transcript))
    return sessions


@dataclass(frozen=True)
class Figures:
    """The grade's separation of high from low quality on a set of sessions."""

    high: int
    low: int
    ungraded: int
    auroc: float
    ci: tuple[float, float]
    within_tertiles: float
    tertile_aurocs: tuple[float, ...]
    length_auroc: float
    words_auroc: float
    criteria: dict[str, float]
    mean_high: float
    mean_low: float


def figures(sessions: Sequence[Session], grades: Sequence, *, rounds: int, seed: int) -> Figures:
    """AUROC overall, within length tertiles and per criterion (ungraded sessions at the floor)."""
    labels = [s.high for s in sessions]
    scores = [g.overall if g.overall is not None else 1.0 for g in grades]
    lengths = [sum(t.speaker == "counsellor" for t in s.transcript.turns) for s in sessions]
    words = [sum(len(t.text.split()) for t in s.transcript.turns if t.speaker == "counsellor")
             for s in sessions]
    bins = length_bins(lengths, 3)
    low, high = bootstrap_ci(
        lambda idx: auroc([scores[i] for i in idx], [labels[i] for i in idx]),
        labels, rounds=rounds, seed=seed,
    )
    per_bin = []
    for b in range(3):
        idx = [i for i, v in enumerate(bins) if v == b]
        per_bin.append(auroc([scores[i] for i in idx], [labels[i] for i in idx]))
    criteria: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for grade, y in zip(grades, labels, strict=True):
        for c in grade.criteria:
            if c.score is not None:
                criteria[c.id].append((c.score, y))
    return Figures(
        high=sum(labels), low=len(labels) - sum(labels),
        ungraded=sum(g.overall is None for g in grades),
        auroc=auroc(scores, labels), ci=(low, high),
        within_tertiles=binned_auroc(scores, labels, bins), tertile_aurocs=tuple(per_bin),
        length_auroc=auroc(lengths, labels), words_auroc=auroc(words, labels),
        criteria={k: auroc([s for s, _ in v], [y for _, y in v]) for k, v in criteria.items()},
        mean_high=statistics.mean(s for s, y in zip(scores, labels, strict=True) if y),
        mean_low=statistics.mean(s for s, y in zip(scores, labels, strict=True) if not y),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Grade every session and print the figures (or one JSON object with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[DEFAULT_DIR])
    parser.add_argument("--rubric", default=DEFAULT_RUBRIC_ID, help="rubric id to grade with")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--list", action="store_true", help="print every session's grade")
    args = parser.parse_args(argv)
    try:
        sessions = load_sessions(args.paths)
    except (OSError, SessionCorpusError) as exc:
        print(f"session_quality: {exc}", file=sys.stderr)
        return 2
    if len({s.high for s in sessions}) < 2:
        print("session_quality: need sessions of both qualities", file=sys.stderr)
        return 2
    rubric = load_rubrics(Settings().rubrics_dir)[args.rubric]
    started = time.perf_counter()
    grades = [grade_analytic(input_from_transcript(s.transcript), rubric) for s in sessions]
    per_session = (time.perf_counter() - started) * 1000 / len(sessions)
    result = figures(sessions, grades, rounds=args.bootstrap, seed=args.seed)
    if args.json:
        print(json.dumps({**result.__dict__, "sessions": len(sessions)}))
        return 0
    print(
        f"{len(sessions)} sessions ({result.high} high, {result.low} low, {result.ungraded} "
        f"without an overall score, counted as {rubric.scale.min}); rubric {rubric.id} "
        f"v{rubric.version}; {per_session:.0f} ms per session (analysis included)"
    )
    low, high = result.ci
    print(f"  grade overall   AUROC {result.auroc:.3f} [95% CI {low:.3f}-{high:.3f}]"
          f"  within length tertiles {result.within_tertiles:.3f} (each: "
          + ", ".join(f"{v:.3f}" for v in result.tertile_aurocs) + ")")
    print(f"  length baselines: counsellor turns {result.length_auroc:.3f}, "
          f"counsellor words {result.words_auroc:.3f}")
    print(f"  mean overall: high {result.mean_high:.2f}, low {result.mean_low:.2f}")
    for ident, value in result.criteria.items():
        print(f"    criterion {ident:<18} AUROC {value:.3f}")
    for name, key in (("file", lambda s: s.source), ("register", lambda s: s.register)):
        groups: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(sessions):
            groups[key(s)].append(i)
        for group, idx in sorted(groups.items()):
            labels = [sessions[i].high for i in idx]
            scores = [grades[i].overall or 1.0 for i in idx]
            print(f"  {name} {group:<12} {len(idx):>3} sessions  AUROC {auroc(scores, labels):.3f}")
    if args.list:
        for s, g in sorted(zip(sessions, grades, strict=True), key=lambda p: p[1].overall or 1):
            crit = " ".join(f"{c.id[:4]}={c.score}" for c in g.criteria)
            print(f"  {s.id:<8} {'high' if s.high else 'low ':<5} {g.overall}  {crit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
