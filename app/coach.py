"""Coach mode: a short note beside the chat after each student turn.

The note says what the analyzer saw in the turn ("closed question"; "complex reflection —
well done") and, for a move that hurts the relationship, one alternative phrased for this
moment from the client's own last words (app.grading.feedback, the same alternatives the report
gives). It is stored on the student turn's events, shown to the student and to assessors, and
never reaches a client engine: engines read the ReplyRequest, which carries no events.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from app.cohorts import cohort_ids_of
from app.grading.feedback import alternative_for
from app.models import Cohort, PracticeSession
from app.persona import Persona

__all__ = ["HARMFUL", "coach_note", "coaching_on"]

# What the analyzer saw, in a few words; the skills worth keeping say so.
_SEEN = {
    "reflection_complex": "complex reflection — well done",
    "reflection_simple": "simple reflection",
    "summary": "summary — well done",
    "validation": "validation — well done",
    "affirmation": "affirmation",
    "question_open": "open question",
    "question_closed": "closed question",
    "information": "information",
    "advice_with_permission": "advice, after asking permission",
    "advice_without_permission": "advice the client did not ask for",
    "judgement": "judgement",
    "reassurance": "reassurance before understanding",
    "minimising": "minimising",
    "self_disclosure": "talking about yourself",
    "boundary_crossing": "a boundary crossed",
    "boundary_holding": "a boundary held kindly — well done",
    "risk_inquiry": "asked about risk directly — well done",
    "safety_response": "safety response — well done",
}
# Moves a counsellor would want more of: the note is marked good.
_GOOD = frozenset({"reflection_complex", "reflection_simple", "summary", "validation",
                   "affirmation", "question_open", "advice_with_permission",
                   "boundary_holding", "risk_inquiry", "safety_response"})
# Moves that cost the relationship, most harmful first: the note offers an alternative.
HARMFUL = ("risk_missed", "boundary_crossing", "judgement", "minimising",
           "advice_without_permission", "reassurance", "self_disclosure")


def coach_note(
    *, codes: Iterable[str], events: dict | None, client_text: str | None,
    persona: Persona | None, trust_delta: float = 0.0,
) -> dict:
    """The note for one student turn: what was seen and, for a harmful move, an alternative."""
    present = list(dict.fromkeys(codes))
    if "self_disclosure" in present and trust_delta >= 0:
        # Saying who you are while contracting ("I'm a trainee") cost the client nothing.
        present.remove("self_disclosure")
    saw = [_SEEN[c] for c in present if c in _SEEN]
    keys = set(present)
    events = events or {}
    risk = events.get("risk") or {}
    boundary = events.get("boundary") or {}
    detail = None
    if risk.get("outcome") == "missed":
        keys.add("risk_missed")
        detail = risk.get("id")
        saw.insert(0, "the client's risk passed over")
    if boundary.get("outcome") == "crossed":
        keys.add("boundary_crossing")
        detail = detail or boundary.get("id")
    harmful = next((k for k in HARMFUL if k in keys), None)
    note: dict = {"saw": saw or ["nothing the analyzer could name"], "tone": "good"}
    if harmful is None:
        if not keys & _GOOD:
            note["tone"] = "neutral"
        return note
    alternative, why = alternative_for(harmful, client_text=client_text, persona=persona,
                                       detail=detail)
    note.update(tone="harmful", move=harmful, alternative=alternative, why=why)
    return note


def coaching_on(*, db: Session, session: PracticeSession) -> bool:
    """Coach mode for a session: the student turned it on, or the student's cohort did."""
    if session.coach:
        return True
    cohorts = cohort_ids_of(db=db, user_id=session.owner_id)
    if not cohorts:
        return False
    return bool(db.exec(
        select(Cohort.id).where(col(Cohort.id).in_(cohorts), col(Cohort.coach_mode))
    ).first())
