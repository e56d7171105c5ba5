"""The rubric grader: evidence-backed scores from the counsellor's side of a transcript."""

from app.grading.analytic import grade_analytic
from app.grading.events import SessionEvent, events_from_turns
from app.grading.evidence import find_quote
from app.grading.inputs import input_from_session, input_from_transcript
from app.grading.model import (
    CriterionResult,
    EvidenceItem,
    GradeResult,
    GradingInput,
    GradingTurn,
    Suggestion,
)
from app.grading.service import grade_on_end, grade_session

__all__ = [
    "CriterionResult",
    "EvidenceItem",
    "GradeResult",
    "GradingInput",
    "GradingTurn",
    "SessionEvent",
    "Suggestion",
    "events_from_turns",
    "find_quote",
    "grade_analytic",
    "grade_on_end",
    "grade_session",
    "input_from_session",
    "input_from_transcript",
]
