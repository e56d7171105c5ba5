"""FastAPI dependencies: what routes ask for by type."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

from anyio import to_thread
from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import Settings
from app.models import User
from app.persona import Persona

__all__ = ["CurrentUser", "Database", "Db", "DbSession", "Personas", "SettingsDep", "get_db"]

T = TypeVar("T")


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A database session for a sync route that returns a ready Response (the pages).

    Async so that closing it never needs a worker thread; JSON routes use `Db` instead (see
    `Database`).
    """
    session = Session(request.app.state.db_engine)
    try:
        yield session
    finally:
        session.close()


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


def get_personas(request: Request) -> dict[str, Persona]:
    """The loaded persona library."""
    return request.app.state.personas


def get_current_user(request: Request) -> User:
    """The user making the request (the local user while accounts are off)."""
    return request.app.state.local_user


class Database:
    """Runs a data function on a worker thread with a session that lives only for that call.

    JSON routes use this instead of a request-long session: FastAPI serialises a sync route's
    answer on a worker thread, so a request-long session would hold its pooled connection while
    waiting for a thread, and under load every thread can end up waiting for a connection.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def run(self, fn: Callable[..., T], /, **kwargs: object) -> T:
        """Call `fn(db=session, **kwargs)` on a worker thread; the session closes before return."""

        def work() -> T:
            with Session(self.engine, expire_on_commit=False) as db:
                return fn(db=db, **kwargs)

        return await to_thread.run_sync(work)


def get_database(request: Request) -> Database:
    """The app's database runner."""
    return request.app.state.database


DbSession = Annotated[Session, Depends(get_db, scope="function")]
Db = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Personas = Annotated[dict[str, Persona], Depends(get_personas)]
CurrentUser = Annotated[User, Depends(get_current_user)]
