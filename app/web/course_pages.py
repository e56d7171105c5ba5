"""Pages of a course of sessions: booking the next session from a form, and the course view."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app import course
from app.auth.policy import visible_session
from app.exports.assemble import session_report
from app.exports.pdf import render_course_pdf
from app.library import rubrics_of
from app.services import services
from app.web.course_api import course_view
from app.web.deps import CurrentUser, DbSession, Personas
from app.web.pages import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.post("/sessions/{session_id}/next")
def book_next_form(
    session_id: str,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    personas: Personas,
    task: Annotated[list[str] | None, Form(max_length=200)] = None,
) -> RedirectResponse:
    """Book the next session with this client (the report's form) and open it."""
    previous = visible_session(db=db, user=user, session_id=session_id, action="practice")
    persona = personas.get(previous.persona_id)
    if persona is None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"Persona '{previous.persona_id}' is no longer in the library.")
    tasks = [t.strip() for t in (task or []) if t.strip()][:3]
    engine = previous.engine if previous.engine in services(request).engines else "scripted"
    session, _ = course.book_next(db=db, previous=previous, persona=persona, tasks=tasks,
                                  engine=engine)
    return RedirectResponse(f"/sessions/{session.id}", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/sessions/{session_id}/course", response_class=HTMLResponse)
def course_page(
    session_id: str, request: Request, db: DbSession, user: CurrentUser, personas: Personas
) -> HTMLResponse:
    """Every session with this client as one timeline."""
    session = visible_session(db=db, user=user, session_id=session_id, action="read")
    persona = personas.get(session.persona_id)
    view = course_view(db=db, user=user, session=session, persona=persona)
    return render(request, "course.html", {
        "title": f"Sessions with {view['client']}",
        "course": view,
        "session": session,
    })


@router.get("/sessions/{session_id}/course.pdf")
def course_pdf(
    session_id: str, request: Request, db: DbSession, user: CurrentUser, personas: Personas
) -> Response:
    """Every session with this client in one PDF, each as its own report."""
    session = visible_session(db=db, user=user, session_id=session_id, action="read")
    reports = []
    for item in course.course_sessions(db=db, session=session):
        report = session_report(db=db, session=item, viewer=user, personas=personas,
                                rubrics=rubrics_of(request))
        reports.append(replace(report, title=f"Session {item.session_number}: {report.title}"))
    persona = personas.get(session.persona_id)
    title = f"Sessions with {persona.client.name if persona else session.persona_id}"
    return Response(
        render_course_pdf(title, reports),
        media_type="application/pdf",
        headers={"Content-Disposition":
                 f'attachment; filename="rapport-course-{session.course_id or session.id}.pdf"',
                 "Cache-Control": "no-store"},
    )
