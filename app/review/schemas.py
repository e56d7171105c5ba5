"""Request bodies of the desk's JSON API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AmendIn", "MarkIn", "NoteIn", "ReviewIn"]


class MarkIn(BaseModel):
    """One criterion: accept the auto score, or override it with a score and a reason."""

    model_config = ConfigDict(extra="forbid")

    criterion: str = Field(min_length=1, max_length=100)
    decision: Literal["accept", "override"]
    score: float | None = None
    reason: str = Field(default="", max_length=2000)


class ReviewIn(BaseModel):
    """Body of PUT /api/desk/sessions/{id}/review."""

    model_config = ConfigDict(extra="forbid")

    marks: list[MarkIn] = Field(default_factory=list, max_length=50)
    comment: str = Field(default="", max_length=5000)
    submit: bool = False


class NoteIn(BaseModel):
    """Body of POST /api/desk/sessions/{id}/notes."""

    model_config = ConfigDict(extra="forbid")

    turn: int = Field(ge=0)
    text: str = Field(min_length=1, max_length=2000)


class AmendIn(BaseModel):
    """Body of POST /api/desk/sessions/{id}/amend: the changed marking and why."""

    model_config = ConfigDict(extra="forbid")

    marks: list[MarkIn] = Field(default_factory=list, max_length=50)
    comment: str | None = Field(default=None, max_length=5000)
    reason: str = Field(max_length=2000)
