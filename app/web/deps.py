"""FastAPI dependencies: what routes ask for by type."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.config import Settings
from app.library import Library
from app.metrics import DB_BUSY_RETRIES as BUSY_RETRIES
from app.models import User
from app.persona import Persona
from app.services import services

__all__ = [
    "AdminUser",
    "AssessorUser",
    "CurrentUser",
    "Database",
    "Db",
    "DbSession",
    "Personas",
    "SettingsDep",
    "TrainerUser",
    "get_db",
    "require_role",
]

T = TypeVar("T")


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A database session for a sync route that returns a ready Response (the pages).

    Async so that closing it never needs a worker thread; JSON routes use `Db` instead (see
    `Database`).
    """
    session = Session(services(request).db_engine)
    try:
        yield session
    finally:
        session.close()


# The small dependencies below are async only so that FastAPI calls them on the event loop:
# a sync dependency costs a worker-thread round trip on every request.
async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return services(request).settings


async def get_personas(request: Request) -> dict[str, Persona]:
    """The persona library (reloaded when its folder changes: app.library)."""
    return services(request).library.personas()


async def get_library(request: Request) -> Library:
    """The library itself, for routes that need one session's persona, not the whole book."""
    return services(request).library


async def get_current_user(request: Request) -> User:
    """The user making the request (the local user while accounts are off).

    With accounts on, the sign-in gate (app.auth.gate) has already loaded the user behind the
    session cookie, or turned the request away.
    """
    auth = getattr(request.state, "auth", None)
    if auth is None or not auth.enabled:
        local = services(request).local_user
        assert local is not None  # made at start-up whenever accounts are off
        return local
    if auth.user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Sign in first.")
    return auth.user


_ROLE_PAGES = {"assessor": "the assessor's desk", "admin": "administration", "trainer": "trainers"}


def require_role(*roles: str) -> Callable[[Request], Awaitable[User]]:
    """A dependency that lets through only users with one of `roles` (403 otherwise)."""

    async def check(request: Request) -> User:
        user = await get_current_user(request)
        if user.role in roles:
            return user
        auth = getattr(request.state, "auth", None)
        if auth is None or not auth.enabled:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"This is for {_ROLE_PAGES.get(roles[0], roles[0])}, which needs accounts: "
                "start Rapport with RAPPORT_AUTH=on (see README, Accounts).",
            )
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"This is for {_ROLE_PAGES.get(roles[0], roles[0])}; your role is {user.role}.",
        )

    return check


def _busy(exc: OperationalError) -> bool:
    """Whether SQLite refused because another connection holds the lock (SQLITE_BUSY)."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_BUSY
    return "database is locked" in str(exc.orig)


class Database:
    """Runs a data function with a session that lives only for that call.

    JSON routes use this instead of a request-long session: FastAPI serialises a sync route's
    answer on a worker thread, so a request-long session would hold its pooled connection while
    waiting for a thread, and under load every thread can end up waiting for a connection.
    """

    def __init__(self, engine: Engine, *, inline: Engine | None = None) -> None:
        self.engine = engine
        # SQLite calls take tens of microseconds, so they run on the event loop: a worker-thread
        # round trip (and the GIL hand-over) costs more than the query. They run on `inline`,
        # whose connections never wait for the file lock: when another worker process (or a
        # grading thread) holds it, the call is undone and made again on a worker thread,
        # where waiting out the busy timeout stalls nobody. Without `inline` (a caller that
        # built only one engine), SQLite calls still run on the loop, on `engine`.
        # PostgreSQL waits on the network, so its calls always go to worker threads.
        sqlite = engine.dialect.name == "sqlite"
        self._inline = (inline or engine) if sqlite else None
        self._sign_in_lane: CapacityLimiter | None = None

    def _session(self, engine: Engine) -> Session:
        return Session(engine, expire_on_commit=False)

    @staticmethod
    def _connection(engine: Engine) -> Connection:
        return engine.connect()

    async def _call(
        self, fn: Callable[..., T], kwargs: dict, *, opener: Callable[[Engine], Any], name: str,
    ) -> T:
        """`fn(<name>=handle, **kwargs)` with a handle from `opener`, closed before returning."""

        def work(engine: Engine) -> T:
            with opener(engine) as handle:
                return fn(**{name: handle}, **kwargs)

        if self._inline is not None:
            try:
                return work(self._inline)
            except OperationalError as exc:
                if self._inline is self.engine or not _busy(exc):
                    raise
                # Rolled back whole (the session or connection closed on the way out), so
                # making the call again from the start is safe.
                BUSY_RETRIES.inc()
        return await to_thread.run_sync(work, self.engine)

    async def run(self, fn: Callable[..., T], /, **kwargs: object) -> T:
        """Call `fn(db=session, **kwargs)`; the session closes before it returns."""
        return await self._call(fn, kwargs, opener=self._session, name="db")

    async def write(self, fn: Callable[..., T], /, **kwargs: object) -> T:
        """Like `run` on a plain Core connection: the turn's two inserts need no ORM session."""
        return await self._call(fn, kwargs, opener=self._connection, name="db")

    async def connect(self, fn: Callable[..., T], /, **kwargs: object) -> T:
        """Call `fn(conn=connection, **kwargs)` on a plain Core connection (app.turn_store)."""
        return await self._call(fn, kwargs, opener=self._connection, name="conn")

    async def run_sign_in(self, fn: Callable[..., T], /, **kwargs: object) -> T:
        """Like `run`, for a password sign-in's bookkeeping: one at a time, on a lane of its own.

        A flood of wrong passwords must not take the worker threads (and the GIL turns about
        between them) from everyone else's requests: however many guesses arrive, at most one
        thread does their database work, and it never holds a token of the shared thread
        limiter that the other routes' database calls queue on.
        """
        if self._inline is not None:
            return await self.run(fn, **kwargs)
        if self._sign_in_lane is None:  # made on first use, inside the running event loop
            self._sign_in_lane = CapacityLimiter(1)

        def work() -> T:
            with self._session(self.engine) as db:
                return fn(db=db, **kwargs)

        return await to_thread.run_sync(work, limiter=self._sign_in_lane)

    async def read(self, fn: Callable[..., T], /, **kwargs: object) -> T:
        """Like `run`, for functions that only read: SQLite readers need not queue for writers."""
        return await self._call(fn, kwargs, opener=self._session, name="db")


async def get_database(request: Request) -> Database:
    """The app's database runner."""
    return services(request).database


DbSession = Annotated[Session, Depends(get_db, scope="function")]
Db = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Personas = Annotated[dict[str, Persona], Depends(get_personas)]
LibraryDep = Annotated[Library, Depends(get_library)]
CurrentUser = Annotated[User, Depends(get_current_user)]
AssessorUser = Annotated[User, Depends(require_role("assessor", "admin"))]
AdminUser = Annotated[User, Depends(require_role("admin"))]
TrainerUser = Annotated[User, Depends(require_role("trainer", "admin"))]
