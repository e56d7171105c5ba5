"""The JSON API of a course of sessions: the next session, the debrief, the course, coaching."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from sqlmodel import Session

from app import course, practice
from app.auth.policy import analysis_visible, can_review, released_review, visible_session
from app.coach import coaching_on
from app.grading.records import latest_grade
from app.models import CoachToggle, NextSessionCreate, PracticeSession, SessionPublic
from app.persona import Persona
from app.persona.sessions import plan_for
from app.review.debrief import debrief
from app.review.marking import session_reviews
from app.services import services
from app.web.api import session_public
from app.web.deps import CurrentUser, Db, Personas
from app.web.responses import COMMON, errors

__all__ = ["course_view", "next_proposal", "router"]

router = APIRouter(tags=["courses"], responses=COMMON)


def _persona(personas: dict[str, Persona], session: PracticeSession) -> Persona:
    persona = personas.get(session.persona_id)
    if persona is None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"Persona '{session.persona_id}' is no longer in the library.")
    return persona


def next_proposal(*, db: Session, session: PracticeSession, persona: Persona) -> dict:
    """What booking the next session would carry: its number, goal and the detected tasks."""
    turns = practice.session_turns(db=db, session_id=session.id)
    booked = course.follow_up_of(db=db, session=session)
    number = session.session_number + 1
    return {
        "client": persona.client.name,
        "session_number": number,
        "goal": plan_for(persona.sessions, number).goal,
        "tasks": course.detect_tasks(turns),
        "booked": booked.id if booked else None,
        "can_book": session.status == "ended" and session.engine != practice.IMPORTED_ENGINE,
    }


@router.get("/api/sessions/{session_id}/next")
async def get_next(session_id: str, db: Db, user: CurrentUser, personas: Personas) -> dict:
    """What the next session with this client would carry (tasks detected from your words)."""

    def load(*, db: Session) -> dict:
        session = visible_session(db=db, user=user, session_id=session_id, action="practice")
        return next_proposal(db=db, session=session, persona=_persona(personas, session))

    return await db.run(load)


@router.post("/api/sessions/{session_id}/next", status_code=status.HTTP_201_CREATED,
             responses=errors(409))
async def book_next(
    session_id: str, body: NextSessionCreate, db: Db, user: CurrentUser, personas: Personas,
    request: Request,
) -> SessionPublic:
    """Book the next session with the same client; the client carries the last one with it."""

    def book(*, db: Session):
        previous = visible_session(db=db, user=user, session_id=session_id, action="practice")
        persona = _persona(personas, previous)
        engine = previous.engine if previous.engine in services(request).engines else "scripted"
        session, turns = course.book_next(db=db, previous=previous, persona=persona,
                                          tasks=body.tasks, engine=engine)
        reveal = analysis_visible(db=db, user=user, session=session)
        return session_public(session, turns, persona, reveal=reveal)

    return await db.run(book)


@router.get("/api/sessions/{session_id}/debrief", responses=errors(403, 409))
async def get_debrief(session_id: str, db: Db, user: CurrentUser, personas: Personas) -> dict:
    """After the session, the client steps out of role: how it felt, turn by turn."""

    def load(*, db: Session) -> dict:
        session = visible_session(db=db, user=user, session_id=session_id, action="grades")
        if session.status != "ended":
            raise HTTPException(status.HTTP_409_CONFLICT,
                                "The debrief opens once the session has ended.")
        turns = practice.session_turns(db=db, session_id=session.id)
        found = debrief(turns=turns, persona=personas.get(session.persona_id))
        if found is None:
            raise HTTPException(status.HTTP_409_CONFLICT,
                                "This session has no stored turns to debrief.")
        return found

    return await db.run(load)


def course_view(*, db: Session, user, session: PracticeSession, persona: Persona | None) -> dict:
    """The course of `session` as one timeline: trust, layers, grade and comments per session."""
    titles = {d.id: (d.title or d.id) for d in persona.disclosures} if persona else {}
    reviewer = can_review(db=db, user=user, session=session)
    rows = []
    for item in course.course_sessions(db=db, session=session):
        turns = practice.session_turns(db=db, session_id=item.id)
        reveal = analysis_visible(db=db, user=user, session=item)
        row: dict = {"id": item.id, "session_number": item.session_number,
                     "status": item.status, "created_at": item.created_at,
                     "turn_count": len(turns), "coach": item.coach}
        if reveal and turns:
            start = turns[0].state or {}
            end = practice.state_before(turns, persona) if persona else None
            earlier = set(start.get("earlier") or [])
            reached = [i for i in (end.unlocked if end else []) if i not in earlier]
            row.update(
                trust_start=turns[0].trust_after,
                trust_end=end.trust if end else None,
                trust=[t.trust_after for t in turns
                       if t.speaker == "client" and t.trust_after is not None],
                layers=[titles.get(i, i) for i in reached],
            )
            grade = latest_grade(db=db, session_id=item.id)
            if grade is not None:
                row["grade"] = {"overall": grade.overall, "status": grade.status,
                                "safety": (grade.safety or {}).get("status"),
                                "coached": grade.coached}
        if reviewer:
            comments = [r.comment for r in session_reviews(db=db, session_id=item.id)
                        if r.comment]
        else:
            released = released_review(db=db, session_id=item.id)
            comments = [released.comment] if released is not None and released.comment else []
        row["comments"] = comments
        rows.append(row)
    return {"course_id": session.course_id or session.id,
            "persona_id": session.persona_id,
            "client": persona.client.name if persona else session.persona_id,
            "sessions": rows}


@router.get("/api/sessions/{session_id}/course")
async def get_course(session_id: str, db: Db, user: CurrentUser, personas: Personas) -> dict:
    """Every session with this client as one timeline (trust, layers, grades, comments)."""

    def load(*, db: Session) -> dict:
        session = visible_session(db=db, user=user, session_id=session_id, action="read")
        return course_view(db=db, user=user, session=session,
                           persona=personas.get(session.persona_id))

    return await db.run(load)


@router.post("/api/sessions/{session_id}/coach", responses=errors(403))
async def set_coach(session_id: str, body: CoachToggle, db: Db, user: CurrentUser) -> dict:
    """Turn coach mode on or off for this session (a cohort's coach mode stays on)."""

    def toggle(*, db: Session) -> dict:
        session = visible_session(db=db, user=user, session_id=session_id, action="practice")
        if body.on and not analysis_visible(db=db, user=user, session=session):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                "Your cohort's feedback waits for release, so coach mode is "
                                "turned on by the cohort, not here.")
        session.coach = body.on
        db.add(session)
        db.commit()
        return {"id": session.id, "coach": coaching_on(db=db, session=session)}

    return await db.run(toggle)

