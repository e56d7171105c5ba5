"""A course of sessions with one client: booking the next session, and the course's sessions.

The first session of a course gives the course its id; each follow-up points at the session
before it and carries the client's state on (app/client/carry.py). Booking is idempotent: asking
twice from the same ended session gives the one follow-up.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from sqlmodel import Session, col, select

from app import practice
from app.client.carry import MAX_TASKS, carried_state, opening_for
from app.models import PracticeSession, Turn

__all__ = ["book_next", "course_sessions", "detect_tasks", "follow_up_of"]

# A counsellor sentence that agrees something for the client to try before next time.
_TASK_CUE = re.compile(
    r"\b(?:before (?:next|our next|we next) (?:time|session|week|meet)|between now and|"
    r"this (?:coming )?week|over the (?:next|coming) (?:week|few days|days)|homework|"
    r"until (?:we meet|next time|next week)|next time we meet|by next (?:time|week|session))\b",
    re.IGNORECASE,
)
_TASK_VERB = re.compile(
    r"\b(?:be willing to|like to|want to|try to|could you|would you|will you|you could|"
    r"you might|you'll|you will|try)\s+(?P<task>.+)$",
    re.IGNORECASE,
)
_LEAD = re.compile(r"(?:be willing to|like to|want to|try to|try|to)\s+", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?]+[.!?]?")
_FLIPS = {"your": "my", "yours": "mine", "yourself": "myself", "you": "I", "you're": "I'm"}
_FLIP = re.compile(r"\b(?:yourself|yours|your|you're|you)\b", re.IGNORECASE)


def _as_task(sentence: str) -> str | None:
    """'Could you keep a sleep diary before next week?' -> 'keep a sleep diary'."""
    text = _TASK_CUE.sub("", sentence).strip(" ?.!,;:")
    match = _TASK_VERB.search(text)
    task = (match.group("task") if match else text).strip(" ?.!,;:")
    # "would you be willing to try to ..." -> "..."
    while (lead := _LEAD.match(task)) is not None:
        task = task[lead.end():]
    task = re.sub(r"\s+(?:and|then|so|,)$", "", task)
    task = _FLIP.sub(lambda m: _FLIPS[m.group(0).lower()], task)
    return task if 2 <= len(task.split()) <= 25 else None


def detect_tasks(turns: Sequence[Turn]) -> list[str]:
    """Tasks the student agreed with the client, from what the student said (latest first)."""
    found: list[str] = []
    for turn in reversed(turns):
        if turn.speaker != "counsellor":
            continue
        for sentence in _SENTENCE.findall(turn.text):
            if _TASK_CUE.search(sentence):
                task = _as_task(sentence)
                if task and task not in found:
                    found.append(task)
        if len(found) >= MAX_TASKS:
            break
    return found[:MAX_TASKS]


def follow_up_of(*, db: Session, session: PracticeSession) -> PracticeSession | None:
    """The session booked after this one, if any."""
    return db.exec(
        select(PracticeSession).where(PracticeSession.previous_id == session.id)
    ).first()


def book_next(
    *,
    db: Session,
    previous: PracticeSession,
    persona: practice.Persona,
    tasks: Sequence[str] = (),
    engine: str,
) -> tuple[PracticeSession, list[Turn]]:
    """Start the next session with the same client, carrying the client's state on.

    ConflictError while the previous session is still going (or was imported).
    """
    if previous.engine == practice.IMPORTED_ENGINE:
        raise practice.ConflictError("An imported session cannot be followed up.")
    if previous.status != "ended":
        raise practice.ConflictError("End this session before booking the next one.")
    existing = follow_up_of(db=db, session=previous)
    if existing is not None:
        return existing, practice.session_turns(db=db, session_id=existing.id)
    last = practice.state_before(
        practice.session_turns(db=db, session_id=previous.id), persona
    )
    number = previous.session_number + 1
    state = carried_state(persona=persona, last=last, number=number, tasks=tasks)
    if previous.course_id is None:
        previous.course_id = previous.id
        db.add(previous)
    session = PracticeSession(
        id=secrets.token_urlsafe(12),
        owner_id=previous.owner_id,
        persona_id=persona.id,
        persona_version=persona.version,
        engine=engine,
        seed=secrets.randbelow(2**31),
        course_id=previous.course_id,
        session_number=number,
        previous_id=previous.id,
        coach=previous.coach,
    )
    opening = Turn(
        session_id=session.id,
        index=0,
        speaker="client",
        text=opening_for(persona=persona, state=state),
        trust_after=state.trust,
        state=state.model_dump(),
        engine="scripted",
        events={"course": {"session_number": number, "tasks": list(state.tasks)}},
    )
    db.add(session)
    db.add(opening)
    db.commit()
    db.refresh(session)
    db.refresh(opening)
    return session, [opening]


def course_sessions(*, db: Session, session: PracticeSession) -> list[PracticeSession]:
    """Every session of this session's course (same owner), in session order."""
    if session.course_id is None:
        return [session]
    return list(
        db.exec(
            select(PracticeSession)
            .where(PracticeSession.course_id == session.course_id,
                   PracticeSession.owner_id == session.owner_id)
            .order_by(col(PracticeSession.session_number), col(PracticeSession.created_at))
        ).all()
    )
