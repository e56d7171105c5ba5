"""How far the auto-grader agrees with the assessors: per criterion, MAD, weighted κ and ICC.

Pairs come from released reviews: the auto score each criterion had, and the score the assessor
released (the same when accepted). κ needs categories, so scores are rounded to the rubric's
whole levels for it; the MAD and ICC use the scores as they are.

The overall row compares each session's mean over its criteria, one pair per session. Pooling
every criterion's pairs instead would count one session six times, as if six sessions had
been marked, and print a κ for a cohort where each criterion alone has too few sessions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlmodel import Session, col, select

from app.grading.records import Grade
from app.models import CohortMember, PracticeSession, Review, ReviewMark

__all__ = [
    "OVERALL",
    "AgreementRow",
    "ScorePair",
    "agreement_rows",
    "icc_2_1",
    "mean_absolute_difference",
    "score_pairs",
    "weighted_kappa",
]


OVERALL = "overall"


class ScorePair(NamedTuple):
    """One released criterion mark: the auto score, the released score, and whose session."""

    auto: float
    released: float
    overridden: bool
    session_id: str


@dataclass(frozen=True, slots=True)
class AgreementRow:
    """Agreement on one criterion (or the sessions' overall) with the sessions behind it."""

    criterion: str
    n: int
    mad: float | None
    kappa: float | None
    icc: float | None
    overridden: int


def mean_absolute_difference(pairs: Sequence[tuple[float, float]]) -> float | None:
    """Mean |a - b| over the pairs; None without pairs."""
    if not pairs:
        return None
    return sum(abs(a - b) for a, b in pairs) / len(pairs)


def _level(score: float, low: int, high: int) -> int:
    # Half-up rounding (Python's round() is half-to-even, which would bias 2.5 and 3.5 apart).
    return min(high, max(low, math.floor(score + 0.5)))


def weighted_kappa(pairs: Sequence[tuple[float, float]], *, low: int, high: int) -> float | None:
    """Cohen's κ with quadratic weights on the levels low..high; None when undefined."""
    k = high - low + 1
    if len(pairs) < 2 or k < 2:
        return None
    n = len(pairs)
    observed = [[0.0] * k for _ in range(k)]
    for a, b in pairs:
        observed[_level(a, low, high) - low][_level(b, low, high) - low] += 1 / n
    rows = [sum(r) for r in observed]
    cols = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    weight = [[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)]
    seen = sum(weight[i][j] * observed[i][j] for i in range(k) for j in range(k))
    chance = sum(weight[i][j] * rows[i] * cols[j] for i in range(k) for j in range(k))
    if chance == 0:
        return None  # both raters used one and the same level: κ is undefined
    return 1 - seen / chance


def icc_2_1(ratings: Sequence[Sequence[float]]) -> float | None:
    """ICC(2,1) of Shrout & Fleiss: two-way random effects, absolute agreement, one rater.

    `ratings` has one row per subject and one column per rater.
    """
    n = len(ratings)
    if n < 2:
        return None
    k = len(ratings[0])
    if k < 2 or any(len(r) != k for r in ratings):
        return None
    grand = sum(sum(r) for r in ratings) / (n * k)
    row_means = [sum(r) / k for r in ratings]
    col_means = [sum(r[j] for r in ratings) / n for j in range(k)]
    ss_rows = k * sum((m - grand) ** 2 for m in row_means)
    ss_cols = n * sum((m - grand) ** 2 for m in col_means)
    ss_total = sum((x - grand) ** 2 for r in ratings for x in r)
    ss_error = ss_total - ss_rows - ss_cols
    ms_rows = ss_rows / (n - 1)
    ms_cols = ss_cols / (k - 1)
    ms_error = ss_error / ((n - 1) * (k - 1))
    denominator = ms_rows + (k - 1) * ms_error + k * (ms_cols - ms_error) / n
    if denominator <= 0:
        return None
    return (ms_rows - ms_error) / denominator


def score_pairs(*, db: Session, cohort_id: int, rubric_id: str) -> dict[str, list[ScorePair]]:
    """Per criterion, the pairs of the released reviews in a cohort and rubric."""
    students = select(CohortMember.user_id).where(CohortMember.cohort_id == cohort_id)
    rows = db.exec(
        select(ReviewMark, Review.session_id)
        .join(Review, col(Review.id) == ReviewMark.review_id)
        .join(PracticeSession, col(PracticeSession.id) == Review.session_id)
        .join(Grade, col(Grade.id) == Review.grade_id)
        .where(
            Review.status == "released",
            Grade.rubric_id == rubric_id,
            col(PracticeSession.owner_id).in_(students),
        )
    ).all()
    pairs: dict[str, list[ScorePair]] = {}
    for mark, session_id in rows:
        if mark.auto_score is None or mark.score is None:
            continue
        pairs.setdefault(mark.criterion_id, []).append(
            ScorePair(mark.auto_score, mark.score, mark.decision == "override", session_id)
        )
    return pairs


def overall_pairs(pairs: dict[str, list[ScorePair]]) -> list[ScorePair]:
    """One pair per session: the mean auto and mean released score over its criteria."""
    by_session: dict[str, list[ScorePair]] = {}
    for items in pairs.values():
        for pair in items:
            by_session.setdefault(pair.session_id, []).append(pair)
    return [
        ScorePair(
            auto=sum(p.auto for p in marks) / len(marks),
            released=sum(p.released for p in marks) / len(marks),
            overridden=any(p.overridden for p in marks),
            session_id=session_id,
        )
        for session_id, marks in by_session.items()
    ]


def agreement_rows(
    pairs: dict[str, list[ScorePair]], *, order: Sequence[str], low: int, high: int
) -> list[AgreementRow]:
    """One row per criterion (in rubric order), then the sessions' overall scores."""

    def row(name: str, items: list[ScorePair]) -> AgreementRow:
        plain = [(p.auto, p.released) for p in items]
        return AgreementRow(
            criterion=name,
            n=len({p.session_id for p in items}),
            mad=mean_absolute_difference(plain),
            kappa=weighted_kappa(plain, low=low, high=high),
            icc=icc_2_1([[a, b] for a, b in plain]),
            overridden=sum(1 for p in items if p.overridden),
        )

    rows = [row(c, pairs.get(c, [])) for c in order]
    rows += [row(c, v) for c, v in pairs.items() if c not in order]
    rows.append(row(OVERALL, overall_pairs(pairs)))
    return rows
