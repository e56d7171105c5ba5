"""Validity of the turn analyzer against human experts (prints figures; not a test).

AnnoMI: utterance-level Cohen's kappa of the analyzer's main behaviour against the experts'
``main_therapist_behaviour``, with the previous client utterance as context.
EPITOME: macro-F1 and quadratic-weighted kappa for each empathy mechanism, each pair analysed
as a two-turn transcript (client: seeker post, counsellor: response post).

Usage: .venv/bin/python bench/validity_analyzer.py [--annomi PATH] [--epitome PATH] [--errors N]
The data sets are evaluation-only (see DESIGN "External evaluation data"): nothing read here
is copied into the project or used to fit anything.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from app.analysis import MECHANISMS, ContextTurn, analyze_turn
from app.analysis.behaviours import BEHAVIOURS, main_behaviour

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval-data"
def cohen_kappa(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted Cohen's kappa."""
    n = len(gold)
    observed = sum(g == p for g, p in zip(gold, pred, strict=True)) / n
    g_count, p_count = Counter(gold), Counter(pred)
    expected = sum(g_count[label] * p_count[label] for label in labels) / (n * n)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def quadratic_kappa(gold: Sequence[int], pred: Sequence[int], k: int = 3) -> float:
    """Cohen's kappa with quadratic weights for ordinal levels 0..k-1."""
    n = len(gold)
    observed = [[0.0] * k for _ in range(k)]
    for g, p in zip(gold, pred, strict=True):
        observed[g][p] += 1
    g_hist = [sum(row) for row in observed]
    p_hist = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            weight = (i - j) ** 2 / (k - 1) ** 2
            num += weight * observed[i][j]
            den += weight * g_hist[i] * p_hist[j] / n
    return 1 - num / den if den else 1.0


def macro_f1(gold: Sequence[int], pred: Sequence[int], labels: Sequence[int]) -> float:
    """Unweighted mean of per-class F1 over the labels."""
    scores = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def annomi(path: Path, *, errors: int) -> None:
    """Print AnnoMI agreement figures."""
    rows = _read(path)
    by_transcript: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_transcript[row["transcript_id"]].append(row)
    gold: list[str] = []
    pred: list[str] = []
    mistakes: list[tuple[str, str, str, str]] = []
    started = time.perf_counter()
    for utterances in by_transcript.values():
        utterances.sort(key=lambda r: int(r["utterance_id"]))
        history: list[ContextTurn] = []
        for row in utterances:
            speaker = "counsellor" if row["interlocutor"] == "therapist" else "client"
            text = row["utterance_text"]
            if speaker == "counsellor" and row["main_therapist_behaviour"] in BEHAVIOURS:
                # The turns before, as in the app (the analyzer keeps its own window).
                analysis = analyze_turn(text, context=history)
                gold.append(row["main_therapist_behaviour"])
                pred.append(main_behaviour(analysis))
                if gold[-1] != pred[-1]:
                    mistakes.append((gold[-1], pred[-1], ",".join(analysis.codes), text))
            history.append(ContextTurn(speaker=speaker, text=text))
    elapsed = time.perf_counter() - started
    print(f"AnnoMI ({path.name}): {len(gold)} counsellor utterances, "
          f"{elapsed * 1000 / max(len(gold), 1):.3f} ms per turn")
    print(f"  Cohen's kappa (main behaviour): {cohen_kappa(gold, pred, BEHAVIOURS):.3f}")
    print(f"  accuracy: {sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold):.3f}")
    width = max(len(b) for b in BEHAVIOURS) + 2
    print("  confusion (rows: experts, columns: analyzer)")
    print("  " + " " * width + "".join(f"{b:>17}" for b in BEHAVIOURS))
    pairs = Counter(zip(gold, pred, strict=True))
    for g in BEHAVIOURS:
        print("  " + f"{g:<{width}}" + "".join(f"{pairs[(g, p)]:>17}" for p in BEHAVIOURS))
    for g, p, codes, text in mistakes[:errors]:
        print(f"    expert={g} analyzer={p} [{codes}] {text[:160]!r}")


def epitome(path: Path, *, errors: int) -> None:
    """Print EPITOME agreement figures."""
    rows = _read(path)
    gold: dict[str, list[int]] = {m: [] for m in MECHANISMS}
    pred: dict[str, list[int]] = {m: [] for m in MECHANISMS}
    started = time.perf_counter()
    shown: Counter[str] = Counter()
    for row in rows:
        context = [ContextTurn(speaker="client", text=row["seeker_post"])]
        analysis = analyze_turn(row["response_post"], context=context)
        for mechanism in MECHANISMS:
            gold[mechanism].append(int(row[mechanism]))
            pred[mechanism].append(analysis.empathy[mechanism])
            if gold[mechanism][-1] != pred[mechanism][-1] and shown[mechanism] < errors:
                shown[mechanism] += 1
                print(f"    {mechanism}: expert={gold[mechanism][-1]} "
                      f"analyzer={pred[mechanism][-1]} {row['response_post'][:200]!r}")
    elapsed = time.perf_counter() - started
    print(f"EPITOME ({path.name}): {len(rows)} pairs, "
          f"{elapsed * 1000 / max(len(rows), 1):.3f} ms per response")
    for mechanism in MECHANISMS:
        g, p = gold[mechanism], pred[mechanism]
        matrix = Counter(zip(g, p, strict=True))
        print(f"  {mechanism:<20} macro-F1 {macro_f1(g, p, (0, 1, 2)):.3f}   "
              f"quadratic kappa {quadratic_kappa(g, p):.3f}   "
              f"confusion {[[matrix[(i, j)] for j in range(3)] for i in range(3)]}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run both measurements; exit 2 when a data file is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annomi", type=Path, default=DEFAULT_DIR / "annomi-dev.csv")
    parser.add_argument("--epitome", type=Path, default=DEFAULT_DIR / "epitome-dev.csv")
    parser.add_argument("--errors", type=int, default=0,
                        help="print up to N disagreements per measure (for error analysis)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in (args.annomi, args.epitome) if not p.is_file()]
    if missing:
        print("validity_analyzer: evaluation data not found: " + ", ".join(missing)
              + "\n  pass --annomi PATH and --epitome PATH (see shared/eval-data/README.md)",
              file=sys.stderr)
        return 2
    annomi(args.annomi, errors=args.errors)
    epitome(args.epitome, errors=args.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
