"""Grading a session as it ends, off the event loop: a long session never stalls the others.

The grade of a 200-turn session takes tens of milliseconds of CPU. Made on the event loop
(SQLite calls run there, app.web.deps.Database), every other student's turn would wait for
it, and on a worker thread it would still take the GIL from them half the time. So a separate
grading process (one per server worker, started on the first end) reads the ended session
from the database itself and grades it: reading 400 turns is as much Python work as the
grade. Until that process is ready, if it ever dies, and for a memory database it cannot
reach, both are done on a worker thread instead. Only the two short writes (ending the
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
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import memory_database
from app.grading.analytic import grade_analytic
from app.grading.model import GradeResult
from app.grading.records import Grade
from app.grading.service import (
    default_rubric,
    end_grade_made,
    graded_session_input,
    session_input,
    store_grade,
)
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


# The grading process's own engines, one per database URL, made on first use.
_ENGINES: dict[str, Engine] = {}


def _read_and_grade(
    source: Engine | str, session_id: str, persona: Persona | None, rubric: Rubric
) -> GradeResult | None:
    """Read an ended session and grade it (None if it has its end grade already).

    Runs in the grading process with the database's URL, or on a worker thread with the
    server's own engine.
    """
    if isinstance(source, str):
        engine = _ENGINES.get(source)
        if engine is None:
            engine = _ENGINES[source] = create_engine(source, pool_size=1, max_overflow=1)
    else:
        engine = source
    with Session(engine, expire_on_commit=False) as db:
        session = db.get(PracticeSession, session_id)
        if session is None or end_grade_made(db=db, session=session, rubric=rubric):
            return None
        inp, coached = graded_session_input(db=db, session=session, persona=persona)
    # Said here, so storing the grade need not read every turn again on the event loop.
    return grade_analytic(inp, rubric).model_copy(update={"coached": coached})


def _process_url(engine: Engine) -> str | None:
    """The URL another process reaches the database by; None for a memory database."""
    if memory_database(engine.url):
        return None
    return engine.url.render_as_string(hide_password=False)


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


async def _made(
    database: Database, session_id: str, persona: Persona | None, rubric: Rubric
) -> GradeResult | None:
    url = _process_url(database.engine)
    pool = _process() if url is not None else None
    if pool is not None:
        try:
            return await asyncio.wrap_future(
                pool.submit(_read_and_grade, url, session_id, persona, rubric))
        except BrokenProcessPool:
            logger.warning("the grading process stopped; grading on a thread meanwhile")
            with _pool_lock:
                _reset()
        except Exception:
            # It reads the database on its own connection, which could fail where the
            # server's does not: the student's grade is made here instead, and the log says why.
            logger.exception("the grading process could not grade; grading on a thread")
    return await to_thread.run_sync(_read_and_grade, database.engine, session_id, persona,
                                    rubric, limiter=_grading_limiter())


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

    result = await _made(database, session.id, persona, rubric)
    return await database.run(_store_once, session=session, rubric=rubric, result=result,
                              persona=persona)


def _store_once(
    *, db: Session, session: PracticeSession, rubric: Rubric, result: GradeResult | None,
    persona: Persona | None,
) -> Grade:
    """Store the grade unless a concurrent end stored one while this one was being made."""
    existing = end_grade_made(db=db, session=session, rubric=rubric)
    if existing is not None:
        return existing
    if result is None:  # the grade seen while reading has gone since: make it here after all
        result = grade_analytic(session_input(db=db, session=session, persona=persona), rubric)
    return store_grade(db=db, session=session, result=result)
