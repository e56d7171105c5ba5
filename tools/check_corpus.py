"""Check corpus files against the codebook's row format and print label counts.

Usage: .venv/bin/python tools/check_corpus.py [PATH...]   (default: corpus/analyzer)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.analysis.corpus import CorpusError, label_counts, load_corpus


def main(argv: list[str]) -> int:
    """Validate the files; print counts; exit 1 on the first broken row."""
    paths = [Path(p) for p in argv] or [Path("corpus/analyzer")]
    try:
        rows = load_corpus(paths)
    except CorpusError as exc:
        print(f"corpus: {exc}", file=sys.stderr)
        return 1
    texts = [r.text.lower() for r in rows]
    repeated = len(texts) - len(set(texts))
    print(f"ok: {len(rows)} rows, {repeated} repeated utterance texts")
    for name, counter in label_counts(rows).items():
        print(f"  {name}: " + ", ".join(f"{k}={v}" for k, v in sorted(counter.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
