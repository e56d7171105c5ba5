"""The debrief: after the session the client steps out of role and says how it felt.

Built only from what was stored turn by turn (trust before and after each student turn, the
client's reaction, the layer it opened, the reply it gave), so every sentence points at a turn
and quotes it: the three largest trust moves, the moments that helped, the ones after which the
client closed up. Nothing is invented; a session with no stored analysis has no debrief.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.grading.evidence import first_sentence
from app.models import Turn
from app.persona import Persona

__all__ = ["FELT", "debrief"]

# How each reaction felt from the client's side, first person.
FELT = {
    "heard": "I felt you understood what I meant",
    "validated": "I felt taken seriously",
    "questioned_open": "I had room to think and say more",
    "questioned_closed": "it felt like being questioned, so I kept it short",
    "advised": "I felt pushed towards an answer before I was ready",
    "judged": "I felt judged",
    "reassured": "it felt too quick, as if the worry was meant to just go away",
    "dismissed": "I felt brushed off",
    "boundary_slip": "I wasn't sure what kind of relationship this was any more",
    "contracted": "I knew where I stood: what stays private and what doesn't",
    "repaired": "it mattered that you owned it",
    "confused": "I wasn't sure what you meant; I hadn't said that",
    "neutral": "nothing much changed for me",
}
_TOP = 3


def _quote(text: str, limit: int = 160) -> str:
    """A verbatim piece of a turn: its first sentence, cut at a word if long."""
    sentence = first_sentence(text) or text
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0]


def debrief(*, turns: Sequence[Turn], persona: Persona | None) -> dict | None:
    """The client's view of the session from its stored state changes (None: nothing stored)."""
    ordered = sorted(turns, key=lambda t: t.index)
    by_index = {t.index: t for t in ordered}
    titles = {d.id: (d.title or d.id) for d in persona.disclosures} if persona else {}
    moments: list[dict] = []
    number = 0
    for turn in ordered:
        if turn.speaker != "counsellor":
            continue
        number += 1
        if turn.trust_before is None or turn.trust_after is None:
            continue
        reply = by_index.get(turn.index + 1)
        reaction = (turn.events or {}).get("reaction") or "neutral"
        delta = round(turn.trust_after - turn.trust_before, 2)
        moment = {
            "turn": number,
            "index": turn.index,
            "delta": delta,
            "trust_before": turn.trust_before,
            "trust_after": turn.trust_after,
            "reaction": reaction,
            "you_said": _quote(turn.text),
            "client_said": _quote(reply.text) if reply is not None else None,
            "opened": titles.get(reply.disclosed, reply.disclosed)
            if reply is not None and reply.disclosed else None,
        }
        moment["felt"] = _felt(moment)
        moments.append(moment)
    if not moments:
        return None
    largest = sorted((m for m in moments if m["delta"]),
                     key=lambda m: (-abs(m["delta"]), m["turn"]))[:_TOP]
    helped = [m for m in moments if m["delta"] > 0 or m["opened"]]
    helped = sorted(helped, key=lambda m: (-(m["delta"]), m["turn"]))[:_TOP]
    closed = sorted((m for m in moments if m["delta"] < 0),
                    key=lambda m: (m["delta"], m["turn"]))[:_TOP]
    first, last = moments[0]["trust_before"], moments[-1]["trust_after"]
    name = persona.client.name if persona else "The client"
    return {
        "client": name,
        "trust_start": first,
        "trust_end": last,
        "summary": _summary(first, last),
        "largest_moves": sorted(largest, key=lambda m: m["turn"]),
        "helped": sorted(helped, key=lambda m: m["turn"]),
        "closed_up": sorted(closed, key=lambda m: m["turn"]),
    }


def _felt(moment: dict) -> str:
    """One first-person sentence for a moment: how it felt, and what it let out."""
    felt = FELT.get(moment["reaction"], FELT["neutral"])
    line = f"When you said \u201c{moment['you_said']}\u201d (turn {moment['turn']}), {felt}"
    if moment["opened"]:
        line += f", and I told you about \u201c{moment['opened']}\u201d"
    elif moment["delta"] < 0:
        line += ", and I held back a bit after that"
    return line + "."


def _summary(first: float, last: float) -> str:
    if last - first >= 1:
        return "By the end I trusted you more than when I walked in."
    if first - last >= 1:
        return "By the end I trusted you less than when I walked in."
    return "By the end I felt about the same towards you as when I walked in."
