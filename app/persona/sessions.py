"""A course of sessions in a persona file: what changes from one session to the next.

`sessions:` holds one entry per session number, each optional: the client's first words that
session, what happened since the last one ("I had a fight with my sister on Sunday"), layers
that only open from that session on, and the session's goal for the student. A session with no
entry (or a file with no `sessions:` at all) gets the defaults below, so every persona can be
met for as many sessions as a student books.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.yamldoc import Slug

__all__ = ["DEFAULT_RETURN_LINES", "SessionPlan", "layer_opens_in", "plan_for"]

Line = Annotated[str, StringConstraints(min_length=1, max_length=600)]


class SessionPlan(BaseModel):
    """One session of a course with this client (every field optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: int = Field(ge=1, le=50, description="Which session this is: 1 is the first meeting.")
    opening_line: Line | None = Field(
        default=None,
        description="The client's first words this session; default: the style's return line "
        "(session 2 on) or style.opening_line (session 1).",
    )
    events: list[Line] = Field(
        default_factory=list,
        max_length=5,
        description="What happened since the last session, in the client's words; the first "
        "is said after the opening line.",
    )
    recall: Line | None = Field(
        default=None,
        description="How the client refers back to last time; default: the first sentence of "
        "the deepest layer told, said as something said before.",
    )
    layers: list[Slug] = Field(
        default_factory=list,
        description="Disclosure layers (ids) that open only from this session on.",
    )
    goal: str | None = Field(
        default=None, max_length=400,
        description="What the student should aim for in this session (shown before it starts).",
    )


# The client's first words on coming back, by conversational style, when the file has none.
DEFAULT_RETURN_LINES: dict[str, str] = {
    "plain": "Hi. Back again, then.",
    "upset": "Hi. Sorry, it's been a week. I'm glad I'm here.",
    "verbose": "Hello again! So much has happened since last time, I hardly know where to start.",
    "reserved": "Hi. Yeah. I came back.",
    "tangent": "Hi again. The traffic on the way in, honestly. Anyway. I'm here.",
    "pleasing": "Hi! Thanks for seeing me again. I hope I'm not late.",
    "hostile": "Right. Here again. Let's get on with it.",
    "silent": "Hi.",
    "interpreted": "He says hello again, and thank you for seeing him.",
}


def plan_for(sessions: list[SessionPlan], number: int) -> SessionPlan:
    """The plan of session `number`: the file's entry, else an empty one (defaults apply)."""
    return next((s for s in sessions if s.number == number), SessionPlan(number=number))


def layer_opens_in(sessions: list[SessionPlan], layer_id: str) -> int:
    """The first session in which a layer may open (1 unless an entry lists it later)."""
    return min((s.number for s in sessions if layer_id in s.layers), default=1)
