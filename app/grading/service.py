"""Grading a stored practice session: build its input, grade it, store the grade."""

from __future__ import annotations

from sqlmodel import Session

from app import practice
from app.config import Settings
from app.grading.analytic import grade_analytic
from app.grading.inputs import input_from_session
from app.grading.model import GradeResult, GradingInput
from app.grading.records import Grade, add_grade, latest_grade
from app.grading.rows import turn_rows
from app.metrics import GRADES
from app.models import PracticeSession
from app.persona import Persona
from app.rubric import DEFAULT_RUBRIC_ID, Rubric

__all__ = [
    "UnknownRubric",
    "default_rubric",
    "end_and_grade",
    "end_grade_made",
    "grade_on_end",
    "grade_session",
    "graded_session_input",
    "pick_rubric",
    "session_input",
    "store_grade",
]


class UnknownRubric(LookupError):
    """A rubric id that is not in the library."""


def default_rubric(rubrics: dict[str, Rubric]) -> Rubric:
    """The rubric used when none is named: core-conditions, else the first in the library."""
    if DEFAULT_RUBRIC_ID in rubrics:
        return rubrics[DEFAULT_RUBRIC_ID]
    return next(iter(rubrics.values()))


def pick_rubric(rubrics: dict[str, Rubric], rubric_id: str | None) -> Rubric:
    """The named rubric (or the default); raise UnknownRubric naming the ones available."""
    if rubric_id is None:
        return default_rubric(rubrics)
    if rubric_id not in rubrics:
        raise UnknownRubric(
            f"No rubric with id '{rubric_id}' (available: {', '.join(sorted(rubrics))})."
        )
    return rubrics[rubric_id]


def session_input(
    *, db: Session, session: PracticeSession, persona: Persona | None
) -> GradingInput:
    """A stored session's turns, codes and events as a grader reads them."""
    return graded_session_input(db=db, session=session, persona=persona)[0]


def graded_session_input(
    *, db: Session, session: PracticeSession, persona: Persona | None
) -> tuple[GradingInput, bool]:
    """`session_input`, and whether coach mode gave notes in the session (the grade keeps it)."""
    turns = turn_rows(db=db, session_id=session.id)
    coached = any("coach" in (t.events or {}) for t in turns if t.speaker == "counsellor")
    return input_from_session(session_id=session.id, turns=turns, persona=persona), coached


def store_grade(*, db: Session, session: PracticeSession, result: GradeResult) -> Grade:
    """Save a grade for a session with the persona version the session was held with."""
    if result.coached is None:
        # The grade records whether coach mode gave notes during the session (callers that
        # have read the turns already say so in the result: this reads them all again).
        turns = practice.session_turns(db=db, session_id=session.id)
        coached = any("coach" in (t.events or {}) for t in turns if t.speaker == "counsellor")
        result = result.model_copy(update={"coached": coached})
    grade = add_grade(
        db=db,
        session_id=session.id,
        persona_id=session.persona_id,
        persona_version=session.persona_version,
        result=result,
    )
    GRADES.labels(engine=result.engine, status=result.status).inc()
    return grade


def grade_session(
    *, db: Session, session: PracticeSession, persona: Persona | None, rubric: Rubric
) -> Grade:
    """Grade a session with the analytic grader and store the grade (a new row each time)."""
    result = grade_analytic(session_input(db=db, session=session, persona=persona), rubric)
    return store_grade(db=db, session=session, result=result)


def end_and_grade(
    *,
    db: Session,
    session: PracticeSession,
    persona: Persona | None,
    rubric_library: dict[str, Rubric],
    settings: Settings,
) -> PracticeSession:
    """End a session and make its offline grade, so the report is ready when the student looks."""
    session = practice.end_session(db=db, session=session)
    grade_on_end(
        db=db, session=session, persona=persona, rubric_library=rubric_library, settings=settings
    )
    return session


def grade_on_end(
    *,
    db: Session,
    session: PracticeSession,
    persona: Persona | None,
    rubric_library: dict[str, Rubric],
    settings: Settings,
) -> Grade | None:
    """The grade made when a session ends: analytic, default rubric; None with no rubrics.

    Ending a session never waits for a model: the LLM judge is run on request only.
    """
    del settings  # reserved for a configurable default rubric/engine (see the grading note)
    if not rubric_library:
        return None
    rubric = default_rubric(rubric_library)
    existing = end_grade_made(db=db, session=session, rubric=rubric)
    if existing is not None:
        return existing
    return grade_session(db=db, session=session, persona=persona, rubric=rubric)


def end_grade_made(*, db: Session, session: PracticeSession, rubric: Rubric) -> Grade | None:
    """The analytic grade already made at or after the session's end with this rubric, if any.

    Ending twice (a retried request, two tabs) must not stack up identical grades; a grade
    made mid-session does not count, since it saw fewer turns.
    """
    existing = latest_grade(db=db, session_id=session.id, rubric_id=rubric.id)
    if (
        existing is not None
        and existing.engine == "analytic"
        and existing.rubric_version == rubric.version
        and session.ended_at is not None
        and existing.created_at >= session.ended_at
    ):
        return existing
    return None
