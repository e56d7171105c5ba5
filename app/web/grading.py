"""Grades over HTTP: grade a session, list its grades, the rubric library, the report page."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from app import practice
from app.auth.policy import HELD_MESSAGE, analysis_visible, released_review, visible_session
from app.config import Settings
from app.grading.judge import JudgeNotConfigured, judge_from_settings
from app.grading.model import GradeResult, GradingInput
from app.grading.records import GradePublic, grade_public, latest_grade, list_grades
from app.grading.report import criterion_views, missed_layers, turn_views
from app.grading.service import (
    UnknownRubric,
    grade_session,
    pick_rubric,
    session_input,
    store_grade,
)
from app.library import rubric_shelf, session_persona
from app.models import PracticeSession
from app.numbering import TurnNumbers
from app.review.debrief import debrief
from app.rubric import Rubric
from app.services import services, services_of
from app.web.api import persona_summary
from app.web.course_api import next_proposal
from app.web.deps import CurrentUser, Db, DbSession, Personas, SettingsDep
from app.web.pages import render, trust_curve
from app.web.reflection import needs_reflection, self_rating_rows
from app.web.responses import COMMON, ErrorBody, errors

__all__ = ["GradeRequest", "install_grading", "router"]

router = APIRouter(responses=COMMON)


class JudgeFailure(ErrorBody):
    """502 from grading with the LLM judge: the failed grade, stored with its reason."""

    grade: GradePublic


class GradeRequest(BaseModel):
    """Body of POST /api/sessions/{id}/grade (both fields optional)."""

    model_config = ConfigDict(extra="forbid")

    rubric_id: str | None = Field(default=None, max_length=100)
    engine: Literal["analytic", "llm"] = "analytic"


def get_rubrics(request: Request) -> dict[str, Rubric]:
    """The rubric library (reloaded when its folder changes)."""
    return services(request).library.rubrics()


def _owned(db: Session, session_id: str, user: CurrentUser) -> PracticeSession:
    # Owner (when the cohort shows auto-grades), the cohort's assessors, admins: app.auth.policy.
    return visible_session(db=db, user=user, session_id=session_id, action="grades")


def _rubric(rubrics: dict[str, Rubric], rubric_id: str | None) -> Rubric:
    try:
        return pick_rubric(rubrics, rubric_id)
    except UnknownRubric as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


def rubric_summary(rubric: Rubric) -> dict:
    """A rubric as the API lists it."""
    return {
        "id": rubric.id,
        "version": rubric.version,
        "title": rubric.title,
        "description": rubric.description,
        "scale": rubric.scale.model_dump(),
        "frameworks": [f.model_dump() for f in rubric.frameworks],
        "criteria": [{"id": c.id, "title": c.title, "basis": c.basis} for c in rubric.criteria],
    }


@router.get("/api/rubrics", tags=["grading"])
def list_rubrics(request: Request) -> list[dict]:
    """The rubric library."""
    return [rubric_summary(r) for r in get_rubrics(request).values()]


@router.get("/api/rubrics/{rubric_id}", tags=["grading"])
def get_rubric(rubric_id: str, request: Request) -> dict:
    """One rubric in full: criteria, level descriptors and indicators."""
    rubric = _rubric(get_rubrics(request), rubric_id)
    return rubric.model_dump(mode="json")


def _analytic(
    *, db: Session, session_id: str, user: CurrentUser, personas: dict, rubric: Rubric
) -> GradePublic:
    session = _owned(db, session_id, user)
    persona = session_persona(personas, session)
    return grade_public(grade_session(db=db, session=session, persona=persona, rubric=rubric))


def _load_input(
    *, db: Session, session_id: str, user: CurrentUser, personas: dict
) -> tuple[PracticeSession, GradingInput]:
    session = _owned(db, session_id, user)
    persona = session_persona(personas, session)
    return session, session_input(db=db, session=session, persona=persona)


def _store(*, db: Session, session: PracticeSession, result: GradeResult) -> GradePublic:
    return grade_public(store_grade(db=db, session=session, result=result))


@router.post(
    "/api/sessions/{session_id}/grade",
    tags=["grading"],
    response_model=GradePublic,
    responses={**errors(409, 503), 502: {"model": JudgeFailure,
                                         "description": "The LLM judge failed; stored as such."}},
)
async def grade(
    session_id: str,
    request: Request,
    db: Db,
    user: CurrentUser,
    personas: Personas,
    settings: SettingsDep,
    body: GradeRequest | None = None,
):
    """Grade a session (analytic by default, or the LLM judge); each call adds a grade."""
    body = body or GradeRequest()
    rubric = _rubric(get_rubrics(request), body.rubric_id)
    if body.engine == "analytic":
        return await db.run(
            _analytic, session_id=session_id, user=user, personas=personas, rubric=rubric
        )
    session, inp = await db.run(_load_input, session_id=session_id, user=user, personas=personas)
    try:
        judge = judge_from_settings(settings)
    except JudgeNotConfigured as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    try:
        # No database connection is held while the model thinks.
        result = await judge.grade(inp, rubric)
    finally:
        await judge.aclose()
    stored = await db.run(_store, session=session, result=result)
    if stored.status == "failed":
        # Stored as a failed grade (the record matters), answered as the upstream failure it is.
        return JSONResponse(
            status_code=status.HTTP_502_BAD_GATEWAY,
            content={
                "detail": f"The LLM judge could not grade this session: {stored.reason}",
                "grade": stored.model_dump(mode="json"),
            },
        )
    return stored


def _grades(*, db: Session, session_id: str, user: CurrentUser) -> list[GradePublic]:
    session = _owned(db, session_id, user)
    return [grade_public(g) for g in list_grades(db=db, session_id=session.id)]


@router.get("/api/sessions/{session_id}/grades", tags=["grading"])
async def grades(session_id: str, db: Db, user: CurrentUser) -> list[GradePublic]:
    """Every grade of a session, newest first."""
    return await db.run(_grades, session_id=session_id, user=user)


@router.post("/sessions/{session_id}/grade", include_in_schema=False)
def regrade_form(
    session_id: str,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    personas: Personas,
    rubric_id: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Grade again with another rubric from the report page (analytic) and show it."""
    session = _owned(db, session_id, user)
    rubric = _rubric(get_rubrics(request), rubric_id or None)
    stored = grade_session(
        db=db, session=session, persona=session_persona(personas, session), rubric=rubric
    )
    return RedirectResponse(
        f"/sessions/{session.id}/report?grade={stored.id}", status_code=status.HTTP_303_SEE_OTHER
    )


