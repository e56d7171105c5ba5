"""The client engine interface: how a ReplyPlan becomes words, streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from app.client.state import ClientState, ReplyPlan
from app.persona import Persona

__all__ = ["ClientEngine", "EngineError", "HistoryTurn", "ReplyEvent", "ReplyRequest"]


@dataclass(frozen=True, slots=True)
class HistoryTurn:
    """One earlier turn of the session, as an engine sees it."""

    speaker: Literal["client", "counsellor"]
    text: str


@dataclass(frozen=True, slots=True)
class ReplyRequest:
    """Everything an engine may use to voice one reply; nothing locked is in here."""

    persona: Persona
    state: ClientState
    plan: ReplyPlan
    history: Sequence[HistoryTurn]
    student_text: str
    seed: int


@dataclass(slots=True)
class ReplyEvent:
    """A piece of a streamed reply.

    `delta` adds text; `replace` swaps everything shown so far (a guard rejected it);
    `done` carries the final text and the turn's accounting in `meta`.
    """

    kind: Literal["delta", "replace", "done"]
    text: str
    meta: dict = field(default_factory=dict)


class EngineError(Exception):
    """A reply could not be produced; `retryable` says whether Retry may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class ClientEngine(Protocol):
    """A voice for the simulated client."""

    name: str
    model: str | None
    demo_quality: bool
    # How many earlier turns the engine reads: the scripted voice needs only the last few,
    # a model its whole history window.
    history_turns: int

    def reply(self, request: ReplyRequest) -> AsyncIterator[ReplyEvent]:
        """Stream one reply: deltas (or a replace), then exactly one `done`."""
        ...

    async def check(self) -> str | None:
        """None when the engine can reply; else what is missing and how to fix it."""
        ...

    async def aclose(self) -> None:
        """Release what the engine holds (connection pools, an embedded model server)."""
        ...
