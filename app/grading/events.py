"""Session events the grader credits to counsellor turns, derived from the stored turns.

Student turns record what they set off (a boundary test held or crossed, a risk layer
answered or missed); client turns record what the client did next (opened a layer, withdrew).
Client-side events are credited to the counsellor turn just before them: that turn earned them.
Imported transcripts carry no events, so their grades rest on the analyzer's codes alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from app.grading.evidence import sentence_containing

__all__ = ["SessionEvent", "StoredTurn", "event_sentence", "events_from_turns", "text_events"]


class StoredTurn(Protocol):
    """The fields of a stored turn (app.models.Turn) that events are read from."""

    index: int
    speaker: str
    disclosed: str | None
    events: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """Something that happened in the session, credited to the counsellor turn `turn`."""

    name: str
    turn: int
    detail: str | None = None


def _outcome(value: object, key: str) -> tuple[str | None, str | None]:
    if isinstance(value, dict):
        return value.get("id"), value.get(key)
    return None, None


def events_from_turns(turns: Sequence[StoredTurn]) -> list[SessionEvent]:
    """Every grader event in a stored session, in turn order."""
    found: list[SessionEvent] = []
    last_counsellor: int | None = None
    for turn in turns:
        events = turn.events or {}
        if turn.speaker == "counsellor":
            last_counsellor = turn.index
            ident, outcome = _outcome(events.get("boundary"), "outcome")
            if outcome in {"held", "crossed", "unaddressed"}:
                found.append(SessionEvent(f"boundary_{outcome}", turn.index, ident))
            ident, outcome = _outcome(events.get("risk"), "outcome")
            if outcome in {"answered", "missed"}:
                found.append(SessionEvent(f"risk_{outcome}", turn.index, ident))
            continue
        if last_counsellor is None:
            continue  # the opening line answers nobody
        if turn.disclosed:
            found.append(SessionEvent("layer_unlocked", last_counsellor, turn.disclosed))
        if events.get("withdrawn"):
            found.append(SessionEvent("withdrawal", last_counsellor, events.get("reaction")))
    return found


# ---- events read from the words, for stored and imported sessions alike -----------------------

_CONTRACT_PARTS = (
    ("confidentiality", re.compile(r"\b(?:confidential\w*|private|stays? (?:here|between))\b")),
    ("limits", re.compile(r"\b(?:unless|except|limits?|if i(?:'m| am) worried|at risk|"
                          r"someone(?:'s| is| else's)? (?:safety|at risk)|harm|court|"
                          r"child protection|safeguarding|duty)\b")),
    ("role", re.compile(r"\b(?:trainee|student counsel\w*|in training|on placement|"
                        r"i'm (?:a|the) counsel\w*|my role)\b")),
    ("supervision", re.compile(r"\bsupervis\w+\b")),
    ("recording", re.compile(r"\b(?:record\w*|notes)\b")),
    ("time", re.compile(r"\b(?:\d+|fifty|forty|an?) (?:minutes?|hour)\b|\bour time\b")),
)
_ENDING_PARTS = (
    ("close", re.compile(r"\b(?:(?:nearly|almost|about|coming up to|close to) (?:out of|at the "
                         r"end of) (?:our )?time|(?:our |the )?time(?:'s| is) (?:nearly |almost )?"
                         r"up|before we (?:finish|stop|wrap)|to (?:wrap|sum) (?:up|it up)|"
                         r"(?:end|close) (?:of|to) (?:our|the|today's) session)\b")),
    ("next", re.compile(r"\b(?:next (?:week|time|session)|when we (?:meet|see each other) again|"
                        r"pick (?:this|it|that) up|come back to|between now and|"
                        r"before (?:we meet|next))\b")),
    ("support", re.compile(r"\b(?:lifeline|samaritans|988|crisis|helpline|your gp|a doctor|"
                           r"refer\w*|support (?:line|service)|if (?:things|it) get)\b")),
)
_COLLABORATION = re.compile(
    r"\b(?:what (?:would you like|do you want) to (?:focus on|talk about|work on|start with)|"
    r"what (?:do you think|ideas do you have)|(?:how|what) would (?:you|that) (?:like|want)|"
    r"where would you like to start|what would (?:be )?(?:most )?(?:helpful|useful)|"
    r"what (?:might|could) (?:help|work) for you|what's important to you)\b"
)
_AUTONOMY = re.compile(
    r"\b(?:it's (?:entirely |completely |really )?(?:up to you|your (?:call|choice|decision))|"
    r"you(?:'re| are) the (?:expert|best judge)|you know (?:yourself|your (?:life|situation)) "
    r"best|whatever you decide|(?:only )?if (?:it|that) feels right|your choice|no pressure)\b"
)


# The words each text event is read from, so evidence can quote the sentence that showed it.
_EVENT_WORDS: dict[str, tuple[re.Pattern[str], ...]] = {
    "collaboration": (_COLLABORATION,),
    "autonomy": (_AUTONOMY,),
    "contract": tuple(rx for _, rx in _CONTRACT_PARTS),
    "ending": tuple(rx for _, rx in _ENDING_PARTS),
}


def event_sentence(name: str, text: str) -> str | None:
    """The sentence of a counsellor turn that showed a text event (verbatim), or None."""
    patterns = _EVENT_WORDS.get(name)
    return sentence_containing(text, *patterns) if patterns else None


def text_events(turns: Sequence[Any], *, codes: dict[int, Sequence[str]]) -> list[SessionEvent]:
    """Events the counsellor's own words show: an opening contract, a planned ending,
    seeking collaboration and emphasising autonomy. `turns` have index/speaker/text."""
    mine = [t for t in turns if t.speaker == "counsellor"]
    found: list[SessionEvent] = []
    opening = mine[:3]
    parts = {name for t in opening for name, rx in _CONTRACT_PARTS if rx.search(t.text.lower())}
    if len(parts) >= 2 and parts & {"confidentiality", "limits"}:
        found.append(SessionEvent("contract", opening[0].index, ",".join(sorted(parts))))
    if len(mine) >= 4:
        closing = mine[-3:]
        parts = {name for t in closing for name, rx in _ENDING_PARTS
                 if rx.search(t.text.lower())}
        summarised = any("summary" in codes.get(t.index, ()) for t in closing)
        if "close" in parts and (summarised or len(parts) >= 2):
            found.append(SessionEvent("ending", closing[-1].index, ",".join(sorted(parts))))
    for turn in mine:
        lowered = turn.text.lower()
        if _COLLABORATION.search(lowered):
            found.append(SessionEvent("collaboration", turn.index))
        if _AUTONOMY.search(lowered):
            found.append(SessionEvent("autonomy", turn.index))
    return found
