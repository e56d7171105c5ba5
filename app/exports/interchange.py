"""Sessions in the transcript interchange format: export any session, import one to grade it."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlmodel import Session

from app.analysis import analyze_transcript
from app.models import PracticeSession, Turn, utcnow
from app.persona import Persona
from app.practice import IMPORTED_ENGINE, session_turns
from app.transcripts import Transcript

__all__ = ["IMPORTED_ENGINE", "export_transcript", "import_transcript", "stored_course_id"]


def export_transcript(*, db: Session, session: PracticeSession) -> dict:
    """A stored session as the interchange transcript object of DESIGN.md."""
    exported: dict = {"id": session.id, "persona_id": session.persona_id}
    if session.course_id is not None:
        exported["course_id"] = session.course_id
        exported["session_number"] = session.session_number
    exported["turns"] = [
        {"speaker": t.speaker, "text": t.text}
        for t in session_turns(db=db, session_id=session.id)
    ]
    return exported


_COURSE_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def stored_course_id(course_id: str | None) -> str | None:
    """A file's course id as stored: as it is when it fits the column, else a digest of it."""
    if course_id is None or _COURSE_ID.fullmatch(course_id):
        return course_id
    return "x-" + hashlib.sha256(course_id.encode()).hexdigest()[:30]


def import_transcript(
    *, db: Session, transcript: Transcript, owner_id: int, persona: Persona | None
) -> PracticeSession:
    """Store a role-play held elsewhere as an ended session, analysed as practice turns are.

    The session gets a new id (the transcript's own id is kept nowhere it could collide); its
    persona is the transcript's `persona_id`, or "imported" when it names none.
    """
    now = utcnow()
    session = PracticeSession(
        id=secrets.token_urlsafe(12),
        owner_id=owner_id,
        persona_id=(transcript.persona_id or "imported")[:100],
        persona_version=persona.version if persona else 1,
        engine=IMPORTED_ENGINE,
        status="ended",
        seed=0,
        created_at=now,
        ended_at=now,
        # Sessions of one course are grouped per owner (app.course.course_sessions).
        course_id=stored_course_id(transcript.course_id),
        session_number=transcript.session_number or 1,
    )
    analyses = dict(analyze_transcript(transcript.context_turns()))
    db.add(session)
    db.flush()  # the turns' foreign key needs the session row first (PostgreSQL checks at once)
    for index, turn in enumerate(transcript.turns):
        analysis = analyses.get(index)
        db.add(
            Turn(
                session_id=session.id,
                index=index,
                speaker=turn.speaker,
                text=turn.text,
                codes=list(analysis.codes) if analysis else [],
                empathy=dict(analysis.empathy) if analysis else None,
                engine=IMPORTED_ENGINE if turn.speaker == "client" else None,
            )
        )
    db.commit()
    db.refresh(session)
    return session
