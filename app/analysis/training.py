"""Train the analyzer's model from the team corpus, reproducibly, and cross-validate it.

`rapport analyzer train` rebuilds ``app/analysis/data/analyzer.model`` byte for byte from
``corpus/analyzer/*.jsonl`` with a fixed seed; `rapport analyzer evaluate` prints k-fold
figures of the whole analyzer (model and rules) on the corpus. Training needs scikit-learn
(the optional ``train`` extra); serving needs only numpy.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.analysis.analyzer import CONTEXT_TURNS, code_units
from app.analysis.behaviours import BEHAVIOURS, main_behaviour_of
from app.analysis.corpus import Row
from app.analysis.features import FEATURES_VERSION, TurnView, turn_features, unit_features
from app.analysis.features import view_turn as _view
from app.analysis.grounding_training import (
    GroundingTally,
    tally_grounding,
)
from app.analysis.learned import Head, LearnedModel, write_model
from app.analysis.model import CODES, MECHANISMS
from app.analysis.rules import RULES, apply_rules, model_code
from app.analysis.sentences import normalise

__all__ = [
    "TrainingSettings",
    "cross_validate",
    "fit",
    "is_held_back",
    "split_holdout",
    "train_to_file",
]

SEED = 20261201
_WORDS = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True, slots=True)
class TrainingSettings:
    """What training does; stored in the model file so a model says how it was made."""

    seed: int = SEED
    behaviour_c: float = 2.0  # inverse regularisation of the behaviour head
    empathy_c: float = 1.0
    balance: float = 0.5  # class weights (n / count) ** balance: 0 none, 1 fully balanced
    min_count: int = 3  # a feature must occur in this many training units
    inner_folds: int = 2  # out-of-fold behaviour probabilities for the empathy heads
    prune: float = 0.002  # drop features whose every weight is smaller than this



HOLDOUT_SHARE = 10  # one row in ten is held back from the shipped model, for the tests


def group_of(row: Row) -> str:
    """Rows that answer the same client words form one group, kept on one side of any split:
    writers paired a skilled and a clumsy reply to one client turn, and a model must not meet
    the client turn in training and its twin in testing."""
    last = next((t.text for t in reversed(row.context) if t.speaker == "client"), None)
    return "c:" + normalise(last) if last else "r:" + row.id


def _bucket_of(key: str, buckets: int, seed: int) -> int:
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16) % buckets


def is_held_back(row: Row) -> bool:
    """Whether a row belongs to the held-back fold (fixed by its group, not by file order)."""
    return _bucket_of(group_of(row), HOLDOUT_SHARE, 0) == 0


def split_holdout(rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
    """(rows to train and cross-validate on, the held-back rows the tests score)."""
    train = [r for r in rows if not is_held_back(r)]
    held = [r for r in rows if is_held_back(r)]
    return train, held


def view_turn(row: Row) -> TurnView:
    """The row's utterance as the analyzer sees it (same context window as serving)."""
    return _view(row.text, row.context[-CONTEXT_TURNS:])


def unit_labels(row: Row, view: TurnView) -> list[str]:
    """The gold code of each analyzer unit: the segment covering most of its characters."""
    spans = []
    cursor = 0
    for segment in row.segments:
        spans.append((cursor, cursor + len(segment.text), segment.code))
        cursor += len(segment.text) + 1
    labels = []
    for start, end in view.spans:
        overlap = Counter()
        for s_start, s_end, code in spans:
            covered = min(end, s_end) - max(start, s_start)
            if covered > 0:
                overlap[code] += covered
        labels.append(overlap.most_common(1)[0][0] if overlap else "other")
    return labels


@dataclass(slots=True)
class _Prepared:
    """Rows turned into views, unit features and labels once, reused by every fold."""

    rows: list[Row]
    views: list[TurnView]
    unit_feats: list[list[dict[str, float]]]
    labels: list[list[str]]


def prepare(rows: Sequence[Row]) -> _Prepared:
    """Extract every row's units, features and gold labels."""
    views = [view_turn(row) for row in rows]
    feats = [[unit_features(v, i) for i in range(len(v.units))] for v in views]
    labels = [unit_labels(row, v) for row, v in zip(rows, views, strict=True)]
    return _Prepared(list(rows), views, feats, labels)


