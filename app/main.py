"""Build the Rapport web app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from sqlmodel import Session
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.auth.install import install_auth
from app.auth.passwords import PasswordHashing
from app.client.engine import ClientEngine
from app.client.engines import build_engine as build_client_engine
from app.client.engines import check_engine, close_engine
from app.config import Settings
from app.db import build_engine, build_inline_engine, migrate
from app.library import Library, persona_shelf
from app.metrics import install_metrics
from app.models import utcnow
from app.practice import get_or_create_local_user
from app.services import Services, services_of
from app.warmup import warm_analysis
from app.web import api, course_api, course_pages, reflection, student
from app.web.admin import ROSTER_MAX_BODY, ROSTER_PATH, ROSTER_TOO_LARGE
from app.web.deps import Database
from app.web.desk import install_desk
from app.web.edge import Edge
from app.web.errors import install_error_handlers
from app.web.grading import install_grading
from app.web.health import install_health
from app.web.input_guard import InputGuard
from app.web.limits import WiderLimit
from app.web.pages import install_pages
from app.web.trainer import CARD_IMPORT_PATH, MAX_CARD_BODY_BYTES
from app.web.trainer import MAX_BODY_BYTES as TRAINER_MAX_BODY

__all__ = ["create_app"]


logger = logging.getLogger("rapport")


def _engine_names(settings: Settings) -> list[str]:
    """Engines this server offers: scripted always, the others when configured."""
    names = ["scripted"]
    if settings.engine == "llm" or settings.llm_base_url or settings.llm_api_key:
        names.append("llm")
    # The local engine loads a model file into memory, so only when asked for.
    if settings.engine == "local" or settings.local_model:
        names.append("local")
    return names


async def _start_engines(settings: Settings) -> dict[str, ClientEngine]:
    """Build each engine and say plainly, at start-up, if one cannot reply yet."""
    engines: dict[str, ClientEngine] = {}
    for name in _engine_names(settings):
        engine = build_client_engine(settings=settings, name=name)
        problem = await check_engine(settings=settings, engine=engine)
        if problem:
            # Keep serving: a model server that is down now may be back in a minute, and
            # students see a clear error with Retry meanwhile.
            logger.warning("client engine %s is not ready: %s", name, problem)
        engines[name] = engine
    return engines


def create_app(
    settings: Settings | None = None, *, clock: Callable[[], datetime] = utcnow,
    warm: bool = False,
) -> FastAPI:
    """The ASGI app; start-up loads the persona library and migrates the database.

    `clock` is what "now" means for sign-ins and their limits (tests pass a fake one).
    `warm`: load the analyzer in a thread once serving (app.warmup; the served worker does).
    """
    settings = settings or Settings()
    # Fail before serving anything if the persona library is broken: the error names the file.
    personas = persona_shelf(settings.personas_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        shared = services_of(app)
        engine = build_engine(settings)
        migrate(engine)
        # The local user owns everything in single-user mode only: with accounts on, nobody
        # signs in as it, so it is never created (and never listed among the accounts).
        shared.local_user = None
        if settings.auth == "off":
            with Session(engine) as db:
                shared.local_user = get_or_create_local_user(db=db)
        shared.db_engine = engine
        # Drafts and published versions live in the database (app.library_versions).
        shared.library.engine = engine
        inline = build_inline_engine(settings, engine)
        shared.database = Database(engine, inline=inline)
        # argon2 runs here, a few at a time, never on the event loop (app.auth.passwords).
        shared.hashing = PasswordHashing(threads=settings.password_hash_threads)
        shared.engines = await _start_engines(settings)
        if warm:
            # Not awaited: /healthz answers while the analyzer loads beside it.
            asyncio.get_running_loop().run_in_executor(
                None, warm_analysis, list(shared.library.personas().values()))
        try:
            yield
        finally:
            for client_engine in shared.engines.values():
                await close_engine(client_engine)
            engine.dispose()
            if inline is not None and inline is not engine:
                inline.dispose()
            shared.hashing.close()

    app = FastAPI(title="Rapport", version="0.1.0", lifespan=lifespan)
    # The one thing on app.state (app.services); the installers below add their parts to it.
    # The libraries are reloaded when their folders change (app.library); grading adds rubrics.
    app.state.services = Services(settings=settings, clock=clock, library=Library(personas))
    install_error_handlers(app)
    # Routes are matched in order, one by one: the API, where every turn arrives, goes first
    # (behind the probes and the metrics it came after, a turn was matched against 29 routes).
    app.include_router(api.router)
    install_health(app)
    install_metrics(app)
    # Inside the sign-in gate (so an error page knows who is asking), outside every route:
    # hostile bytes never reach one.
    app.add_middleware(InputGuard)
    install_auth(app)
    app.include_router(course_api.router)
    install_pages(app)
    app.include_router(course_pages.router)
    app.include_router(reflection.router)
    app.include_router(student.router)
    install_desk(app)
    install_grading(app)
    # Generous enough for a 4,000-character message in any script, small enough to stop abuse.
    # Trainers' YAML files may be up to 256 KiB, card pictures up to 8 MiB (app.web.trainer).
    # Transcript imports have a limit of their own: an exported long session must go back in.
    # So do cohort rosters: 64 KB would stop a CSV at about 1,500 people (app.web.admin).
    imports = settings.max_import_bytes
    # One outer layer (app.web.edge): the request id on every answer, refusals by the gate
    # and the size limit too, the body-size cap, and the security headers.
    app.add_middleware(
        Edge, max_bytes=max(64_000, settings.max_turn_chars * 8),
        # The first rule that matches a path is its limit: the card import before the rest of
        # /trainer/, since card pictures are larger than YAML files.
        wider=[WiderLimit(CARD_IMPORT_PATH, MAX_CARD_BODY_BYTES),
               WiderLimit("/trainer/", TRAINER_MAX_BODY), WiderLimit("/api/import", imports),
               WiderLimit("/import", imports),
               WiderLimit(ROSTER_PATH, ROSTER_MAX_BODY, ROSTER_TOO_LARGE)])
    if settings.trusted_proxy_list:
        # Outermost, so every part of the app (sign-in limits above all) sees the real client.
        # `rapport serve` turns uvicorn's own handling off: it trusts 127.0.0.1 by default.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    return app
