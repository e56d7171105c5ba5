"""A student's progress: sessions over time, each criterion's scores, time practised, feedback."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import pairwise

from sqlmodel import Session, col, select

from app.auth.policy import analysis_visible
from app.charts import Canvas, PlotFrame, tick_step
from app.grading.records import Grade, latest_grade
from app.library import session_persona
from app.models import PracticeSession, Turn, User
from app.persona import Persona
from app.review.marking import ReviewView, released_view
from app.rubric import Rubric

__all__ = ["ScoreChart", "SessionProgress", "StudentProgress", "student_progress", "visible_scores"]

# A pause longer than this between turns is not counted as practice (the tab was left open).
MAX_GAP = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SessionProgress:
    """One session on the progress page."""

    number: int
    session: PracticeSession
    persona_title: str
    minutes: float
    scores: dict[str, float]
    overall: float | None
    source: str  # "released", "auto" or "" (no grade the student may see yet)
    feedback: ReviewView | None


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One score placed on a criterion's chart."""

    number: int
    score: float
    x: float
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class ScoreChart(Canvas):
    """One criterion's scores over the sessions, laid out for a small inline SVG."""

    criterion: str
    title: str
    points: list[ChartPoint]
    polyline: str
    y_ticks: list[tuple[int, float]]
    x_ticks: list[tuple[int, float]]
    summary: str


@dataclass(slots=True)
class StudentProgress:
    """Everything the progress page shows."""

    student: User
    sessions: list[SessionProgress] = field(default_factory=list)
    charts: list[ScoreChart] = field(default_factory=list)
    minutes: float = 0.0
    personas: list[tuple[str, int]] = field(default_factory=list)


def _minutes(turns: list[Turn]) -> float:
    times = sorted(t.created_at for t in turns)
    total = sum((min(b - a, MAX_GAP) for a, b in pairwise(times)), timedelta())
    return total.total_seconds() / 60


def visible_scores(
    db: Session, session: PracticeSession, student: User
) -> tuple[dict[str, float], float | None, str, ReviewView | None]:
    """What `student` may see of a session's scores: the released marking, else the auto-grade.

    The source is "released", "auto", or "" when there is nothing they may see yet.
    """
    released = released_view(db=db, session_id=session.id)
    if released is not None:
        scores = {k: m.score for k, m in released.marks.items() if m.score is not None}
        return scores, released.overall, "released", released
    if not analysis_visible(db=db, user=student, session=session):
        return {}, None, "", None
    grade: Grade | None = latest_grade(db=db, session_id=session.id)
    if grade is None:
        return {}, None, "", None
    scores = {c["id"]: c["score"] for c in grade.criteria if c.get("score") is not None}
    return scores, grade.overall, "auto", None


def _chart(criterion: str, title: str, points: list[tuple[int, float]], count: int,
           low: int, high: int) -> ScoreChart:
    frame = PlotFrame(width=320, height=170, left=36, right=12, top=14, bottom=34,
                      x_range=(1, count), y_range=(low, high))
    placed = [
        ChartPoint(number=n, score=s, x=frame.x_at(n), y=frame.y_at(s),
                   label=f"Session {n}: {s:.1f}")
        for n, s in points
    ]
    if placed:
        summary = (
            f"{len(placed)} scored session{'s' if len(placed) != 1 else ''}, "
            f"from {placed[0].score:.1f} to {placed[-1].score:.1f}."
        )
    else:
        summary = "No scores you can see yet."
    return ScoreChart(
        criterion=criterion,
        title=title,
        **frame.canvas(),
        points=placed,
        polyline=frame.polyline((p.x, p.y) for p in placed),
        y_ticks=frame.y_ticks(),
        x_ticks=frame.x_ticks(tick_step(count, most=10)),
        summary=summary,
    )


def student_progress(
    *,
    db: Session,
    student: User,
    personas: dict[str, Persona],
    rubrics: dict[str, Rubric],
) -> StudentProgress:
    """A student's sessions oldest first, with the scores they may see and the time practised."""
    sessions = db.exec(
        select(PracticeSession)
        .where(PracticeSession.owner_id == student.id)
        .order_by(col(PracticeSession.created_at))
    ).all()
    progress = StudentProgress(student=student)
    tried: Counter[str] = Counter()
    for number, session in enumerate(sessions, start=1):
        turns = list(db.exec(select(Turn).where(Turn.session_id == session.id)).all())
        persona = session_persona(personas, session)
        title = persona.title if persona else session.persona_id
        tried[title] += 1
        scores, overall, source, feedback = visible_scores(db, session, student)
        minutes = _minutes(turns)
        progress.minutes += minutes
        progress.sessions.append(
            SessionProgress(number=number, session=session, persona_title=title,
                            minutes=minutes, scores=scores, overall=overall, source=source,
                            feedback=feedback)
        )
    progress.personas = tried.most_common()
    titles: dict[str, str] = {}
    low, high = 1, 5
    for rubric in rubrics.values():
        for criterion in rubric.criteria:
            titles.setdefault(criterion.id, criterion.title)
        low, high = min(low, rubric.scale.min), max(high, rubric.scale.max)
    seen = [c for s in progress.sessions for c in s.scores]
    order = [c for c in titles if c in seen] + sorted({c for c in seen if c not in titles})
    count = len(progress.sessions)
    for criterion in order:
        points = [(s.number, s.scores[criterion]) for s in progress.sessions
                  if criterion in s.scores]
        progress.charts.append(
            _chart(criterion, titles.get(criterion, criterion), points, count, low, high)
        )
    return progress