def _fit_head(
    examples: Sequence[dict[str, float]],
    targets: Sequence[str],
    *,
    classes: Sequence[str],
    c: float,
    balance: float,
    min_count: int,
    prune: float,
) -> dict:
    """Fit one softmax head with scikit-learn; return its plain arrays for the model file."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    counts: Counter[str] = Counter()
    for example in examples:
        counts.update(example.keys())
    kept = [{k: v for k, v in e.items() if counts[k] >= min_count} for e in examples]
    vectoriser = DictVectorizer(sort=True)
    matrix = vectoriser.fit_transform(kept)
    present = Counter(targets)
    used = [c_ for c_ in classes if present[c_]]
    total = len(targets)
    weights = np.array(
        [(total / (len(used) * present[t])) ** balance for t in targets], dtype=np.float64
    )
    model = LogisticRegression(C=c, max_iter=3000, tol=1e-4)
    model.fit(matrix, list(targets), sample_weight=weights)
    coef = np.asarray(model.coef_, dtype=np.float64)  # (classes, features)
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    learned = [str(x) for x in model.classes_]
    if len(learned) == 2:  # binary heads come back as one row: make it a softmax pair
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    names = vectoriser.get_feature_names_out()
    keep = np.abs(coef).max(axis=0) >= prune
    return {
        "classes": learned,
        "features": [str(n) for n in names[keep]],
        "weights": coef[:, keep].T,
        "bias": intercept,
    }


def _as_head(spec: dict) -> Head:
    """A serving Head from a freshly fitted spec (same arithmetic as a loaded file)."""
    return Head(
        classes=tuple(spec["classes"]),
        index={f: i for i, f in enumerate(spec["features"])},
        weights=np.asarray(spec["weights"], dtype=np.float32),
        bias=np.asarray(spec["bias"], dtype=np.float32),
    )


def _folds(n: int, k: int, seed: int) -> list[int]:
    """A fold number per item, balanced and fixed by the seed."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    fold = [0] * n
    for rank, i in enumerate(order):
        fold[i] = rank % k
    return fold


def group_folds(rows: Sequence[Row], k: int, seed: int) -> list[int]:
    """A fold number per row, with every row of a group (same client words) in one fold."""
    groups = sorted({group_of(r) for r in rows})
    by_group = dict(zip(groups, _folds(len(groups), k, seed), strict=True))
    return [by_group[group_of(r)] for r in rows]


# Codes only rules give: a model would learn them from the context flags alone (any reply after
# an invitation looks like a crossing), so their sentences are left out of its training.
RULE_ONLY = frozenset({"boundary_crossing", "boundary_holding"})


def _behaviour_spec(data: _Prepared, idx: Sequence[int], settings: TrainingSettings) -> dict:
    pairs = [
        (f, label) for i in idx for f, label in zip(data.unit_feats[i], data.labels[i],
                                                     strict=True)
        if label not in RULE_ONLY
    ]
    examples = [f for f, _ in pairs]
    targets = [label for _, label in pairs]
    return _fit_head(examples, targets, classes=CODES, c=settings.behaviour_c,
                     balance=settings.balance, min_count=settings.min_count,
                     prune=settings.prune)


def fit(
    data: _Prepared, idx: Sequence[int], settings: TrainingSettings,
    *, progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, dict], dict, frozenset[str]]:
    """Fit every head on the rows `idx`; return head specs, metadata and the vocabulary."""
    say = progress or (lambda _message: None)
    say(f"behaviour head on {sum(len(data.labels[i]) for i in idx)} sentences")
    behaviour = _behaviour_spec(data, idx, settings)
    # Empathy heads see the behaviour probabilities of each unit; in training they must be
    # out-of-fold, or the empathy heads learn from probabilities better than serving gives.
    inner = group_folds([data.rows[i] for i in idx], settings.inner_folds, settings.seed + 1)
    oof: dict[int, list[dict[str, float]]] = {}
    for k in range(settings.inner_folds):
        say(f"out-of-fold probabilities {k + 1}/{settings.inner_folds}")
        train = [i for i, f in zip(idx, inner, strict=True) if f != k]
        head = _as_head(_behaviour_spec(data, train, settings))
        for i, f in zip(idx, inner, strict=True):
            if f == k:
                oof[i] = [head.probabilities(x) for x in data.unit_feats[i]]
    turn_examples = [turn_features(data.views[i], oof[i]) for i in idx]
    heads = {"behaviour": behaviour}
    for mechanism in MECHANISMS:
        say(f"{mechanism} head")
        heads[mechanism] = _fit_head(
            turn_examples,
            [str(data.rows[i].empathy[mechanism]) for i in idx],
            classes=("0", "1", "2"),
            c=settings.empathy_c,
            balance=settings.balance,
            min_count=settings.min_count,
            prune=settings.prune,
        )
    vocabulary = corpus_vocabulary([data.rows[i] for i in idx])
    precision = _rule_precision(data, idx, oof, vocabulary)
    meta = {
        "features_version": FEATURES_VERSION,
        "settings": {k: getattr(settings, k) for k in settings.__slots__},
        "rows": len(idx),
        "sentences": sum(len(data.labels[i]) for i in idx),
        "rule_precision": precision,
    }
    return heads, meta, vocabulary


