"""The student's own reflection on a session: a self-rating on the rubric and a few prompts.

Students rate themselves before they see the grade, so the report can set their view beside
the automatic one (and the assessor's, once released); the comparison is itself a lesson in
self-assessment. One reflection per session; it can be revised until an assessor releases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, select

from app.models import utcnow
from app.rubric import Rubric

__all__ = [
    "PROMPTS",
    "SelfRating",
    "SelfRatingIn",
    "SelfRatingPublic",
    "get_self_rating",
    "save_self_rating",
]

# The reflective prompts, in the order the form asks them.
PROMPTS: dict[str, str] = {
    "noticed": "What did you notice about how the client responded to you?",
    "differently": "Which moment would you handle differently now, and how?",
    "self": "What did this session bring up for you, and what will you take to supervision?",
}
MAX_ANSWER = 2000


class SelfRating(SQLModel, table=True):
    """A student's reflection on one of their sessions."""

    __tablename__ = "self_ratings"
    __table_args__ = (UniqueConstraint("session_id", name="uq_self_rating_session"),)

    id: int | None = SQLField(default=None, primary_key=True)
    session_id: str = SQLField(foreign_key="practice_sessions.id", max_length=32)
    user_id: int = SQLField(foreign_key="users.id")
    rubric_id: str = SQLField(max_length=100)
    ratings: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    answers: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = SQLField(default_factory=utcnow)


class SelfRatingIn(BaseModel):
    """What a student submits: a score (or null, "not sure") per criterion, and answers."""

    model_config = ConfigDict(extra="forbid")

    ratings: dict[str, float | None] = Field(description="Criterion id -> score or null.")
    answers: dict[str, str] = Field(default_factory=dict, description="Prompt id -> answer.")

    @field_validator("answers")
    @classmethod
    def _known_prompts(cls, value: dict[str, str]) -> dict[str, str]:
        """Answers only to the prompts asked, each of a bounded length."""
        unknown = set(value) - set(PROMPTS)
        if unknown:
            raise ValueError(f"unknown prompts: {', '.join(sorted(unknown))}")
        too_long = [k for k, v in value.items() if len(v) > MAX_ANSWER]
        if too_long:
            raise ValueError(f"answers are at most {MAX_ANSWER} characters ({', '.join(too_long)})")
        return {k: v.strip() for k, v in value.items()}


class SelfRatingPublic(BaseModel):
    """A stored reflection as the API shows it."""

    session_id: str
    rubric_id: str
    ratings: dict[str, float | None]
    answers: dict[str, str]
    created_at: datetime


def get_self_rating(*, db: Session, session_id: str) -> SelfRating | None:
    """The reflection on a session, if the student has written one."""
    return db.exec(select(SelfRating).where(SelfRating.session_id == session_id)).first()


def save_self_rating(
    *, db: Session, session_id: str, user_id: int, rubric: Rubric, given: SelfRatingIn
) -> SelfRating:
    """Store (or revise) the reflection; ratings must be criteria of the rubric, on its scale."""
    ids = {c.id for c in rubric.criteria}
    unknown = set(given.ratings) - ids
    if unknown:
        raise ValueError(f"ratings: not criteria of {rubric.id}: {', '.join(sorted(unknown))}")
    low, high = rubric.scale.min, rubric.scale.max
    bad = [k for k, v in given.ratings.items() if v is not None and not low <= v <= high]
    if bad:
        raise ValueError(f"ratings: scores are {low} to {high} ({', '.join(sorted(bad))})")
    for attempt in (1, 2):
        row = get_self_rating(db=db, session_id=session_id) or SelfRating(
            session_id=session_id, user_id=user_id, rubric_id=rubric.id
        )
        row.rubric_id = rubric.id
        row.ratings = {c.id: given.ratings.get(c.id) for c in rubric.criteria}
        row.answers = {k: given.answers.get(k, "") for k in PROMPTS}
        row.created_at = utcnow()
        db.add(row)
        try:
            db.commit()
        except IntegrityError:
            # Two submissions raced to write the first reflection: the second revises it.
            db.rollback()
            if attempt == 2:
                raise
            continue
        db.refresh(row)
        return row
    raise AssertionError("unreachable")
