"""Database tables and, separately, the API schemas built from them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

__all__ = [
    "PracticeSession",
    "SessionCreate",
    "SessionPublic",
    "SessionState",
    "SessionSummary",
    "Turn",
    "TurnCreate",
    "TurnPublic",
    "TurnResult",
    "User",
    "utcnow",
]


def utcnow() -> datetime:
    """Timezone-aware now, stored as UTC."""
    return datetime.now(UTC)


# ---- tables -------------------------------------------------------------------------------


class User(SQLModel, table=True):
    """A person who uses Rapport; with accounts off, one local user owns everything."""

    __tablename__ = "users"

    id: int | None = SQLField(default=None, primary_key=True)
    email: str = SQLField(index=True, unique=True, max_length=320)
    name: str = SQLField(max_length=200)
    role: str = SQLField(default="student", max_length=20)
    created_at: datetime = SQLField(default_factory=utcnow)


class PracticeSession(SQLModel, table=True):
    """One practice conversation between a student and a simulated client."""

    __tablename__ = "practice_sessions"

    id: str = SQLField(primary_key=True, max_length=32)
    owner_id: int = SQLField(foreign_key="users.id", index=True)
    persona_id: str = SQLField(max_length=100, index=True)
    persona_version: int = 1
    engine: str = SQLField(max_length=20)
    status: str = SQLField(default="active", max_length=20)
    seed: int = 0
    created_at: datetime = SQLField(default_factory=utcnow)
    ended_at: datetime | None = None


class Turn(SQLModel, table=True):
    """One utterance; student turns carry analysis, client turns carry the state they left."""

    __tablename__ = "turns"
    __table_args__ = (
        UniqueConstraint("session_id", "index", name="uq_turn_index"),
        UniqueConstraint("session_id", "client_message_id", name="uq_turn_message"),
    )

    id: int | None = SQLField(default=None, primary_key=True)
    session_id: str = SQLField(foreign_key="practice_sessions.id", max_length=32)
    index: int
    speaker: str = SQLField(max_length=20)
    text: str
    codes: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    empathy: dict[str, int] | None = SQLField(default=None, sa_column=Column(JSON))
    trust_before: float | None = None
    trust_after: float | None = None
    disclosed: str | None = SQLField(default=None, max_length=100)
    events: dict[str, Any] | None = SQLField(default=None, sa_column=Column(JSON))
    state: dict[str, Any] | None = SQLField(default=None, sa_column=Column(JSON))
    client_message_id: str | None = SQLField(default=None, max_length=64)
    engine: str | None = SQLField(default=None, max_length=20)
    model: str | None = SQLField(default=None, max_length=200)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    guard_events: list[dict[str, Any]] = SQLField(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = SQLField(default_factory=utcnow)


# ---- API schemas --------------------------------------------------------------------------


class SessionCreate(BaseModel):
    """Body of POST /api/sessions."""

    model_config = ConfigDict(extra="forbid")

    persona_id: str = Field(min_length=1, max_length=100)
    engine: str | None = Field(default=None, max_length=20)


class TurnCreate(BaseModel):
    """Body of POST /api/sessions/{id}/turns; length limits are checked against settings."""

    model_config = ConfigDict(extra="forbid")

    text: str
    client_message_id: str | None = Field(default=None, min_length=1, max_length=64)


class TurnPublic(BaseModel):
    """A turn as the API shows it."""

    index: int
    speaker: str
    text: str
    codes: list[str] = []
    empathy: dict[str, int] | None = None
    trust_before: float | None = None
    trust_after: float | None = None
    disclosed: str | None = None
    events: dict[str, Any] | None = None
    engine: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    guard_events: list[dict[str, Any]] = []
    created_at: datetime


class SessionState(BaseModel):
    """The client's state as the student may see it."""

    trust: float
    unlocked: list[str]
    turn: int


class SessionSummary(BaseModel):
    """A session in a list."""

    id: str
    persona_id: str
    persona_title: str | None = None
    status: str
    engine: str
    created_at: datetime
    ended_at: datetime | None = None
    turn_count: int = 0


class SessionPublic(BaseModel):
    """A session with its turns."""

    id: str
    persona_id: str
    persona_version: int
    status: str
    engine: str
    created_at: datetime
    ended_at: datetime | None = None
    turns: list[TurnPublic]
    state: SessionState
    awaiting_reply: bool = False


class TurnResult(BaseModel):
    """Answer to POST /api/sessions/{id}/turns."""

    student_turn: TurnPublic
    client_turn: TurnPublic
    state: SessionState
