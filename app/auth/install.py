"""Wire accounts into the app: the sign-in gate, the auth routes, and the first-run setup link."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlmodel import Session

from app.auth.gate import AuthGate
from app.auth.links import SETUP_HOURS, issue_setup
from app.auth.tokens import CookieSigner
from app.config import Settings
from app.services import services_of

__all__ = ["install_auth", "setup_message"]


def setup_message(settings: Settings, token: str) -> str:
    """What the first start prints: where to create the first admin."""
    base = (settings.public_url or "").rstrip("/")
    where = f"{base}/setup/{token}" if base else f"/setup/{token} on this server"
    return (
        "Rapport: accounts are on and there is no admin yet. Create the first admin at "
        f"{where} (one use, valid {SETUP_HOURS} h), or run `rapport admin bootstrap`."
    )


def install_auth(app: FastAPI) -> None:
    """Add the sign-in gate and the auth routes; with accounts on, offer first-run setup.

    Call it before `install_pages`, so the pages' security headers also wrap the gate's answers.
    """
    from app.web import auth_routes

    shared = services_of(app)
    settings = shared.settings
    if settings.auth == "on":
        assert settings.secret_key is not None  # Settings refuses auth=on without one
        shared.cookie_signer = CookieSigner(settings.secret_key.get_secret_value())
        inner = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(app_: FastAPI) -> AsyncIterator[object]:
            async with inner(app_) as state:
                with Session(services_of(app_).db_engine) as db:
                    token = issue_setup(db=db)
                if token:
                    sys.stderr.write(setup_message(settings, token) + "\n")
                    sys.stderr.flush()
                yield state

        app.router.lifespan_context = lifespan
    app.add_middleware(AuthGate, settings=settings, signer=shared.cookie_signer)
    app.include_router(auth_routes.router)
