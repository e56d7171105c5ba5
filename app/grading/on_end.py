"""Grading a session as it ends, off the event loop: a long session never stalls the others.

The grade of a 200-turn session takes tens of milliseconds of CPU. Made on the event loop
(SQLite calls run there, app.web.deps.Database), every other student's turn would wait for
it, and on a worker thread it would still take the GIL from them half the time. So the turns
are read on a worker thread and the grade is made in a separate grading process (one per
server worker, started on the first end); until that process is ready, and if it ever dies,
the grade is made on the worker thread instead. Only the two short writes (ending the
session, storing the grade) go through the usual database runner.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

import anyio
from anyio import to_thread
from sqlmodel import Session

from app.config import Settings
from app.grading.analytic import grade_analytic
from app.grading.model import GradeResult, GradingInput
from app.grading.records import Grade
from app.grading.service import default_rubric, end_grade_made, session_input, store_grade
from app.models import PracticeSession
from app.persona import Persona
from app.rubric import Rubric

if TYPE_CHECKING:
    from app.web.deps import Database

__all__ = ["GRADING_THREADS", "grade_ended_session", "grading_process_ready"]

logger = logging.getLogger("rapport")

# Reads (and fallback grades) at once per server worker: the rest queue here, not on the loop.
GRADING_THREADS = 2
_limiter: anyio.CapacityLimiter | None = None
_pool: ProcessPoolExecutor | None = None
_warm: Future | None = None
_pool_lock = threading.Lock()


def _grading_limiter() -> anyio.CapacityLimiter:
    # Made on first use: a CapacityLimiter belongs to the event loop that first needs it.
    global _limiter
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(GRADING_THREADS)
    return _limiter


def _follow_parent(parent: int) -> None:
    """Run in the grading process at its start: exit when the server process is gone.

    A server killed outright (kill -9, the OOM killer) runs no shutdown, and the grading
    process would wait for work for ever; polling the parent's id is portable and cheap.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


def _ready() -> bool:
    """Run in the grading process once: importing this module loaded the grader."""
    return True


def _grade(inp: GradingInput, rubric: Rubric) -> GradeResult:
    """Run in the grading process."""
    return grade_analytic(inp, rubric)


def _process() -> ProcessPoolExecutor | None:
    """The grading process once it is ready (started on first call); None until then."""
    global _pool, _warm
    with _pool_lock:
        if _pool is None:
            # spawn, not fork: the server has threads, and a forked copy of their locks
            # could deadlock the child.
            _pool = ProcessPoolExecutor(max_workers=1,
                                        mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_follow_parent, initargs=(os.getpid(),))
            _warm = _pool.submit(_ready)
        assert _warm is not None
        if _warm.done() and _warm.exception() is None:
            return _pool
        if _warm.done():
            _reset()
        return None


def _reset() -> None:
    """Forget a broken grading process; the next end starts another."""
    global _pool, _warm
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
    _pool, _warm = None, None


def grading_process_ready() -> bool:
    """Whether grades are being made in the grading process yet (starting it if need be)."""
    return _process() is not None


async def _made(inp: GradingInput, rubric: Rubric) -> GradeResult:
    pool = _process()
    if pool is not None:
        try:
            return await asyncio.wrap_future(pool.submit(_grade, inp, rubric))
        except BrokenProcessPool:
            logger.warning("the grading process stopped; grading on a thread meanwhile")
            with _pool_lock:
                _reset()
    return await to_thread.run_sync(grade_analytic, inp, rubric, limiter=_grading_limiter())


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

    def read() -> Grade | GradingInput:
        # Its own short-lived session, and no writer lock: this only reads.
        with Session(database.engine, expire_on_commit=False) as db:
            existing = end_grade_made(db=db, session=session, rubric=rubric)
            if existing is not None:
                return existing
            return session_input(db=db, session=session, persona=persona)

    read_back = await to_thread.run_sync(read, limiter=_grading_limiter())
    if isinstance(read_back, Grade):
        return read_back
    result = await _made(read_back, rubric)
    return await database.run(_store_once, session=session, rubric=rubric, result=result)


def _store_once(
    *, db: Session, session: PracticeSession, rubric: Rubric, result: GradeResult
) -> Grade:
    """Store the grade unless a concurrent end stored one while this one was being made."""
    existing = end_grade_made(db=db, session=session, rubric=rubric)
    if existing is not None:
        return existing
    return store_grade(db=db, session=session, result=result)
