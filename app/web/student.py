"""A student's own sessions: discard an abandoned one, compare two attempts with one client."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse

from app.audit import actor_of
from app.auth.policy import visible_session
from app.library import rubrics_of, session_persona
from app.practice import session_turns
from app.retention import DiscardRefused, discard_session
from app.review.compare import CompareError, compare
from app.web.deps import CurrentUser, DbSession, Personas
from app.web.pages import render, trust_curve

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _active_own(db: DbSession, user: CurrentUser, session_id: str):
    # "practice": the owner only; anyone else, an admin too, is told 404 as for an unknown id.
    session = visible_session(db=db, user=user, session_id=session_id, action="practice")
    if session.status != "active":
        raise HTTPException(status.HTTP_409_CONFLICT, "This session has ended, so it is kept: "
                            "only a session still in progress can be discarded.")
    return session


@router.get("/sessions/{session_id}/discard", response_class=HTMLResponse)
def discard_page(
    session_id: str, request: Request, db: DbSession, user: CurrentUser, personas: Personas
) -> HTMLResponse:
    """Ask before discarding an active session: what will be deleted, and a way back."""
    session = _active_own(db, user, session_id)
    persona = session_persona(personas, session)
    turns = session_turns(db=db, session_id=session.id)
    return render(request, "discard.html", {
        "title": "Discard this session?",
        "session": session,
        "client_name": persona.client.name if persona else "the client",
        "persona_title": persona.title if persona else session.persona_id,
        "student_turns": sum(1 for t in turns if t.speaker == "counsellor"),
    })


@router.post("/sessions/{session_id}/discard")
def discard_form(session_id: str, db: DbSession, user: CurrentUser) -> RedirectResponse:
    """Delete an abandoned active session of one's own, with its turns; audited."""
    session = _active_own(db, user, session_id)
    try:
        discard_session(db=db, session_id=session.id, actor=actor_of(user))
    except DiscardRefused as exc:  # ended in another tab a moment ago
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return RedirectResponse("/history?discarded=1", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/progress/compare", response_class=HTMLResponse)
def compare_page(
    request: Request, db: DbSession, user: CurrentUser, personas: Personas,
    first: Annotated[str, Query(max_length=32)] = "",
    second: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """Two of your graded sessions with one client side by side: scores and trust curves."""
    if not first or not second:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "Choose two sessions to compare on your progress page.")
    try:
        found = compare(db=db, student=user, first_id=first, second_id=second,
                        rubrics=rubrics_of(request))
    except CompareError as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    persona = session_persona(personas, found.second.session)
    curves = [trust_curve(session_turns(db=db, session_id=a.session.id),
                          session_persona(personas, a.session))
              for a in (found.first, found.second)]
    return render(request, "compare.html", {
        "title": "Compare two sessions",
        "comparison": found,
        "persona_title": persona.title if persona else found.second.session.persona_id,
        "client_name": persona.client.name if persona else "the client",
        "curves": curves,
    })
