"""Stored grades: the `grades` table, its API schema, and the data functions around them.

A session can be graded many times (another rubric, the LLM judge, a new rubric version);
each grade is a new row, so earlier grades are never overwritten.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, col, select

from app.grading.model import CriterionResult, GradeResult, SafetyResult
from app.models import utcnow

__all__ = ["Grade", "GradePublic", "add_grade", "grade_public", "latest_grade", "list_grades"]


class Grade(SQLModel, table=True):
    """One grade of one practice session against one rubric version."""

    __tablename__ = "grades"

    id: int | None = SQLField(default=None, primary_key=True)
    session_id: str = SQLField(foreign_key="practice_sessions.id", max_length=32, index=True)
    rubric_id: str = SQLField(max_length=100)
    rubric_version: int
    persona_id: str = SQLField(max_length=100)
    persona_version: int
    engine: str = SQLField(max_length=20)
    model: str | None = SQLField(default=None, max_length=200)
    prompt_hash: str | None = SQLField(default=None, max_length=64)
    status: str = SQLField(max_length=30)
    overall: float | None = None
    criteria: list[dict[str, Any]] = SQLField(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    dropped_evidence: int = 0
    reason: str | None = None
    safety: dict[str, Any] | None = SQLField(default=None, sa_column=Column(JSON, nullable=True))
    # Coach mode was on for at least one of the student's turns (the grade says so).
    coached: bool | None = None
    created_at: datetime = SQLField(default_factory=utcnow)


class GradePublic(GradeResult):
    """A stored grade as the API shows it: the interchange object plus where it came from."""

    id: int
    session_id: str
    persona_id: str
    persona_version: int
    created_at: datetime


def grade_public(grade: Grade) -> GradePublic:
    """A stored grade as the API shows it."""
    return GradePublic(
        id=grade.id or 0,
        session_id=grade.session_id,
        transcript_id=grade.session_id,
        rubric_id=grade.rubric_id,
        rubric_version=grade.rubric_version,
        persona_id=grade.persona_id,
        persona_version=grade.persona_version,
        engine=grade.engine,  # type: ignore[arg-type]
        model=grade.model,
        prompt_hash=grade.prompt_hash,
        status=grade.status,  # type: ignore[arg-type]
        overall=grade.overall,
        criteria=[CriterionResult.model_validate(c) for c in grade.criteria],
        dropped_evidence=grade.dropped_evidence,
        reason=grade.reason,
        safety=SafetyResult.model_validate(grade.safety) if grade.safety else None,
        coached=grade.coached,
        created_at=grade.created_at,
    )


def add_grade(
    *, db: Session, session_id: str, persona_id: str, persona_version: int, result: GradeResult
) -> Grade:
    """Store a grade as a new row (regrading keeps the earlier ones)."""
    grade = Grade(
        session_id=session_id,
        rubric_id=result.rubric_id,
        rubric_version=result.rubric_version,
        persona_id=persona_id,
        persona_version=persona_version,
        engine=result.engine,
        model=result.model,
        prompt_hash=result.prompt_hash,
        status=result.status,
        overall=result.overall,
        criteria=[c.model_dump(mode="json") for c in result.criteria],
        dropped_evidence=result.dropped_evidence,
        reason=result.reason,
        safety=result.safety.model_dump(mode="json") if result.safety else None,
        coached=result.coached,
    )
    db.add(grade)
    db.commit()
    db.refresh(grade)
    return grade


def list_grades(*, db: Session, session_id: str) -> list[Grade]:
    """A session's grades, newest first."""
    return list(
        db.exec(
            select(Grade)
            .where(Grade.session_id == session_id)
            .order_by(col(Grade.created_at).desc(), col(Grade.id).desc())
        ).all()
    )


def latest_grade(
    *, db: Session, session_id: str, rubric_id: str | None = None, usable: bool = True
) -> Grade | None:
    """The newest grade of a session (optionally for one rubric; by default not a failed one)."""
    for grade in list_grades(db=db, session_id=session_id):
        if rubric_id is not None and grade.rubric_id != rubric_id:
            continue
        if usable and grade.status == "failed":
            continue
        return grade
    return None
