"""FastAPI dependencies: what routes ask for by type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.config import Settings
from app.models import User
from app.persona import Persona

__all__ = ["CurrentUser", "DbSession", "Personas", "SettingsDep", "get_db"]


def get_db(request: Request) -> Iterator[Session]:
    """A database session for one request."""
    with Session(request.app.state.db_engine) as session:
        yield session


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


def get_personas(request: Request) -> dict[str, Persona]:
    """The loaded persona library."""
    return request.app.state.personas


def get_current_user(request: Request) -> User:
    """The user making the request (the local user while accounts are off)."""
    return request.app.state.local_user


DbSession = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Personas = Annotated[dict[str, Persona], Depends(get_personas)]
CurrentUser = Annotated[User, Depends(get_current_user)]