def corpus_vocabulary(rows: Sequence[Row]) -> frozenset[str]:
    """Every word the corpus uses, in context turns and utterances (normalised)."""
    words: set[str] = set()
    for row in rows:
        for turn in row.context:
            words.update(_WORDS.findall(normalise(turn.text)))
        words.update(_WORDS.findall(normalise(row.text)))
    return frozenset(words)


def _rule_precision(
    data: _Prepared, idx: Sequence[int], oof: dict[int, list[dict[str, float]]],
    vocabulary: frozenset[str],
) -> dict[str, float]:
    """Each rule's precision on the training rows (smoothed), used as its confidence."""
    fired: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for i in idx:
        view = data.views[i]
        previous = None
        for j, unit in enumerate(view.units):
            predicted = model_code(view, j, oof[i][j])[0]
            rule = apply_rules(view, j, predicted, previous=previous, vocabulary=vocabulary)
            if rule is not None:
                fired[rule] += 1
                right[rule] += RULES[rule].code == data.labels[i][j]
            if unit.words:
                previous = unit
    return {name: round((right[name] + 1) / (fired[name] + 2), 3) for name in sorted(fired)}


def model_from(
    heads: dict[str, dict], meta: dict, vocabulary: frozenset[str] = frozenset()
) -> LearnedModel:
    """An in-memory model from fitted head specs (for cross-validation)."""
    return LearnedModel(
        heads={k: _as_head(v) for k, v in heads.items()}, meta=meta, vocabulary=vocabulary
    )


def corpus_digest(files: Sequence[Path]) -> str:
    """sha256 over the corpus files' names and bytes, in name order."""
    digest = hashlib.sha256()
    for file in sorted(files, key=lambda p: p.name):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def train_to_file(
    rows: Sequence[Row], out: Path, *, files: Sequence[Path],
    settings: TrainingSettings | None = None, progress: Callable[[str], None] | None = None,
) -> dict:
    """Train on every row outside the held-back fold and write the model file."""
    settings = settings or TrainingSettings()
    rows, held = split_holdout(rows)
    data = prepare(rows)
    heads, meta, vocabulary = fit(data, range(len(rows)), settings, progress=progress)
    import sklearn

    meta["corpus_sha256"] = corpus_digest(files)
    meta["held_back_rows"] = len(held)
    meta["trained_with"] = {"scikit-learn": sklearn.__version__, "numpy": np.__version__}
    out.parent.mkdir(parents=True, exist_ok=True)
    write_model(out, heads=heads, meta=meta, vocabulary=vocabulary)
    return meta


# ----------------------------------------------------------------------------------------
# Cross-validation of the whole analyzer (model + rules) on held-out folds of the corpus.


@dataclass(slots=True)
class Tally:
    """True/false positives and false negatives per label."""

    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)

    def add(self, gold: set[str] | str, pred: set[str] | str) -> None:
        """Count one item (a set of labels, or a single label)."""
        g = {gold} if isinstance(gold, str) else gold
        p = {pred} if isinstance(pred, str) else pred
        for label in g & p:
            self.tp[label] += 1
        for label in p - g:
            self.fp[label] += 1
        for label in g - p:
            self.fn[label] += 1

    def f1(self, label: str) -> float:
        """F1 of one label (0 when it never occurs or is never predicted right)."""
        tp = self.tp[label]
        return 2 * tp / (2 * tp + self.fp[label] + self.fn[label]) if tp else 0.0

    def precision(self, label: str) -> float:
        """Precision of one label."""
        tp = self.tp[label]
        return tp / (tp + self.fp[label]) if tp else 0.0

    def recall(self, label: str) -> float:
        """Recall of one label."""
        tp = self.tp[label]
        return tp / (tp + self.fn[label]) if tp else 0.0

    def support(self, label: str) -> int:
        """How often the label is in the gold data."""
        return self.tp[label] + self.fn[label]

    def macro_f1(self, labels: Sequence[str]) -> float:
        """Mean F1 over the labels that occur in the gold data."""
        scores = [self.f1(label) for label in labels if self.support(label)]
        return sum(scores) / len(scores) if scores else 0.0


