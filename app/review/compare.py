"""Two of a student's own graded sessions with the same client, criterion by criterion."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.models import PracticeSession, User
from app.review.progress import visible_scores
from app.rubric import Rubric

__all__ = ["Attempt", "CompareError", "CompareRow", "Comparison", "comparable", "compare"]


class CompareError(ValueError):
    """The two sessions cannot be compared; `status` is the HTTP answer, the message says why."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Attempt:
    """One of the two sessions: its number among the student's sessions and what they may see."""

    number: int
    session: PracticeSession
    scores: dict[str, float]
    overall: float | None
    source: str  # "released" or "auto"


@dataclass(frozen=True, slots=True)
class CompareRow:
    """One criterion: its score in each attempt (None: not scored there) and the change."""

    criterion: str
    title: str
    first: float | None
    second: float | None

    @property
    def change(self) -> float | None:
        """Second minus first, when both were scored."""
        if self.first is None or self.second is None:
            return None
        return round(self.second - self.first, 2)


@dataclass(frozen=True, slots=True)
class Comparison:
    """The older attempt first, the newer second, and the criteria of either."""

    first: Attempt
    second: Attempt
    rows: list[CompareRow]


def _numbers(*, db: Session, student: User) -> dict[str, int]:
    """Session id -> its number among the student's sessions, oldest first (as on progress)."""
    ids = db.exec(select(PracticeSession.id).where(PracticeSession.owner_id == student.id)
                  .order_by(col(PracticeSession.created_at))).all()
    return {sid: n for n, sid in enumerate(ids, start=1)}


def _attempt(*, db: Session, student: User, session_id: str, numbers: dict[str, int]) -> Attempt:
    session = db.get(PracticeSession, session_id)
    # Only the student's own sessions, whoever asks: others' are unknown ids, as everywhere.
    if session is None or session.owner_id != student.id:
        raise CompareError(f"No session with id '{session_id}'.", status=404)
    scores, overall, source, _ = visible_scores(db, session, student)
    if not source:
        raise CompareError(
            f"Session {numbers.get(session.id, '?')} has no scores you can see yet (it is not "
            "ended, not graded, or its marking is not released): choose a graded session.",
            status=409)
    return Attempt(number=numbers.get(session.id, 0), session=session, scores=scores,
                   overall=overall, source=source)


def _titles(rubrics: dict[str, Rubric]) -> dict[str, str]:
    titles: dict[str, str] = {}
    for rubric in rubrics.values():
        for criterion in rubric.criteria:
            titles.setdefault(criterion.id, criterion.title)
    return titles


def compare(
    *, db: Session, student: User, first_id: str, second_id: str, rubrics: dict[str, Rubric]
) -> Comparison:
    """Compare two of `student`'s graded sessions with the same persona (CompareError if not)."""
    if first_id == second_id:
        raise CompareError("Choose two different sessions to compare.", status=422)
    numbers = _numbers(db=db, student=student)
    pair = sorted(
        (_attempt(db=db, student=student, session_id=sid, numbers=numbers)
         for sid in (first_id, second_id)),
        key=lambda a: a.number)
    first, second = pair
    if first.session.persona_id != second.session.persona_id:
        raise CompareError("These sessions are with different clients: compare two sessions "
                           "with the same client.", status=422)
    titles = _titles(rubrics)
    seen = set(first.scores) | set(second.scores)
    order = [c for c in titles if c in seen] + sorted(seen - set(titles))
    rows = [CompareRow(criterion=c, title=titles.get(c, c), first=first.scores.get(c),
                       second=second.scores.get(c)) for c in order]
    return Comparison(first=first, second=second, rows=rows)


def comparable(sessions: list) -> dict[str, list]:
    """Progress rows grouped by persona title, for personas with two or more graded sessions."""
    groups: dict[str, list] = {}
    for row in sessions:
        if row.source:
            groups.setdefault(row.session.persona_id, []).append(row)
    return {pid: rows for pid, rows in groups.items() if len(rows) >= 2}
