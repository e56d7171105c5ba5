"""The report page's content: scores as bars, evidence marked in the transcript, what was missed.

"What you missed" names the layers the client had not yet disclosed and what would have opened
them. It shows each layer's name (e.g. "shame", "dark nights"), whether it held a risk, and the
trust and turn gaps in plain words, never the persona's locked lines: students practise with the
same client again, and knowing the script would turn listening into waiting for cues.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from app.client.state import DEFAULT_WEIGHTS, ClientState, initial_state
from app.grading.evidence import find_quote
from app.grading.feedback import describe
from app.grading.model import CriterionResult, GradeResult
from app.models import Turn
from app.numbering import TurnNumbers
from app.persona import Persona
from app.rubric import Rubric

__all__ = [
    "CriterionView",
    "MissedLayer",
    "Segment",
    "TurnView",
    "criterion_views",
    "missed_layers",
    "turn_views",
]


@dataclass(frozen=True, slots=True)
class CriterionView:
    """One criterion's row in the score chart and its feedback panel."""

    result: CriterionResult
    description: str
    level_text: str | None
    next_level_text: str | None
    bar: float  # 0..100: the bar's length as a share of the scale
    turns: list[int]


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of a turn's text; `marks` names the criteria whose evidence covers it."""

    text: str
    criteria: tuple[str, ...] = ()
    effect: str = ""  # "+", "-" or "+-" when both


@dataclass(frozen=True, slots=True)
class TurnView:
    """One transcript turn with its evidence marked."""

    index: int
    speaker: str
    segments: list[Segment]
    reply_number: int | None  # the student's n-th reply (counsellor turns only)
    criteria: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MissedLayer:
    """A disclosure layer the client did not reach, and what would have opened it."""

    id: str
    label: str
    risk: bool
    next: bool
    explanation: str


def criterion_views(grade: GradeResult, rubric: Rubric | None) -> list[CriterionView]:
    """Rows for the score chart, with the matching level descriptor where the rubric is known."""
    low = rubric.scale.min if rubric else 1
    high = rubric.scale.max if rubric else 5
    views = []
    for result in grade.criteria:
        criterion = rubric.criterion(result.id) if rubric else None
        level_text = next_text = None
        bar = 0.0
        if result.score is not None:
            bar = round(100 * (result.score - low) / (high - low), 1)
            if criterion is not None:
                level = min(high, max(low, math.floor(result.score + 0.5)))
                level_text = criterion.levels.get(level)
                next_text = criterion.levels.get(level + 1)
        views.append(
            CriterionView(
                result=result,
                description=criterion.description if criterion else "",
                level_text=level_text,
                next_level_text=next_text,
                bar=max(0.0, min(100.0, bar)),
                turns=sorted({e.turn for e in result.evidence}),
            )
        )
    return views


def _segments(text: str, spans: list[tuple[int, int, str, str]]) -> list[Segment]:
    """Cut text at every quote boundary; each piece lists the criteria covering it."""
    cuts = sorted({0, len(text), *(s for s, _, _, _ in spans), *(e for _, e, _, _ in spans)})
    pieces: list[Segment] = []
    for start, end in pairwise(cuts):
        covering = [(cid, eff) for s, e, cid, eff in spans if s <= start and end <= e]
        criteria = tuple(sorted({cid for cid, _ in covering}))
        effects = {eff for _, eff in covering}
        effect = "+-" if len(effects) > 1 else next(iter(effects), "")
        pieces.append(Segment(text[start:end], criteria, effect))
    return [p for p in pieces if p.text]


def turn_views(turns: Sequence[Turn], grade: GradeResult) -> list[TurnView]:
    """Every turn, its evidence quotes located and marked for highlighting."""
    spans: dict[int, list[tuple[int, int, str, str]]] = {}
    notes: dict[int, list[str]] = {}
    for result in grade.criteria:
        for item in result.evidence:
            if item.turn >= len(turns):
                continue
            text = turns[item.turn].text
            quote = find_quote(item.quote, text) or item.quote
            start = text.find(quote)
            if start >= 0:
                spans.setdefault(item.turn, []).append(
                    (start, start + len(quote), result.id, item.effect)
                )
            sign = "helped" if item.effect == "+" else "held back"
            notes.setdefault(item.turn, []).append(
                f"{result.title or result.id}: {describe(item.code)} ({sign})"
            )
    views = []
    reply = 0
    for position, turn in enumerate(turns):
        number = None
        if turn.speaker == "counsellor":
            reply += 1
            number = reply
        marks = spans.get(position, [])
        views.append(
            TurnView(
                index=position,
                speaker=turn.speaker,
                segments=_segments(turn.text, marks),
                reply_number=number,
                criteria=tuple(sorted({cid for _, _, cid, _ in marks})),
                notes=sorted(set(notes.get(position, []))),
            )
        )
    return views


