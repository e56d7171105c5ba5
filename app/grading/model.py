"""What a grader reads (GradingInput) and what it answers (the grade interchange object)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.analysis import TurnAnalysis
from app.grading.events import SessionEvent
from app.persona import Persona

__all__ = [
    "CarriedRisk",
    "CriterionResult",
    "EvidenceItem",
    "FollowUpResult",
    "GradeResult",
    "GradingInput",
    "GradingTurn",
    "SafetyResult",
    "SafetyStatus",
    "Suggestion",
]

Engine = Literal["analytic", "llm"]
GradeStatus = Literal["ok", "insufficient_evidence", "failed", "blocked"]
CriterionStatus = Literal["scored", "insufficient_evidence", "assessor_rated"]


@dataclass(frozen=True, slots=True)
class GradingTurn:
    """One utterance; `index` is its 0-based position in the transcript."""

    index: int
    speaker: str
    text: str


@dataclass(frozen=True, slots=True)
class GradingInput:
    """A transcript with its analysis and events, ready for any grader."""

    transcript_id: str
    turns: list[GradingTurn]
    analyses: dict[int, TurnAnalysis]
    events: list[SessionEvent] = field(default_factory=list)
    persona: Persona | None = None
    carried_risk: CarriedRisk | None = None

    def counsellor_turns(self) -> list[GradingTurn]:
        """The student's side of the conversation, in order."""
        return [t for t in self.turns if t.speaker == "counsellor"]

    def client_after(self, index: int) -> GradingTurn | None:
        """The client's answer to counsellor turn `index`: the next turn, when the client's."""
        later = self.turns[index + 1:index + 2]
        return later[0] if later and later[0].speaker == "client" else None

    def client_before(self, index: int, *, back: int = 1) -> list[GradingTurn]:
        """Up to `back` client turns before turn `index`, the most recent first."""
        found: list[GradingTurn] = []
        for turn in reversed(self.turns[:index]):
            if turn.speaker == "client":
                found.append(turn)
                if len(found) == back:
                    break
        return found


class EvidenceItem(BaseModel):
    """A verbatim quote from a counsellor turn that counts for (+) or against (-) a criterion."""

    model_config = ConfigDict(extra="forbid")

    turn: int = Field(ge=0, description="0-based turn number in the transcript.")
    quote: str = Field(description="Verbatim substring of that turn.")
    code: str = Field(description="The analyzer code, empathy mechanism or event it shows.")
    effect: Literal["+", "-"]
    confidence: float | None = Field(
        default=None, description="How sure the analyzer was of the code (0-1), when it is one."
    )


class Suggestion(BaseModel):
    """A weak moment and a concrete alternative phrased for it."""

    model_config = ConfigDict(extra="forbid")

    turn: int
    said: str = Field(description="Verbatim quote of what the student said.")
    client_turn: int | None = Field(default=None, description="The client turn quoted.")
    client_said: str | None = Field(default=None, description="What the client had said.")
    alternative: str = Field(description="Something the student could have said instead.")
    why: str


class CriterionResult(BaseModel):
    """One criterion's score, the evidence for it and feedback on it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str = ""
    score: float | None = Field(description="On the rubric's scale; null without enough evidence.")
    status: CriterionStatus = "scored"
    evidence: list[EvidenceItem] = Field(default_factory=list)
    feedback: str = ""
    went_well: list[str] = Field(
        default_factory=list, description="The strengths named in the feedback, one a line."
    )
    suggestions: list[Suggestion] = Field(default_factory=list)
    capped: str | None = Field(
        default=None, description="Why the score was held at a level (a behaviour count)."
    )


SafetyStatus = Literal["pass", "not_yet", "unsafe", "not_tested"]


class FollowUpResult(BaseModel):
    """Whether a risk told in the last session was followed up in this one."""

    model_config = ConfigDict(extra="forbid")

    from_session: int = Field(description="The session number in which the risk was told.")
    layer: str
    risk_type: str
    followed_up: bool
    turn: int | None = Field(default=None, description="The student turn that followed it up.")


@dataclass(frozen=True, slots=True)
class CarriedRisk:
    """A risk told in the previous session of a course (from the session's opening state)."""

    layer: str
    from_session: int


class SafetyResult(BaseModel):
    """The safety criterion of a grade."""

    model_config = ConfigDict(extra="forbid")

    status: SafetyStatus
    risk_type: str | None = None
    turn: int | None = Field(default=None, description="The client turn that disclosed risk.")
    steps: list[str] = Field(default_factory=list, description="Steps the student took.")
    missing: list[str] = Field(default_factory=list, description="Steps still to take.")
    feedback: str = ""
    evidence: list[EvidenceItem] = Field(default_factory=list)
    needs_assessor: bool = False
    follow_up: FollowUpResult | None = Field(
        default=None,
        description="A risk the client told in an earlier session of the course, and whether "
        "the student followed it up in this one.",
    )


class GradeResult(BaseModel):
    """The grade interchange object of DESIGN.md (`rapport grade` and the grade API)."""

    model_config = ConfigDict(extra="forbid")

    transcript_id: str
    rubric_id: str
    rubric_version: int
    engine: Engine
    status: GradeStatus = "ok"
    overall: float | None = None
    criteria: list[CriterionResult] = Field(default_factory=list)
    model: str | None = None
    prompt_hash: str | None = None
    dropped_evidence: int = 0
    reason: str | None = Field(default=None, description="Why a grade failed.")
    safety: SafetyResult | None = Field(
        default=None,
        description="The critical safety criterion: pass, not_yet, unsafe or not_tested. "
        "'unsafe' withholds the overall score and sends the session to an assessor.",
    )
    coached: bool | None = Field(
        default=None,
        description="Whether coach mode gave the student notes during the session (null: "
        "not recorded, e.g. an imported transcript).",
    )


def overall_of(criteria: list[CriterionResult]) -> float | None:
    """The mean of the scored criteria, one decimal; None when none was scored."""
    scores = [c.score for c in criteria if c.score is not None]
    return round(sum(scores) / len(scores), 1) if scores else None
