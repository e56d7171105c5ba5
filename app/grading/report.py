"""The report page's content: scores as bars, evidence marked in the transcript, what was missed.

"What you missed" names what the client had not yet talked about (each layer's title), whether
it held a risk, and a moment of this session where staying with the client might have helped,
never the persona's locked lines: students practise with the same client again, and knowing
the script would turn listening into waiting for cues.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from app.client.listen import parroting
from app.client.state import DEFAULT_WEIGHTS, ClientState, initial_state
from app.grading.analytic import PARROT_AT, PARROT_DISCOUNTED
from app.grading.evidence import find_quote
from app.grading.feedback import describe, has_feeling, key_sentence, reflect
from app.grading.model import CriterionResult, GradeResult
from app.models import Turn
from app.numbering import TurnNumbers
from app.persona import Persona
from app.rubric import Rubric

__all__ = [
    "ECHO_NOTE",
    "CriterionView",
    "MissedLayer",
    "Segment",
    "TurnView",
    "criterion_views",
    "is_echo",
    "missed_layers",
    "parroted_turns",
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


ECHO_NOTE = "their words said back word for word, so it counts for little"


def parroted_turns(turns: Sequence[Turn]) -> set[int]:
    """Positions of counsellor turns that mostly repeat the client's last words."""
    out: set[int] = set()
    last = None
    for position, turn in enumerate(turns):
        if turn.speaker == "client":
            last = turn.text
        elif last is not None and parroting(turn.text, last) >= PARROT_AT:
            out.add(position)
    return out


def is_echo(turn: int, code: str, effect: str, parroted: set[int]) -> bool:
    """Whether a helpful evidence item is a parroted turn's reduced credit."""
    return effect == "+" and turn in parroted and code in PARROT_DISCOUNTED


def turn_views(turns: Sequence[Turn], grade: GradeResult) -> list[TurnView]:
    """Every turn, its evidence quotes located and marked for highlighting."""
    spans: dict[int, list[tuple[int, int, str, str]]] = {}
    notes: dict[int, list[str]] = {}
    parroted = parroted_turns(turns)
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
            if is_echo(item.turn, item.code, item.effect, parroted):
                # The grader gives it a quarter of a reflection's credit; "helped" alone
                # would teach that saying the client's words back is listening.
                sign = ECHO_NOTE
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


def _moment(turns: Sequence[Turn]) -> tuple[int, str, str] | None:
    """A late client turn worth having stayed with: (reply number, the client's words, a
    reflection of them), from the last part of the session."""
    replies = 0
    found = None
    for turn in turns:
        if turn.speaker == "counsellor":
            replies += 1
            continue
        if replies == 0:
            continue
        words = key_sentence(turn.text)
        heard = reflect(turn.text)
        if words and heard and has_feeling(turn.text):
            found = (replies, words, heard)
    return found


def missed_layers(turns: Sequence[Turn], persona: Persona | None) -> list[MissedLayer]:
    """What the client had not yet talked about when the session ended, told as moments: a
    place in this session where staying with the client might have helped them go further,
    and what got in the way (a drop in trust, too little time). Never a count of skills, as if
    skills were tokens that unlock lines, and never the locked lines themselves."""
    if persona is None:
        return []
    state = _final_state(turns, persona)
    replies = sum(1 for t in turns if t.speaker == "counsellor")
    drops = _drops(turns)
    moment = _moment(turns)
    told_drops = told_moment = False
    missed: list[MissedLayer] = []
    for layer in persona.disclosures:
        if layer.id in state.unlocked:
            continue
        parts = []
        if layer.risk:
            parts.append("the client was not yet ready to talk about something that carries "
                         "risk")
        else:
            parts.append("the client had not yet talked about this")
        if moment and not told_moment:
            number, words, heard = moment
            parts.append(f'at reply {number} they had said "{words}"; staying with that '
                         f'moment, for instance "It sounds like {heard}.", is the kind of '
                         "response that helps a client go further")
            told_moment = True
        if drops and not told_drops and layer.min_trust > state.trust:
            parts.append("trust fell most at " + " and ".join(drops)
                         + ", and a client who has pulled back needs time before saying more")
            told_drops = True
        if layer.min_turn > replies:
            parts.append(f"this client also needs time: it would not come before reply "
                         f"{layer.min_turn}, and the session ended after {replies}")
        text = "; ".join(parts) + "."
        missed.append(
            MissedLayer(
                id=layer.id,
                label=layer.label,
                risk=layer.risk,
                next=not missed,
                explanation=text[:1].upper() + text[1:],
            )
        )
    return missed
