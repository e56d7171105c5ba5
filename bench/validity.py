"""Validity of the rubric grader against expert ratings (prints figures; not a test).

AnnoMI: does the analytic grade's overall score separate high- from low-quality counselling?
  AUROC with a bootstrap 95% interval, against the transcript-length baseline, and the same
  within length-matched bins (only pairs of similar length are compared, so the grade cannot
  win by rewarding length). Also the analyzer's Cohen's kappa on the main behaviour.
EPITOME: the analyzer's macro-F1 and quadratic-weighted kappa per empathy mechanism.

Usage: .venv/bin/python bench/validity.py [--annomi PATH] [--epitome PATH] [--rubric ID]
The data sets are evaluation-only (DESIGN "External evaluation data"): nothing read here is
copied into the project or used to fit anything. Exits 2 with a message if they are absent.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from validity_analyzer import (  # bench/ is on sys.path when run as a script
    cohen_kappa,
    macro_f1,
    quadratic_kappa,
)

from app.analysis import MECHANISMS, ContextTurn, TurnAnalysis, analyze_turn
from app.analysis.behaviours import BEHAVIOURS, main_behaviour
from app.config import Settings
from app.grading import GradingInput, GradingTurn, grade_analytic, input_from_transcript
from app.rubric import DEFAULT_RUBRIC_ID, load_rubrics
from app.transcripts import Transcript

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval-data"


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def auroc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Probability a random positive outscores a random negative (ties count half)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def binned_auroc(scores: Sequence[float], labels: Sequence[int], bins: Sequence[int]) -> float:
    """AUROC over (positive, negative) pairs that fall in the same length bin only."""
    wins = pairs = 0.0
    for i, (s_i, y_i, b_i) in enumerate(zip(scores, labels, bins, strict=True)):
        if not y_i:
            continue
        for j, (s_j, y_j, b_j) in enumerate(zip(scores, labels, bins, strict=True)):
            if i != j and not y_j and b_i == b_j:
                wins += (s_i > s_j) + 0.5 * (s_i == s_j)
                pairs += 1
    return wins / pairs if pairs else float("nan")


def bootstrap_ci(
    metric: Callable[[list[int]], float], labels: Sequence[int], *, rounds: int, seed: int
) -> tuple[float, float]:
    """95% percentile interval of metric(indices), resampling within each class."""
    rng = random.Random(seed)
    pos = [i for i, y in enumerate(labels) if y]
    neg = [i for i, y in enumerate(labels) if not y]
    values = []
    for _ in range(rounds):
        sample = [rng.choice(pos) for _ in pos] + [rng.choice(neg) for _ in neg]
        value = metric(sample)
        if value == value:  # skip NaN (a resample with no comparable pair)
            values.append(value)
    values.sort()
    return values[int(0.025 * len(values))], values[min(len(values) - 1, int(0.975 * len(values)))]


def length_bins(lengths: Sequence[int], count: int) -> list[int]:
    """Quantile bin (0..count-1) of each length, so bins hold similar numbers of transcripts."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    bins = [0] * len(lengths)
    for rank, i in enumerate(order):
        bins[i] = rank * count // len(lengths)
    return bins


def annomi_transcripts(rows: list[dict[str, str]]) -> list[tuple[Transcript, int]]:
    """(transcript, 1 for high quality) per AnnoMI session, utterances in order."""
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        grouped[row["transcript_id"]].append(row)
    out = []
    for ident, utterances in grouped.items():
        utterances.sort(key=lambda r: int(r["utterance_id"]))
        turns = [
            {
                "speaker": "counsellor" if r["interlocutor"] == "therapist" else "client",
                "text": r["utterance_text"],
            }
            for r in utterances
            if r["utterance_text"].strip()
        ]
        transcript = Transcript.model_validate({"id": ident, "turns": turns})
        out.append((transcript, int(utterances[0]["mi_quality"] == "high")))
    return out


