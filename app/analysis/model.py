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
    """One code and the verbatim sentence or clause of the turn that triggered it."""

    code: str
    quote: str


@dataclass(frozen=True, slots=True)
class TurnAnalysis:
    """Skill codes, EPITOME empathy levels and evidence for one counsellor turn."""

    codes: tuple[str, ...]
    empathy: dict[str, int]
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class ContextTurn:
    """A previous turn of the conversation: speaker is "client" or "counsellor"."""

    speaker: str
    text: str
