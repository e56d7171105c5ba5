"""Grading a session as it ends, off the event loop: a long session never stalls the others.

The grade of a 200-turn session takes tens of milliseconds of CPU. Made on the event loop
(SQLite calls run there, app.web.deps.Database), every other student's turn would wait for it;
so the read and the grading run on a worker thread, a few at a time, and only the two short
writes (ending the session, storing the grade) go through the usual database runner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from anyio import to_thread
from sqlmodel import Session

from app.config import Settings
from app.grading.analytic import grade_analytic
from app.grading.model import GradeResult
from app.grading.records import Grade
from app.grading.service import default_rubric, end_grade_made, session_input, store_grade
from app.models import PracticeSession
from app.persona import Persona
from app.rubric import Rubric

if TYPE_CHECKING:
    from app.web.deps import Database

__all__ = ["GRADING_THREADS", "grade_ended_session"]

# Grades made at once per worker process: the rest queue here, not on the event loop, and
# leave the other worker threads (and the second core) to everything else.
GRADING_THREADS = 2
_limiter: anyio.CapacityLimiter | None = None


def _grading_limiter() -> anyio.CapacityLimiter:
    # Made on first use: a CapacityLimiter belongs to the event loop that first needs it.
    global _limiter
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(GRADING_THREADS)
    return _limiter


async def grade_ended_session(
    *,
    database: Database,
    session: PracticeSession,
    persona: Persona | None,
    rubric_library: dict[str, Rubric],
    settings: Settings,
) -> Grade | None:
    """The grade made as `session` (already ended) closes; None with no rubrics.

    Same rules as app.grading.service.grade_on_end: analytic, the default rubric, never a
    second grade when one was made at the end already.
    """
    del settings  # as in grade_on_end: reserved for a configurable default rubric/engine
    if not rubric_library:
        return None
    rubric = default_rubric(rubric_library)

    def grade() -> Grade | GradeResult:
        # Its own short-lived session, and no writer lock: this only reads.
        with Session(database.engine, expire_on_commit=False) as db:
            existing = end_grade_made(db=db, session=session, rubric=rubric)
            if existing is not None:
                return existing
            inp = session_input(db=db, session=session, persona=persona)
        return grade_analytic(inp, rubric)

    made = await to_thread.run_sync(grade, limiter=_grading_limiter())
    if isinstance(made, Grade):
        return made
    return await database.run(_store_once, session=session, rubric=rubric, result=made)


def _store_once(
    *, db: Session, session: PracticeSession, rubric: Rubric, result: GradeResult
) -> Grade:
    """Store the grade unless a concurrent end stored one while this one was being made."""
    existing = end_grade_made(db=db, session=session, rubric=rubric)
    if existing is not None:
        return existing
    return store_grade(db=db, session=session, result=result)
