"""The student's own reflection before the grade, and stepping out of a distressing session.

After ending a session, a student rates themselves on the rubric and answers a few reflective
prompts before the report opens; the report then sets their ratings beside the automatic ones
and, once released, the assessor's. At any moment during a session a student may step out:
they get support information (the persona's local services and the general ones), can come
back later or end the session, and the session is marked as stepped out.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, select

from app.auth.policy import visible_session
from app.grading.records import latest_grade
from app.library import rubrics_of, session_persona
from app.models import PracticeSession, ReviewMark, User, utcnow
from app.persona import Persona
from app.review.self_rating import (
    PROMPTS,
    SelfRatingIn,
    SelfRatingPublic,
    get_self_rating,
    save_self_rating,
)
from app.rubric import DEFAULT_RUBRIC_ID, Rubric
from app.web.deps import CurrentUser, DbSession, Personas
from app.web.pages import render
from app.web.responses import COMMON, errors

__all__ = ["needs_reflection", "router", "self_rating_rows", "support_lines"]

router = APIRouter()

# Said to everyone who steps out, whatever the persona's jurisdiction lists.
GENERAL_SUPPORT = (
    "Talk to your supervisor, tutor or placement coordinator: stepping out of a practice "
    "session is part of looking after yourself, not a failure.",
    "Your university or employer's counselling service is there for students and staff.",
    "If you are in danger or thinking of harming yourself, call your local emergency number "
    "(000 in Australia, 999 in the UK, 911 in the US, 111 in New Zealand).",
)


def _rubric_for(request: Request, db: Session, session: PracticeSession) -> Rubric:
    rubrics = rubrics_of(request)
    grade = latest_grade(db=db, session_id=session.id)
    if grade is not None and grade.rubric_id in rubrics:
        return rubrics[grade.rubric_id]
    return rubrics.get(DEFAULT_RUBRIC_ID) or next(iter(rubrics.values()))


def needs_reflection(*, db: Session, user: User, session: PracticeSession) -> bool:
    """Whether the report should first ask the student to reflect: their own ended session,
    not yet reflected on."""
    return (session.owner_id == user.id and session.status == "ended"
            and get_self_rating(db=db, session_id=session.id) is None)


def self_rating_rows(
    *, db: Session, session: PracticeSession, rubric: Rubric | None, grade, released: bool
) -> list[dict]:
    """Per criterion: the student's own score, the automatic one and the released one."""
    mine = get_self_rating(db=db, session_id=session.id)
    if mine is None or rubric is None:
        return []
    auto = {c.id: c.score for c in grade.criteria} if grade is not None else {}
    final: dict[str, float | None] = {}
    if released:
        from app.auth.policy import released_review

        review = released_review(db=db, session_id=session.id)
        if review is not None:
            marks = db.exec(select(ReviewMark).where(ReviewMark.review_id == review.id)).all()
            final = {m.criterion_id: m.score for m in marks}
    return [
        {"title": c.title, "self": mine.ratings.get(c.id), "auto": auto.get(c.id),
         "final": final.get(c.id), "assessor_rated": c.rated_by == "assessor"}
        for c in rubric.criteria
    ]


@router.get("/sessions/{session_id}/reflect", response_class=HTMLResponse,
            include_in_schema=False)
def reflect_page(session_id: str, request: Request, db: DbSession,
                 user: CurrentUser) -> HTMLResponse:
    """Rate yourself on the rubric and reflect, before the report opens."""
    session = visible_session(db=db, user=user, session_id=session_id, action="read")
    if session.owner_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No session with id '{session_id}'.")
    rubric = _rubric_for(request, db, session)
    saved = get_self_rating(db=db, session_id=session.id)
    return render(request, "reflect.html", {
        "title": "Before your report: your own view",
        "session": session, "rubric": rubric, "prompts": PROMPTS,
        "saved": saved, "answers": {}, "scale": range(rubric.scale.min, rubric.scale.max + 1),
        "problem": "",
    })


