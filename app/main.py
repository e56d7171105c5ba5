"""Build the Rapport web app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlmodel import Session

from app.client.engine import ClientEngine
from app.config import Settings
from app.db import build_engine, migrate
from app.persona import load_library
from app.practice import get_or_create_local_user
from app.web import api
from app.web.deps import Database
from app.web.errors import install_error_handlers
from app.web.limits import BodySizeLimit
from app.web.pages import install_pages

__all__ = ["create_app"]


def _engines(settings: Settings) -> dict[str, ClientEngine]:
    """The client engines this server can run, by name."""
    from app.client.scripted import ScriptedEngine

    return {"scripted": ScriptedEngine(chunk_delay=settings.stream_delay)}


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app; start-up loads the persona library and migrates the database."""
    settings = settings or Settings()
    # Fail before serving anything if the persona library is broken: the error names the file.
    personas = load_library(settings.personas_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = build_engine(settings)
        migrate(engine)
        with Session(engine) as db:
            app.state.local_user = get_or_create_local_user(db=db)
        app.state.db_engine = engine
        app.state.database = Database(engine)
        app.state.engines = _engines(settings)
        yield
        engine.dispose()

    app = FastAPI(title="Rapport", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.personas = personas
    install_error_handlers(app)
    app.include_router(api.router)
    install_pages(app)
    # Generous enough for a 4,000-character message in any script, small enough to stop abuse.
    app.add_middleware(BodySizeLimit, max_bytes=max(64_000, settings.max_turn_chars * 8))
    return app