@router.get("/sessions/{session_id}/report", response_class=HTMLResponse, include_in_schema=False)
def report_page(
    session_id: str,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    personas: Personas,
    grade: int | None = None,
) -> Response:
    """The graded session: scores, evidence in the transcript, feedback, what was missed."""
    session = visible_session(db=db, user=user, session_id=session_id, action="read")
    if needs_reflection(db=db, user=user, session=session):
        # The student's own view comes first: their ratings are set beside the grade.
        return RedirectResponse(f"/sessions/{session.id}/reflect",
                                status_code=status.HTTP_303_SEE_OTHER)
    persona = session_persona(personas, session)
    client_name = persona.client.name if persona else "The client"
    about = {"session": session, "persona": persona_summary(persona) if persona else None,
             "client_name": client_name}
    if not analysis_visible(db=db, user=user, session=session):
        # Ending a session lands here: a held grade is a page that says when feedback comes,
        # never an error.
        return render(request, "report_held.html",
                      {**about, "title": f"Session with {client_name} ended",
                       "message": HELD_MESSAGE,
                       "next_session": next_proposal(db=db, session=session, persona=persona)
                       if persona is not None and session.owner_id == user.id else None})
    rubrics = get_rubrics(request)
    all_grades = list_grades(db=db, session_id=session.id)
    if grade is not None:
        chosen = next((g for g in all_grades if g.id == grade), None)
        if chosen is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"No grade {grade} for this session.")
    else:
        chosen = latest_grade(db=db, session_id=session.id)
    if chosen is None:
        if session.status == "active":
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                "This session is still going. End it to see your report.",
            )
        # Ended before grading was wired in, or the grade failed: grade it now (offline).
        chosen = grade_session(
            db=db, session=session, persona=persona, rubric=pick_rubric(rubrics, None)
        )
        all_grades = [chosen, *all_grades]
    public = grade_public(chosen)
    turns = practice.session_turns(db=db, session_id=session.id)
    return render(
        request,
        "report.html",
        {
            **about,
            "title": f"Report: session with {client_name}",
            "grade": public,
            "rubric": rubrics.get(public.rubric_id),
            "rubrics": list(rubrics.values()),
            "criteria": criterion_views(public, rubrics.get(public.rubric_id)),
            "turns": turn_views(turns, public),
            "curve": trust_curve(turns, persona),
            "missed": missed_layers(turns, persona),
            "other_grades": [grade_public(g) for g in all_grades if g.id != chosen.id],
            "tn": TurnNumbers.of(turns),
            "debrief": debrief(turns=turns, persona=persona) if session.status == "ended"
            else None,
            "next_session": next_proposal(db=db, session=session, persona=persona)
            if persona is not None and session.owner_id == user.id else None,
            "views": self_rating_rows(
                db=db, session=session, rubric=rubrics.get(public.rubric_id), grade=public,
                released=released_review(db=db, session_id=session.id) is not None,
            ),
        },
    )


def install_grading(app: FastAPI, *, settings: Settings | None = None) -> None:
    """Load the rubric library (failing fast if it is invalid) and add the grading routes.

    Safe to call twice (tests call it on apps that may already have it): the routes are added
    once.
    """
    shared = services_of(app)
    settings = settings or shared.settings
    shared.library.rubric_shelf = rubric_shelf(settings.rubrics_dir)
    if "grading" not in shared.installed:
        app.include_router(router)
        shared.installed.add("grading")
