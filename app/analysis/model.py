"""Public data types of the turn analyzer (stable vocabulary, see DESIGN "Analyzer output")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

AnalyzerCode = Literal[
    "reflection_simple",
    "reflection_complex",
    "question_open",
    "question_closed",
    "affirmation",
    "validation",
    "summary",
    "information",
    "advice_with_permission",
    "advice_without_permission",
    "judgement",
    "reassurance",
    "minimising",
    "self_disclosure",
    "boundary_crossing",
    "boundary_holding",
    "risk_inquiry",
    "safety_response",
    "other",
]
# The stable vocabulary of DESIGN.md ("Analyzer output"), in its order.
CODES: tuple[str, ...] = get_args(AnalyzerCode)

MECHANISMS: tuple[str, ...] = ("emotional_reactions", "interpretations", "explorations")

# Position of each code in CODES, for ordering a turn's codes.
CODE_ORDER: dict[str, int] = {code: i for i, code in enumerate(CODES)}


@dataclass(frozen=True, slots=True)
class Evidence:
    """One code, the verbatim sentence of the turn that shows it, how sure, and who decided.

    `source` is "model" for the learned classifier or the name of the rule that decided
    (see app/analysis/rules.py); `confidence` is the model's probability, or for a rule its
    precision measured on the team corpus.
    """

    code: str
    quote: str
    confidence: float = 1.0
    source: str = "model"


@dataclass(frozen=True, slots=True)
class TurnAnalysis:
    """Skill codes, EPITOME empathy levels and evidence for one counsellor turn."""

    codes: tuple[str, ...]
    empathy: dict[str, int]
    evidence: tuple[Evidence, ...]

    @property
    def confidence(self) -> dict[str, float]:
        """The probability of each code (its strongest evidence; 1.0 when none was recorded)."""
        best: dict[str, float] = {}
        for item in self.evidence:
            best[item.code] = max(best.get(item.code, 0.0), item.confidence)
        return {code: best.get(code, 1.0) for code in self.codes}


@dataclass(frozen=True, slots=True)
class ContextTurn:
    """A previous turn of the conversation: speaker is "client" or "counsellor"."""

    speaker: str
    text: str