def cohen_kappa(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Unweighted Cohen's kappa."""
    n = len(gold)
    if not n:
        return float("nan")
    observed = sum(g == p for g, p in zip(gold, pred, strict=True)) / n
    gc, pc = Counter(gold), Counter(pred)
    expected = sum(gc[k] * pc[k] for k in set(gc) | set(pc)) / (n * n)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


@dataclass(slots=True)
class Report:
    """Cross-validated figures of the whole analyzer on the corpus."""

    folds: int
    rows: int
    sentences: Tally = field(default_factory=Tally)  # one gold code per sentence
    turns: Tally = field(default_factory=Tally)  # the set of codes per utterance
    behaviour_gold: list[str] = field(default_factory=list)
    behaviour_pred: list[str] = field(default_factory=list)
    empathy: dict[str, Tally] = field(default_factory=lambda: {m: Tally() for m in MECHANISMS})
    by_register: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    sentence_hits: int = 0
    sentence_total: int = 0
    grounding: GroundingTally = field(default_factory=GroundingTally)

    @property
    def kappa(self) -> float:
        """Cohen's kappa of the main behaviour (reflection/question/input/other)."""
        return cohen_kappa(self.behaviour_gold, self.behaviour_pred)


def cross_validate(
    rows: Sequence[Row], *, folds: int = 5, settings: TrainingSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Train on k-1 folds and analyse the held-out fold with the full analyzer, k times."""
    settings = settings or TrainingSettings()
    say = progress or (lambda _message: None)
    data = prepare(rows)
    assignment = group_folds(rows, folds, settings.seed)
    report = Report(folds=folds, rows=len(rows))
    for k in range(folds):
        say(f"fold {k + 1}/{folds}")
        train = [i for i, f in enumerate(assignment) if f != k]
        heads, meta, vocabulary = fit(data, train, settings)
        model = model_from(heads, meta, vocabulary)
        held_out = [data.rows[i] for i, f in enumerate(assignment) if f == k]
        tally_grounding(held_out, vocabulary, seed=settings.seed + 3, into=report.grounding)
        for i, f in enumerate(assignment):
            if f != k:
                continue
            row = data.rows[i]
            units, empathy = code_units(row.text, context=row.context, model=model)
            for unit, gold in zip(units, data.labels[i], strict=True):
                report.sentences.add(gold, unit.code)
                report.sentence_hits += unit.code == gold
                report.sentence_total += 1
            predicted = {u.code for u in units}
            if len(predicted) > 1:
                predicted.discard("other")
            gold_codes = set(row.codes)
            if len(gold_codes) > 1:
                gold_codes.discard("other")
            report.turns.add(gold_codes, predicted)
            report.by_register[row.register].add(gold_codes, predicted)
            report.behaviour_gold.append(main_behaviour_of((s.code, s.text) for s in row.segments))
            report.behaviour_pred.append(main_behaviour_of((u.code, u.text) for u in units))
            for mechanism in MECHANISMS:
                report.empathy[mechanism].add(str(row.empathy[mechanism]), str(empathy[mechanism]))
    return report


def format_report(report: Report) -> list[str]:
    """The report as printable lines."""
    lines = [
        f"{report.folds}-fold cross-validation on {report.rows} corpus rows "
        f"({report.sentence_total} sentences); whole analyzer (model + rules)",
        f"  main behaviour ({'/'.join(BEHAVIOURS)}) Cohen's kappa {report.kappa:.3f}",
        f"  sentence accuracy {report.sentence_hits / max(report.sentence_total, 1):.3f}, "
        f"sentence macro-F1 {report.sentences.macro_f1(CODES):.3f}, "
        f"utterance macro-F1 {report.turns.macro_f1(CODES):.3f}",
        "  per code (utterance level)      P      R     F1   support",
    ]
    for code in CODES:
        tally = report.turns
        if tally.support(code) or tally.fp[code]:
            lines.append(
                f"    {code:<27} {tally.precision(code):.3f}  {tally.recall(code):.3f}  "
                f"{tally.f1(code):.3f}  {tally.support(code):>6}"
            )
    for mechanism in MECHANISMS:
        tally = report.empathy[mechanism]
        lines.append(
            f"  {mechanism:<20} macro-F1 {tally.macro_f1(('0', '1', '2')):.3f}  "
            + "  ".join(f"F1[{lvl}] {tally.f1(lvl):.3f}" for lvl in ("0", "1", "2"))
        )
    for register, tally in sorted(report.by_register.items()):
        lines.append(f"  register {register:<8} utterance macro-F1 {tally.macro_f1(CODES):.3f}")
    g = report.grounding
    if g.real:
        lines.append(
            f"  grounding (each held-out reflection against its own and against other-topic "
            f"client talk): real reflections discarded {g.real_discarded / g.real:.3f} "
            f"of {g.real}, other-topic caught {g.other_caught / max(g.other, 1):.3f}"
        )
    return lines
