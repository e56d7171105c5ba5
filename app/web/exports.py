"""Exports over HTTP: a session as PDF or interchange JSON; import a transcript to grade it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.auth.accounts import find_user
from app.auth.policy import analysis_visible, visible_session
from app.cohorts import shares_cohort
from app.exports.assemble import session_report
from app.exports.interchange import export_transcript, import_transcript
from app.exports.pdf import render_pdf
from app.grading.records import grade_public
from app.grading.service import UnknownRubric, grade_session, pick_rubric
from app.input_checks import InputProblem, load_json, text_problem
from app.library import rubrics_of
from app.models import User
from app.plaintext import parse_plain
from app.rubric import Rubric
from app.transcripts import Transcript
from app.web.deps import CurrentUser, Db, DbSession, Personas
from app.web.pages import render
from app.web.responses import COMMON, errors

__all__ = ["router"]

router = APIRouter(responses=COMMON)

IMPORT_HELP = (
    'A transcript object: {"id", "persona_id"?, "turns": [{"speaker": "counsellor"|"client", '
    '"text"}]}.'
)


@router.get("/sessions/{session_id}/export.pdf", include_in_schema=False)
def session_pdf(
    session_id: str, request: Request, db: DbSession, user: CurrentUser, personas: Personas
) -> Response:
    """The session's transcript and grade report as a PDF."""
    session = visible_session(db=db, user=user, session_id=session_id, action="read")
    report = session_report(db=db, session=session, viewer=user, personas=personas,
                            rubrics=rubrics_of(request))
    return Response(
        render_pdf(report),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="rapport-{session.id}.pdf"',
                 "Cache-Control": "no-store"},
    )


def _export(*, db: Session, session_id: str, user: User) -> dict:
    session = visible_session(db=db, user=user, session_id=session_id, action="read")
    return export_transcript(db=db, session=session)


@router.get("/api/sessions/{session_id}/export", tags=["sessions"])
async def session_json(session_id: str, db: Db, user: CurrentUser) -> dict:
    """The session in the transcript interchange format (rapport grade/analyze read it)."""
    return await db.run(_export, session_id=session_id, user=user)


def _owner_for(db: Session, user: User, student_email: str | None) -> User:
    """Who an import belongs to: yourself, or (assessors, admins) a student of your cohorts."""
    if not student_email:
        return user
    student = find_user(db=db, email=student_email)
    allowed = student is not None and (
        user.role == "admin"
        or (user.role == "assessor" and shares_cohort(db=db, user_id=user.id or 0,
                                                      other_id=student.id or 0))
    )
    if not allowed or student is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"No student '{student_email}' in your cohorts.")
    return student


def _import(*, db: Session, user: User, transcript: Transcript, rubric: Rubric,
            personas: dict, student_email: str | None) -> dict:
    owner = _owner_for(db, user, student_email)
    persona = personas.get(transcript.persona_id or "")
    session = import_transcript(db=db, transcript=transcript, owner_id=owner.id or 0,
                                persona=persona)
    grade = grade_session(db=db, session=session, persona=persona, rubric=rubric)
    show = analysis_visible(db=db, user=user, session=session)
    return {
        "session_id": session.id,
        "owner_id": owner.id,
        "grade": grade_public(grade).model_dump(mode="json") if show else None,
    }


def _rubric(request: Request, rubric_id: str | None) -> Rubric:
    try:
        return pick_rubric(rubrics_of(request), rubric_id or None)
    except UnknownRubric as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post("/api/import", tags=["sessions"], status_code=201, responses=errors(409))
async def api_import(
    transcript: Transcript,
    request: Request,
    db: Db,
    user: CurrentUser,
    personas: Personas,
    rubric_id: str | None = None,
    student_email: str | None = None,
) -> dict:
    """Store a transcript held elsewhere as an ended session and grade it (analytic)."""
    rubric = _rubric(request, rubric_id)
    return await db.run(_import, user=user, transcript=transcript, rubric=rubric,
                        personas=personas, student_email=student_email)


def _import_page(request: Request, user: User, personas: dict, *, error: str = "",
                 status_code: int = 200, **extra: object) -> HTMLResponse:
    context = {"title": "Import a transcript", "error": error, "help": IMPORT_HELP, "me": user,
               "rubrics": list(rubrics_of(request).values()),
               "personas": list(personas.values()), "text": "", "turns": [], "problems": [],
               "chosen": {}}
    return render(request, "import.html", {**context, **extra}, status_code=status_code)


@router.get("/import", response_class=HTMLResponse, include_in_schema=False)
def import_page(request: Request, user: CurrentUser, personas: Personas) -> HTMLResponse:
    """Upload a transcript JSON, or paste a plain-text one, to grade it."""
    return _import_page(request, user, personas)


@router.post("/import", include_in_schema=False)
async def import_form(
    request: Request,
    db: Db,
    user: CurrentUser,
    personas: Personas,
    transcript: Annotated[UploadFile | None, File()] = None,
    rubric_id: Annotated[str, Form()] = "",
    student_email: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    persona_id: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
) -> Response:
    """Import an uploaded JSON or a pasted plain-text transcript (previewed first), grade it
    and open its report (or its desk page)."""
    chosen = {"rubric_id": rubric_id, "student_email": student_email, "persona_id": persona_id}

    def refuse(message: str, **extra: object) -> Response:
        return _import_page(request, user, personas, error=message, status_code=422,
                            chosen=chosen, **extra)

    for name, value in (("rubric_id", rubric_id), ("student_email", student_email),
                        ("persona_id", persona_id), ("text", text)):
        problem = text_problem(value)
        if problem:
            return refuse(f"{name}: {problem}.")
    if transcript is not None and transcript.filename:
        raw = await transcript.read()
        try:
            parsed = Transcript.model_validate(load_json(raw, where="transcript"))
        except InputProblem as exc:
            return refuse(f"That file cannot be imported: {exc}.")
        except (UnicodeDecodeError, ValueError, ValidationError) as exc:
            return refuse(
                f"That file is not a transcript: {str(exc).splitlines()[0]} {IMPORT_HELP}")
    elif text.strip():
        if persona_id and persona_id not in personas:
            return refuse(f"persona_id: no persona with id '{persona_id}'.", text=text)
        turns, problems = parse_plain(text)
        if problems or action != "grade":
            return _import_page(
                request, user, personas, text=text, turns=turns, problems=problems,
                chosen=chosen, status_code=422 if problems else 200,
                error="Nothing was imported: fix the lines below." if problems else "")
        parsed = Transcript.model_validate({
            "id": "pasted", "persona_id": persona_id or None,
            "turns": [{"speaker": t.speaker, "text": t.text} for t in turns]})
    else:
        return refuse("Choose a transcript file, or paste a plain-text transcript.")
    result = await db.run(_import, user=user, transcript=parsed,
                          rubric=_rubric(request, rubric_id), personas=personas,
                          student_email=student_email or None)
    sid = result["session_id"]
    target = f"/sessions/{sid}/report" if result["owner_id"] == user.id else f"/desk/sessions/{sid}"
    if result["grade"] is None:
        target = f"/sessions/{sid}/transcript"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
