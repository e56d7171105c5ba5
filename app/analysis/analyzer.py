"""Entry points: analyse one counsellor turn in context, or every counsellor turn of a
transcript."""

from __future__ import annotations

from collections.abc import Sequence

from app.analysis.codes import code_turn
from app.analysis.context import read_context
from app.analysis.empathy import empathy_levels
from app.analysis.model import CODE_ORDER, MECHANISMS, ContextTurn, Evidence, TurnAnalysis

_NO_EMPATHY = dict.fromkeys(MECHANISMS, 0)


def analyze_turn(text: str, *, context: Sequence[ContextTurn] = ()) -> TurnAnalysis:
    """Code one counsellor turn; context = the turns before it, oldest first."""
    ctx = read_context(context)
    coding = code_turn(text, ctx)
    seen: dict[str, str] = {}
    for code, quote in coding.evidence:
        seen.setdefault(code, quote)
    codes = tuple(sorted(seen, key=CODE_ORDER.__getitem__)) or ("other",)
    evidence = tuple(Evidence(code=code, quote=seen[code]) for code in codes if code in seen)
    empathy = empathy_levels(coding, ctx) if coding.clauses else dict(_NO_EMPATHY)
    return TurnAnalysis(codes=codes, empathy=empathy, evidence=evidence)


def analyze_transcript(turns: Sequence[ContextTurn]) -> list[tuple[int, TurnAnalysis]]:
    """(0-based turn index, analysis) for each counsellor turn, in order."""
    return [
        (index, analyze_turn(turn.text, context=turns[:index]))
        for index, turn in enumerate(turns)
        if turn.speaker == "counsellor"
    ]


def analysis_to_json(index: int, analysis: TurnAnalysis) -> dict:
    """The interchange form of one analysed turn: {"turn", "codes", "empathy"}."""
    return {
        "turn": index,
        "codes": list(analysis.codes),
        "empathy": {m: analysis.empathy[m] for m in MECHANISMS},
    }
