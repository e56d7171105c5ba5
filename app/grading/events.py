"""Session events the grader credits to counsellor turns, derived from the stored turns.

Student turns record what they set off (a boundary test held or crossed, a risk layer
answered or missed); client turns record what the client did next (opened a layer, withdrew).
Client-side events are credited to the counsellor turn just before them: that turn earned them.
Imported transcripts carry no events, so their grades rest on the analyzer's codes alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["SessionEvent", "StoredTurn", "events_from_turns"]


class StoredTurn(Protocol):
    """The fields of a stored turn (app.models.Turn) that events are read from."""

    index: int
    speaker: str
    disclosed: str | None
    events: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """Something that happened in the session, credited to the counsellor turn `turn`."""

    name: str
    turn: int
    detail: str | None = None


def _outcome(value: object, key: str) -> tuple[str | None, str | None]:
    if isinstance(value, dict):
        return value.get("id"), value.get(key)
    return None, None


def events_from_turns(turns: Sequence[StoredTurn]) -> list[SessionEvent]:
    """Every grader event in a stored session, in turn order."""
    found: list[SessionEvent] = []
    last_counsellor: int | None = None
    for turn in turns:
        events = turn.events or {}
        if turn.speaker == "counsellor":
            last_counsellor = turn.index
            ident, outcome = _outcome(events.get("boundary"), "outcome")
            if outcome in {"held", "crossed"}:
                found.append(SessionEvent(f"boundary_{outcome}", turn.index, ident))
            ident, outcome = _outcome(events.get("risk"), "outcome")
            if outcome in {"answered", "missed"}:
                found.append(SessionEvent(f"risk_{outcome}", turn.index, ident))
            continue
        if last_counsellor is None:
            continue  # the opening line answers nobody
        if turn.disclosed:
            found.append(SessionEvent("layer_unlocked", last_counsellor, turn.disclosed))
        if events.get("withdrawn"):
            found.append(SessionEvent("withdrawal", last_counsellor, events.get("reaction")))
    return found
