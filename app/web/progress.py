"""The student's side: progress over sessions, and a session's released feedback."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from app.auth.policy import visible_session
from app.grading.records import Grade
from app.library import rubrics_of, session_persona
from app.models import User
from app.practice import session_turns
from app.review.compare import comparable
from app.review.marking import released_view
from app.review.progress import student_progress
from app.web.api import persona_summary
from app.web.deps import CurrentUser, Db, DbSession, Personas
from app.web.pages import render
from app.web.responses import COMMON

__all__ = ["router"]

router = APIRouter(responses=COMMON)


def _feedback(*, db: Session, session_id: str, user: User) -> dict:
    session = visible_session(db=db, user=user, session_id=session_id, action="read")
    released = released_view(db=db, session_id=session.id)
    if released is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "No feedback has been released for this session yet."
        )
    grade = db.get(Grade, released.review.grade_id)
    return {
        "session": session,
        "released": released,
        "grade": grade,
        "turns": session_turns(db=db, session_id=session.id),
    }


@router.get("/api/sessions/{session_id}/feedback", tags=["sessions"])
async def api_feedback(session_id: str, db: Db, user: CurrentUser) -> dict:
    """The released assessor review of a session: final scores, reasons, comment, turn notes."""
    found = await db.run(_feedback, session_id=session_id, user=user)
    released = found["released"]
    titles = {c["id"]: c.get("title") or c["id"] for c in found["grade"].criteria}
    return {
        "session_id": found["session"].id,
        "rubric_id": found["grade"].rubric_id,
        "released_at": released.review.released_at,
        "assessor": released.assessor.name if released.assessor else None,
        "overall": released.overall,
        "comment": released.review.comment,
        "criteria": [
            {"criterion": cid, "title": titles.get(cid, cid), "auto_score": m.auto_score,
             "score": m.score, "decision": m.decision, "reason": m.reason}
            for cid, m in released.marks.items()
        ],
        "notes": [{"turn": n.turn_index, "text": n.text} for n in released.notes],
        "version": released.version,
        "amendments": [
            {"version": a.number, "reason": a.reason, "author": a.author,
             "created_at": a.created_at, "changes": a.changes}
            for a in released.amendments
        ],
    }


@router.get("/sessions/{session_id}/feedback", response_class=HTMLResponse,
            include_in_schema=False)
def feedback_page(
    session_id: str, request: Request, db: DbSession, user: CurrentUser, personas: Personas
) -> HTMLResponse:
    """The released review of a session: scores, the assessor's comment, notes in the transcript."""
    found = _feedback(db=db, session_id=session_id, user=user)
    persona = session_persona(personas, found["session"])
    notes: dict[int, list[str]] = {}
    for note in found["released"].notes:
        notes.setdefault(note.turn_index, []).append(note.text)
    return render(
        request,
        "feedback.html",
        {
            "title": "Feedback on your session",
            **found,
            "persona": persona_summary(persona) if persona else None,
            "client_name": persona.client.name if persona else "The client",
            "notes": notes,
            "criterion_titles": {c["id"]: c.get("title") or c["id"]
                                 for c in found["grade"].criteria} if found.get("grade") else {},
        },
    )


@router.get("/progress", response_class=HTMLResponse, include_in_schema=False)
def progress_page(
    request: Request, db: DbSession, user: CurrentUser, personas: Personas
) -> HTMLResponse:
    """Your sessions over time, each criterion's scores, time practised and released feedback."""
    progress = student_progress(db=db, student=user, personas=personas,
                                rubrics=rubrics_of(request))
    return render(request, "progress.html", {"title": "Your progress", "progress": progress,
                                             "compare_groups": comparable(progress.sessions)})


@router.get("/api/progress", tags=["sessions"])
async def api_progress(request: Request, db: Db, user: CurrentUser, personas: Personas) -> dict:
    """Your sessions with the scores you may see, minutes practised and personas tried."""
    progress = await db.run(student_progress, student=user, personas=personas,
                            rubrics=rubrics_of(request))
    return {
        "minutes_practised": round(progress.minutes, 1),
        "personas": [{"title": t, "sessions": n} for t, n in progress.personas],
        "sessions": [
            {"id": s.session.id, "persona_id": s.session.persona_id,
             "started_at": s.session.created_at, "status": s.session.status,
             "minutes": round(s.minutes, 1), "scores": s.scores, "overall": s.overall,
             "source": s.source,
             "comment": s.feedback.review.comment if s.feedback else None}
            for s in progress.sessions
        ],
    }