@router.post("/sessions/{session_id}/reflect", include_in_schema=False)
async def reflect_submit(session_id: str, request: Request, db: DbSession,
                         user: CurrentUser) -> Response:
    """Save the self-rating and answers, then open the report."""
    session = visible_session(db=db, user=user, session_id=session_id, action="read")
    if session.owner_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No session with id '{session_id}'.")
    rubric = _rubric_for(request, db, session)
    form = await request.form()
    ratings: dict[str, float | None] = {}
    for criterion in rubric.criteria:
        raw = str(form.get(f"rate-{criterion.id}", "")).strip()
        ratings[criterion.id] = float(raw) if raw not in ("", "unsure") else None
    answers = {key: str(form.get(f"answer-{key}", "")) for key in PROMPTS}
    try:
        given = SelfRatingIn(ratings=ratings, answers=answers)
        save_self_rating(db=db, session_id=session.id, user_id=user.id, rubric=rubric,
                         given=given)
    except (ValidationError, ValueError) as exc:
        problem = str(exc).splitlines()[0] if not isinstance(exc, ValidationError) else \
            exc.errors()[0]["msg"]
        return render(request, "reflect.html", {
            "title": "Before your report: your own view", "session": session,
            "rubric": rubric, "prompts": PROMPTS, "saved": None, "answers": answers,
            "scale": range(rubric.scale.min, rubric.scale.max + 1), "problem": problem,
        }, status_code=422)
    return RedirectResponse(f"/sessions/{session.id}/report",
                            status_code=status.HTTP_303_SEE_OTHER)


class SteppedOut(BaseModel):
    """A session after stepping out: still active until it is ended."""

    id: str
    status: str
    stepped_out_at: datetime | None


@router.post("/api/sessions/{session_id}/self-rating", status_code=201, tags=["sessions"],
             responses={**COMMON, **errors(409)})
def api_self_rating(session_id: str, body: SelfRatingIn, request: Request, db: DbSession,
                    user: CurrentUser) -> SelfRatingPublic:
    """Rate your own session on its rubric (and answer the reflective prompts)."""
    session = visible_session(db=db, user=user, session_id=session_id, action="read")
    if session.owner_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No session with id '{session_id}'.")
    if session.status == "active":
        raise HTTPException(status.HTTP_409_CONFLICT,
                            "This session is still going: end it, then rate it.")
    try:
        row = save_self_rating(db=db, session_id=session.id, user_id=user.id,
                               rubric=_rubric_for(request, db, session), given=body)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return SelfRatingPublic.model_validate(row, from_attributes=True)


def support_lines(persona: Persona | None) -> list[str]:
    """Where to turn, for someone stepping out of a session with this persona."""
    lines = []
    if persona is not None and persona.jurisdiction is not None:
        for service in persona.jurisdiction.services:
            what = f" ({service.for_})" if service.for_ else ""
            lines.append(f"{service.name}: {service.contact}{what}")
    return lines


def _step_out(db: Session, session: PracticeSession) -> None:
    if session.stepped_out_at is None:
        session.stepped_out_at = utcnow()
        db.add(session)
        db.commit()


@router.post("/sessions/{session_id}/step-out", include_in_schema=False)
def step_out_form(session_id: str, db: DbSession, user: CurrentUser) -> RedirectResponse:
    """Step out of a session: it is marked so, and the support page opens."""
    session = visible_session(db=db, user=user, session_id=session_id, action="practice")
    _step_out(db, session)
    return RedirectResponse(f"/sessions/{session.id}/stepped-out",
                            status_code=status.HTTP_303_SEE_OTHER)


@router.post("/api/sessions/{session_id}/step-out", tags=["sessions"],
             responses={**COMMON, **errors(409)})
def step_out_api(session_id: str, db: DbSession, user: CurrentUser) -> SteppedOut:
    """Step out of a session (marked so; it can be resumed or ended afterwards)."""
    session = visible_session(db=db, user=user, session_id=session_id, action="practice")
    if session.status != "active":
        raise HTTPException(status.HTTP_409_CONFLICT, "This session has already ended.")
    _step_out(db, session)
    return SteppedOut(id=session.id, status=session.status,
                      stepped_out_at=session.stepped_out_at)


@router.get("/sessions/{session_id}/stepped-out", response_class=HTMLResponse,
            include_in_schema=False)
def stepped_out_page(session_id: str, request: Request, db: DbSession, user: CurrentUser,
                     personas: Personas) -> HTMLResponse:
    """Support information after stepping out, with the way back or to end."""
    session = visible_session(db=db, user=user, session_id=session_id, action="read")
    persona = session_persona(personas, session)
    return render(request, "stepped_out.html", {
        "title": "You stepped out", "session": session,
        "client_name": persona.client.name if persona else "the client",
        "services": support_lines(persona), "general": GENERAL_SUPPORT,
        "active": session.status == "active",
    })