def session_validity(path: Path, *, rubric_id: str, rounds: int, seed: int, bins: int) -> None:
    """Print the grade's AUROC for high vs low quality, overall and within length bins."""
    rubric = load_rubrics(Settings().rubrics_dir)[rubric_id]
    sessions = annomi_transcripts(_read(path))
    labels = [y for _, y in sessions]
    started = time.perf_counter()
    grades = [grade_analytic(input_from_transcript(t), rubric) for t, _ in sessions]
    elapsed = (time.perf_counter() - started) * 1000 / len(sessions)
    # A grade that abstains ("not enough evidence") is left out, as a selective classifier's
    # abstentions are; the count is printed, and the figure with them at the bottom too.
    ungraded = [i for i, g in enumerate(grades) if g.overall is None]
    floor = [g.overall if g.overall is not None else rubric.scale.min for g in grades]
    keep = [i for i in range(len(grades)) if i not in ungraded]
    all_labels = labels
    labels = [all_labels[i] for i in keep]
    overall = [floor[i] for i in keep]
    lengths = [len(sessions[i][0].turns) for i in keep]
    words = [
        sum(len(x.text.split()) for x in sessions[i][0].turns if x.speaker == "counsellor")
        for i in keep
    ]
    binning = length_bins(lengths, bins)

    def on(values: Sequence[float]) -> Callable[[list[int]], float]:
        return lambda idx: auroc([values[i] for i in idx], [labels[i] for i in idx])

    def on_bins(values: Sequence[float]) -> Callable[[list[int]], float]:
        return lambda idx: binned_auroc(
            [values[i] for i in idx], [labels[i] for i in idx], [binning[i] for i in idx]
        )

    print(
        f"AnnoMI sessions ({path.name}): {sum(labels)} high, {len(labels) - sum(labels)} low; "
        f"rubric {rubric.id} v{rubric.version}; {elapsed:.1f} ms per session; "
        f"{len(ungraded)} without an overall score (left out; counted at the bottom of the "
        f"scale instead, AUROC {auroc(floor, all_labels):.3f})"
    )
    for name, values in (
        ("grade overall", overall),
        ("length (turns)", lengths),
        ("length (counsellor words)", words),
    ):
        low, high = bootstrap_ci(on(values), labels, rounds=rounds, seed=seed)
        b_low, b_high = bootstrap_ci(on_bins(values), labels, rounds=rounds, seed=seed)
        print(
            f"  {name:<26} AUROC {auroc(values, labels):.3f} [95% CI {low:.3f}-{high:.3f}]"
            f"   within {bins} length bins {binned_auroc(values, labels, binning):.3f} "
            f"[{b_low:.3f}-{b_high:.3f}]"
        )
    by_criterion: dict[str, list[float | None]] = defaultdict(list)
    for grade in grades:
        for criterion in grade.criteria:
            by_criterion[criterion.id].append(criterion.score)
    for ident, scores in by_criterion.items():
        pairs = [(s, y) for s, y in zip(scores, all_labels, strict=True) if s is not None]
        if pairs:
            value = auroc([s for s, _ in pairs], [y for _, y in pairs])
            print(f"    criterion {ident:<18} AUROC {value:.3f} over {len(pairs)} scored sessions")
    for quality in (1, 0):
        values = [o for o, y in zip(overall, labels, strict=True) if y == quality]
        print(
            f"    overall, {'high' if quality else 'low '} quality: "
            f"mean {statistics.mean(values):.2f}"
            f" (min {min(values):.1f}, max {max(values):.1f})"
        )


# The experts' main behaviours as the nearest analyzer codes (they do not say simple/complex or
# open/closed, so each maps to the milder code).
_EXPERT_CODES = {
    "reflection": "reflection_simple",
    "question": "question_open",
    "therapist_input": "information",
    "other": "other",
}


def expert_coded_ceiling(path: Path, *, rubric_id: str) -> None:
    """The same rubric scored on the experts' behaviour codes instead of the analyzer's.

    This isolates the grader's design from the analyzer's errors: if the grade separates
    high from low quality on expert codes, what remains is analyzer accuracy.
    """
    rubric = load_rubrics(Settings().rubrics_dir)[rubric_id]
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _read(path):
        grouped[row["transcript_id"]].append(row)
    scores, labels = [], []
    for ident, utterances in grouped.items():
        utterances.sort(key=lambda r: int(r["utterance_id"]))
        turns, analyses = [], {}
        for i, row in enumerate(utterances):
            speaker = "counsellor" if row["interlocutor"] == "therapist" else "client"
            turns.append(GradingTurn(i, speaker, row["utterance_text"]))
            if speaker == "counsellor":
                code = _EXPERT_CODES.get(row["main_therapist_behaviour"], "other")
                analyses[i] = TurnAnalysis(codes=(code,), empathy={}, evidence=())
        grade = grade_analytic(GradingInput(ident, turns, analyses), rubric)
        scores.append(grade.overall if grade.overall is not None else rubric.scale.min)
        labels.append(int(utterances[0]["mi_quality"] == "high"))
    print(
        f"  same rubric on the experts' behaviour codes (grader ceiling): "
        f"AUROC {auroc(scores, labels):.3f}"
    )


