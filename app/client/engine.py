"""The client engine interface: how a ReplyPlan becomes words, streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from app.client.state import ClientState, ReplyPlan
from app.persona import Persona

__all__ = [
    "NOT_SET_UP",
    "ClientEngine",
    "EngineError",
    "HistoryTurn",
    "ReplyEvent",
    "ReplyRequest",
    "setup_error",
]

# What a student reads when the server is misconfigured: nothing they can act on but to tell
# someone; the fix itself goes to the log and /healthz/ready, where an operator looks.
NOT_SET_UP = (
    "The simulated client is not set up on this server yet; please tell your course team."
)


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
    # The listener takes the reply whole (a JSON answer): nothing is shown word by word, so
    # an engine may skip its typing pace and its per-word events.
    whole: bool = False


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
    """A reply could not be produced; `retryable` says whether Retry may help.

    `message` is for the student; `operator` is what the server's operator needs to fix it
    (the setting to change), logged and shown on /healthz/ready but never to a student.
    """

    def __init__(
        self, message: str, *, retryable: bool = True, operator: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.operator = operator or message


def setup_error(operator: str) -> EngineError:
    """A configuration problem: a plain sentence for the student, the fix for the operator."""
    return EngineError(NOT_SET_UP, retryable=False, operator=operator)


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
