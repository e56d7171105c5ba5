"""The analyzer's codes grouped into the four main behaviours MI coders give an utterance."""

from __future__ import annotations

from collections.abc import Iterable

from app.analysis.model import TurnAnalysis

__all__ = ["BEHAVIOURS", "main_behaviour", "main_behaviour_of"]

BEHAVIOURS = ("reflection", "question", "therapist_input", "other")

_GROUPS: dict[str, frozenset[str]] = {
    "reflection": frozenset({"reflection_simple", "reflection_complex", "summary"}),
    "question": frozenset({"question_open", "question_closed", "risk_inquiry"}),
    "therapist_input": frozenset(
        {"information", "advice_with_permission", "advice_without_permission"}
    ),
}
# When a turn does several things, the most directive move is its main behaviour:
# giving information or advice > asking > reflecting > anything else.
PRECEDENCE = ("therapist_input", "question", "reflection")


def main_behaviour_of(pairs: Iterable[tuple[str, str]]) -> str:
    """One main behaviour from (code, quote) pairs; a permission request asked is a question."""
    found: set[str] = set()
    for code, quote in pairs:
        for behaviour, codes in _GROUPS.items():
            if code in codes:
                asked = code == "advice_with_permission" and quote.rstrip().endswith("?")
                found.add("question" if asked else behaviour)
    return next((b for b in PRECEDENCE if b in found), "other")


def main_behaviour(analysis: TurnAnalysis) -> str:
    """The main behaviour of an analysed turn (reflection, question, therapist_input, other)."""
    return main_behaviour_of((item.code, item.quote) for item in analysis.evidence)