def _final_state(turns: Sequence[Turn], persona: Persona) -> ClientState:
    for turn in reversed(turns):
        if turn.speaker == "client" and turn.state is not None:
            return ClientState.model_validate(turn.state)
    return initial_state(persona)


_SKILLS: dict[str, tuple[str, str]] = {
    "reflection_complex": ("complex reflection", "complex reflections"),
    "reflection_simple": ("simple reflection", "simple reflections"),
    "summary": ("summary", "summaries"),
    "validation": ("validating response", "validating responses"),
    "affirmation": ("affirmation", "affirmations"),
    "question_open": ("open question", "open questions"),
    "safety_response": ("safety response", "safety responses"),
}


def skill_name(code: str, *, plural: bool) -> str:
    """A skill as a noun ("complex reflections"), for "about 2 more ..."."""
    one, many = _SKILLS.get(code, (f"turn of {code.replace('_', ' ')}",) * 2)
    return many if plural else one


def _label(layer_id: str) -> str:
    return layer_id.replace("-", " ").replace("_", " ")


def _best_move(persona: Persona) -> tuple[str, float]:
    """The skill that raises this client's trust most, and by how much per turn (capped)."""
    weights = {**DEFAULT_WEIGHTS, **persona.trust.weights}
    code, weight = max(weights.items(), key=lambda item: item[1])
    return code, min(weight, persona.trust.max_step)


def _drops(turns: Sequence[Turn]) -> list[str]:
    """The two turns where trust fell furthest, in words (numbered as people read them)."""
    numbers = TurnNumbers.of(turns)
    falls = []
    for position, turn in enumerate(turns):
        if turn.speaker != "counsellor" or turn.trust_before is None or turn.trust_after is None:
            continue
        change = turn.trust_after - turn.trust_before
        if change < 0:
            # Name the move that cost the most trust by default, not just the first code.
            worst = min(turn.codes or ["other"], key=lambda c: DEFAULT_WEIGHTS.get(c, 0.0))
            falls.append((change, position, worst))
    falls.sort()
    return [
        f"turn {numbers.number(pos)} ({describe(code)}, {change:+.1f})"
        for change, pos, code in falls[:2]
    ]


def missed_layers(turns: Sequence[Turn], persona: Persona | None) -> list[MissedLayer]:
    """The layers still locked when the session ended, each with what would have opened it."""
    if persona is None:
        return []
    state = _final_state(turns, persona)
    replies = sum(1 for t in turns if t.speaker == "counsellor")
    code, step = _best_move(persona)
    drops = _drops(turns)
    told_drops = False
    missed: list[MissedLayer] = []
    for layer in persona.disclosures:
        if layer.id in state.unlocked:
            continue
        reasons = []
        gap = layer.min_trust - state.trust
        if gap > 0:
            turns_needed = max(1, math.ceil(gap / step)) if step > 0 else None
            reasons.append(
                f"it opens when trust reaches {layer.min_trust:g} out of 10; you finished at "
                f"{state.trust:.1f}, {gap:.1f} short"
                + (
                    f"; for this client, about {turns_needed} more "
                    f"{skill_name(code, plural=turns_needed != 1)} would have closed the gap"
                    if turns_needed
                    else ""
                )
            )
        if layer.min_turn > replies:
            reasons.append(
                f"the client needs time before saying this: it cannot open before your reply "
                f"{layer.min_turn}, and the session ended after {replies}"
            )
        if not reasons:
            reasons.append(
                "trust was high enough, but the client had not been invited to say more yet "
                "(another open question or reflection would likely have opened it)"
            )
        text = "; ".join(reasons) + "."
        if drops and gap > 0 and not told_drops:
            text += " Trust fell most at " + " and ".join(drops) + "."
            told_drops = True
        if layer.risk:
            text = (
                "This layer holds a risk disclosure the client was not yet ready to share: " + text
            )
        missed.append(
            MissedLayer(
                id=layer.id,
                label=_label(layer.id),
                risk=layer.risk,
                next=not missed,
                explanation=text[:1].upper() + text[1:],
            )
        )
    return missed