def behaviour_kappa(path: Path) -> None:
    """Print the analyzer's main-behaviour agreement with AnnoMI's experts."""
    gold: list[str] = []
    pred: list[str] = []
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _read(path):
        grouped[row["transcript_id"]].append(row)
    for utterances in grouped.values():
        utterances.sort(key=lambda r: int(r["utterance_id"]))
        history: list[ContextTurn] = []
        for row in utterances:
            speaker = "counsellor" if row["interlocutor"] == "therapist" else "client"
            if speaker == "counsellor" and row["main_therapist_behaviour"] in BEHAVIOURS:
                # The analyzer reads the turns before, as in the app (it keeps its own window).
                analysis = analyze_turn(row["utterance_text"], context=history)
                gold.append(row["main_therapist_behaviour"])
                pred.append(main_behaviour(analysis))
            history.append(ContextTurn(speaker=speaker, text=row["utterance_text"]))
    print(
        f"  analyzer main behaviour vs experts: Cohen's kappa "
        f"{cohen_kappa(gold, pred, BEHAVIOURS):.3f} over {len(gold)} utterances"
    )
    print("    per behaviour            precision  recall     F1  support")
    for behaviour in BEHAVIOURS:
        tp = sum(g == p == behaviour for g, p in zip(gold, pred, strict=True))
        fp = sum(p == behaviour != g for g, p in zip(gold, pred, strict=True))
        fn = sum(g == behaviour != p for g, p in zip(gold, pred, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        print(f"    {behaviour:<24} {precision:>9.3f} {recall:>7.3f} {f1:>6.3f} {tp + fn:>8}")


def epitome_agreement(path: Path) -> None:
    """Print the analyzer's macro-F1 and quadratic kappa per EPITOME mechanism."""
    rows = _read(path)
    gold: dict[str, list[int]] = {m: [] for m in MECHANISMS}
    pred: dict[str, list[int]] = {m: [] for m in MECHANISMS}
    for row in rows:
        context = [ContextTurn(speaker="client", text=row["seeker_post"])]
        analysis = analyze_turn(row["response_post"], context=context)
        for mechanism in MECHANISMS:
            gold[mechanism].append(int(row[mechanism]))
            pred[mechanism].append(analysis.empathy[mechanism])
    print(f"EPITOME ({path.name}): {len(rows)} pairs")
    for mechanism in MECHANISMS:
        g, p = gold[mechanism], pred[mechanism]
        print(
            f"  {mechanism:<20} macro-F1 {macro_f1(g, p, (0, 1, 2)):.3f}   "
            f"quadratic kappa {quadratic_kappa(g, p):.3f}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement; exit 2 when a data file is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annomi", type=Path, default=DEFAULT_DIR / "annomi-dev.csv")
    parser.add_argument("--epitome", type=Path, default=DEFAULT_DIR / "epitome-dev.csv")
    parser.add_argument("--rubric", default=DEFAULT_RUBRIC_ID, help="rubric id to grade with")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--bins", type=int, default=3, help="length-matched bins")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)
    missing = [str(p) for p in (args.annomi, args.epitome) if not p.is_file()]
    if missing:
        print(
            "validity: evaluation data not found: "
            + ", ".join(missing)
            + "\n  pass --annomi PATH and --epitome PATH (see shared/eval-data/README.md)",
            file=sys.stderr,
        )
        return 2
    session_validity(
        args.annomi, rubric_id=args.rubric, rounds=args.bootstrap, seed=args.seed, bins=args.bins
    )
    expert_coded_ceiling(args.annomi, rubric_id=args.rubric)
    behaviour_kappa(args.annomi)
    epitome_agreement(args.epitome)
    return 0


if __name__ == "__main__":
    sys.exit(main())
