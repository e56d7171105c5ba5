"""The assessor's desk: the queue, marking a session, release, agreement and the cohort CSV."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.audit import actor_of
from app.auth.policy import reviewable_cohort_ids, visible_session
from app.cohorts import get_cohort, list_cohorts
from app.exports.assemble import cohort_rows
from app.exports.cohort_csv import grades_csv
from app.grading.records import grade_public
from app.library import rubrics_of, session_persona
from app.models import User
from app.persona import Persona
from app.practice import session_turns
from app.review.agreement import agreement_rows, score_pairs
from app.review.marking import (
    MarkingError,
    ReviewView,
    add_note,
    amend_review,
    desk_view,
    release_review,
    review_grade,
    save_review,
)
from app.review.queue import QUEUE_STATUSES, QueueFilters, desk_queue
from app.review.schemas import AmendIn, MarkIn, NoteIn, ReviewIn
from app.rubric import Rubric
from app.services import services_of
from app.web.api import persona_summary
from app.web.deps import AssessorUser, Database, Db, DbSession, Personas
from app.web.pages import render
from app.web.responses import COMMON, errors

__all__ = ["install_desk", "router"]

router = APIRouter(responses=COMMON)


def _rubrics(request: Request) -> dict[str, Rubric]:
    return rubrics_of(request)


def _marking_error(exc: MarkingError) -> HTTPException:
    return HTTPException(exc.status_code, str(exc))


# ---- data shared by the page and the JSON API ---------------------------------------------


def _context(
    *, db: Session, session_id: str, viewer: User, personas: dict, rubrics: dict[str, Rubric]
) -> dict:
    """Everything about one session the viewing assessor may see."""
    session = visible_session(db=db, user=viewer, session_id=session_id, action="review")
    persona = session_persona(personas, session)
    grade = review_grade(db=db, session=session, persona=persona, rubrics=rubrics)
    return {
        "session": session,
        "persona": persona,
        "grade": grade,
        "rubric": rubrics.get(grade.rubric_id) if grade else None,
        "view": desk_view(db=db, session=session, grade=grade, viewer=viewer),
        "turns": session_turns(db=db, session_id=session.id),
        "student": db.get(User, session.owner_id),
    }


def _review_json(view: ReviewView | None) -> dict | None:
    if view is None:
        return None
    r = view.review
    return {
        "id": r.id,
        "kind": r.kind,
        "status": r.status,
        "assessor": view.assessor.name if view.assessor else None,
        "comment": r.comment,
        "overall": view.overall,
        "marks": [
            {"criterion": m.criterion_id, "decision": m.decision, "auto_score": m.auto_score,
             "score": m.score, "reason": m.reason}
            for m in view.marks.values()
        ],
        "notes": [{"id": n.id, "turn": n.turn_index, "text": n.text} for n in view.notes],
        "released_at": r.released_at,
        "version": view.version,
        "amendments": [_amendment_json(a) for a in view.amendments],
    }


def _amendment_json(amendment) -> dict:
    return {"version": amendment.number, "author": amendment.author, "reason": amendment.reason,
            "changes": amendment.changes, "comment_before": amendment.comment_before,
            "comment_after": amendment.comment_after, "created_at": amendment.created_at}


def _context_json(ctx: dict) -> dict:
    view = ctx["view"]
    student = ctx["student"]
    return {
        "session": {
            "id": ctx["session"].id,
            "persona_id": ctx["session"].persona_id,
            "status": ctx["session"].status,
            "student": {"id": student.id, "name": student.name, "email": student.email},
            "turns": [{"index": t.index, "speaker": t.speaker, "text": t.text, "codes": t.codes}
                      for t in ctx["turns"]],
        },
        "grade": grade_public(ctx["grade"]).model_dump(mode="json") if ctx["grade"] else None,
        "my_review": _review_json(view.mine),
        "other_reviews": [_review_json(v) for v in view.others],
        "blind": view.blind,
        "second_marking": view.second_marking,
        "can_mark": view.can_mark,
        "can_release": view.can_release,
        "can_amend": view.can_amend,
        "waiting_for": view.waiting_for,
        "disagreements": [
            {"criterion": d.criterion, "first": d.first, "second": d.second}
            for d in view.disagreements
        ],
    }


def _graded_context(*, db: Session, session_id: str, viewer: User, personas: dict,
                    rubrics: dict[str, Rubric]) -> dict:
    """The desk context of a session that has a grade to review; 409 otherwise."""
    ctx = _context(db=db, session_id=session_id, viewer=viewer, personas=personas,
                   rubrics=rubrics)
    if ctx["grade"] is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "This session has no grade to review yet.")
    return ctx


def _save(*, db: Session, session_id: str, viewer: User, personas: dict,
          rubrics: dict[str, Rubric], body: ReviewIn) -> None:
    ctx = _graded_context(db=db, session_id=session_id, viewer=viewer, personas=personas,
                          rubrics=rubrics)
    try:
        save_review(db=db, session=ctx["session"], grade=ctx["grade"], rubric=ctx["rubric"],
                    assessor=viewer, body=body, actor=actor_of(viewer))
    except MarkingError as exc:
        raise _marking_error(exc) from exc


def _amend(*, db: Session, session_id: str, viewer: User, personas: dict,
           rubrics: dict[str, Rubric], body: AmendIn) -> None:
    ctx = _graded_context(db=db, session_id=session_id, viewer=viewer, personas=personas,
                          rubrics=rubrics)
    try:
        amend_review(db=db, session=ctx["session"], grade=ctx["grade"], rubric=ctx["rubric"],
                     assessor=viewer, body=body, actor=actor_of(viewer))
    except MarkingError as exc:
        raise _marking_error(exc) from exc


def _note(*, db: Session, session_id: str, viewer: User, personas: dict,
          rubrics: dict[str, Rubric], body: NoteIn) -> dict:
    ctx = _graded_context(db=db, session_id=session_id, viewer=viewer, personas=personas,
                          rubrics=rubrics)
    try:
        note = add_note(db=db, session=ctx["session"], grade=ctx["grade"], assessor=viewer,
                        turn=body.turn, text=body.text)
    except MarkingError as exc:
        raise _marking_error(exc) from exc
    return {"id": note.id, "turn": note.turn_index, "text": note.text}


def _release(*, db: Session, session_id: str, viewer: User, personas: dict,
             rubrics: dict[str, Rubric]) -> dict:
    ctx = _graded_context(db=db, session_id=session_id, viewer=viewer, personas=personas,
                          rubrics=rubrics)
    try:
        review = release_review(db=db, session=ctx["session"], grade=ctx["grade"],
                                releaser=viewer, actor=actor_of(viewer))
    except MarkingError as exc:
        raise _marking_error(exc) from exc
    return {"id": ctx["session"].id, "status": review.status, "released_at": review.released_at}


def _filters(cohort: int | None, persona: str | None, student: str | None, status_: str | None,
             date_from: date | None, date_to: date | None) -> QueueFilters:
    if status_ and status_ not in QUEUE_STATUSES:
        raise HTTPException(422, f"status: one of {', '.join(QUEUE_STATUSES)}.")
    return QueueFilters(cohort_id=cohort, persona_id=persona or None, student=student or None,
                        status=status_ or None, date_from=date_from, date_to=date_to)


def _persona_title(personas: dict, session) -> str:
    persona = session_persona(personas, session)
    return persona.title if persona is not None else session.persona_id


def _queue_json(rows, personas: dict) -> list[dict]:
    return [
        {
            "session_id": r.session.id,
            "student": {"id": r.student.id, "name": r.student.name, "email": r.student.email},
            "cohorts": r.cohorts,
            "persona_id": r.session.persona_id,
            "persona_title": _persona_title(personas, r.session),
            "started_at": r.session.created_at,
            "ended_at": r.session.ended_at,
            "status": r.status,
            "auto_overall": r.grade.overall if r.grade else None,
            "rubric_id": r.grade.rubric_id if r.grade else None,
            "markers": r.markers,
        }
        for r in rows
    ]


def _own_cohort(db: Session, viewer: User, cohort_id: int):
    allowed = reviewable_cohort_ids(db=db, user=viewer)
    cohort = get_cohort(db=db, cohort_id=cohort_id)
    if cohort is None or (allowed is not None and cohort_id not in allowed):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No cohort with id {cohort_id}.")
    return cohort


def _agreement(*, db: Session, viewer: User, cohort_id: int, rubric: Rubric) -> dict:
    cohort = _own_cohort(db, viewer, cohort_id)
    pairs = score_pairs(db=db, cohort_id=cohort_id, rubric_id=rubric.id)
    rows = agreement_rows(pairs, order=[c.id for c in rubric.criteria],
                          low=rubric.scale.min, high=rubric.scale.max)
    return {"cohort": cohort, "rows": rows}


# ---- JSON API ---------------------------------------------------------------------------

DateQuery = Annotated[date | None, Query()]


@router.get("/api/desk/queue", tags=["desk"])
async def api_queue(
    db: Db,
    user: AssessorUser,
    personas: Personas,
    cohort: int | None = None,
    persona: str | None = None,
    student: str | None = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
    date_from: DateQuery = None,
    date_to: DateQuery = None,
) -> list[dict]:
    """Ended sessions of your cohorts, most urgent first; filter by cohort, persona, student,
    status and date."""
    filters = _filters(cohort, persona, student, status_, date_from, date_to)
    return _queue_json(await db.run(desk_queue, viewer=user, filters=filters), personas)


@router.get("/api/desk/sessions/{session_id}", tags=["desk"])
async def api_desk_session(
    session_id: str, request: Request, db: Db, user: AssessorUser, personas: Personas
) -> dict:
    """A session as its assessor sees it: transcript, auto-grade, reviews (blind where set)."""
    ctx = await db.run(_context, session_id=session_id, viewer=user, personas=personas,
                       rubrics=_rubrics(request))
    return _context_json(ctx)


@router.put("/api/desk/sessions/{session_id}/review", tags=["desk"], responses=errors(409))
async def api_save_review(
    session_id: str, body: ReviewIn, request: Request, db: Db, user: AssessorUser,
    personas: Personas,
) -> dict:
    """Accept or override criteria (an override needs a score and a reason); submit when done."""
    return await _write_then_view(_save, session_id=session_id, request=request, db=db,
                                  user=user, personas=personas, body=body)


@router.post("/api/desk/sessions/{session_id}/notes", tags=["desk"], responses=errors(409),
             status_code=201)
async def api_add_note(
    session_id: str, body: NoteIn, request: Request, db: Db, user: AssessorUser,
    personas: Personas,
) -> dict:
    """A note on one turn (the student sees it when the review is released)."""
    return await db.run(_note, session_id=session_id, viewer=user, personas=personas,
                        rubrics=_rubrics(request), body=body)


@router.post("/api/desk/sessions/{session_id}/release", tags=["desk"], responses=errors(409))
async def api_release(
    session_id: str, request: Request, db: Db, user: AssessorUser, personas: Personas
) -> dict:
    """Release the first marker's review to the student (later changes are amendments)."""
    return await db.run(_release, session_id=session_id, viewer=user, personas=personas,
                        rubrics=_rubrics(request))


@router.post("/api/desk/sessions/{session_id}/amend", tags=["desk"],
             responses=errors(403, 409, 422))
async def api_amend(
    session_id: str, body: AmendIn, request: Request, db: Db, user: AssessorUser,
    personas: Personas,
) -> dict:
    """Amend a released marking: a new version with a required reason the student reads."""
    return await _write_then_view(_amend, session_id=session_id, request=request, db=db,
                                  user=user, personas=personas, body=body)


async def _write_then_view(
    write: Callable[..., object], *, session_id: str, request: Request, db: Database,
    user: User, personas: dict[str, Persona], body: object,
) -> dict:
    """Run a desk write, then answer with the session as the assessor now sees it."""
    await db.run(write, session_id=session_id, viewer=user, personas=personas,
                 rubrics=_rubrics(request), body=body)
    ctx = await db.run(_context, session_id=session_id, viewer=user, personas=personas,
                       rubrics=_rubrics(request))
    return _context_json(ctx)


def _rubric_or_404(request: Request, rubric_id: str | None) -> Rubric:
    rubrics = _rubrics(request)
    from app.grading.service import UnknownRubric, pick_rubric

    try:
        return pick_rubric(rubrics, rubric_id or None)
    except UnknownRubric as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.get("/api/desk/agreement", tags=["desk"])
async def api_agreement(
    request: Request, db: Db, user: AssessorUser, cohort: int, rubric: str | None = None
) -> dict:
    """Auto-grader versus released scores per criterion: MAD, weighted κ, ICC(2,1) and n."""
    chosen = _rubric_or_404(request, rubric)
    found = await db.run(_agreement, viewer=user, cohort_id=cohort, rubric=chosen)
    return {
        "cohort": {"id": found["cohort"].id, "name": found["cohort"].name},
        "rubric_id": chosen.id,
        "criteria": [
            {"criterion": r.criterion, "n": r.n, "mad": r.mad, "weighted_kappa": r.kappa,
             "icc": r.icc, "overridden": r.overridden}
            for r in found["rows"]
        ],
    }


# ---- pages ------------------------------------------------------------------------------


@router.get("/desk", response_class=HTMLResponse, include_in_schema=False)
def desk_page(
    request: Request,
    db: DbSession,
    user: AssessorUser,
    personas: Personas,
    cohort: str | None = None,
    persona: str | None = None,
    student: str | None = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> HTMLResponse:
    """The marking queue, most urgent first, with filters."""

    def day(value: str | None) -> date | None:
        try:
            return date.fromisoformat(value) if value else None
        except ValueError as exc:
            raise HTTPException(422, f"'{value}' is not a date (YYYY-MM-DD).") from exc

    cohort_id = int(cohort) if cohort and cohort.isdigit() else None
    filters = _filters(cohort_id, persona, student, status_, day(date_from), day(date_to))
    allowed = reviewable_cohort_ids(db=db, user=user)
    rows = desk_queue(db=db, viewer=user, filters=filters)
    return render(
        request,
        "desk.html",
        {
            "title": "Assessor's desk",
            "rows": rows,
            # The version each session was held with names it, even if retired since.
            "titles": {r.session.id: _persona_title(personas, r.session) for r in rows},
            "cohorts": list_cohorts(db=db, ids=allowed),
            "personas": list(personas.values()),
            "statuses": QUEUE_STATUSES,
            "filters": filters,
            "rubrics": list(_rubrics(request).values()),
        },
    )


def _desk_page(request: Request, ctx: dict, *, error: str = "", status_code: int = 200):
    grade = ctx["grade"]
    notes: dict[int, list] = {}
    view = ctx["view"]
    for source in ([view.mine] if view.mine else []) + view.others:
        for note in source.notes:
            notes.setdefault(note.turn_index, []).append((source, note))
    persona = ctx["persona"]
    released = next((v for v in ([view.mine] if view.mine else []) + view.others
                     if v.review.status == "released"), None)
    rubric = ctx["rubric"]
    return render(
        request,
        "desk_session.html",
        {
            "released_mine": released,
            "criterion_titles": {c.id: c.title for c in rubric.criteria} if rubric else {},
            "title": f"Marking: {ctx['student'].name}",
            **ctx,
            "persona_card": persona_summary(persona) if persona else None,
            "client_name": persona.client.name if persona else "Client",
            "public_grade": grade_public(grade) if grade else None,
            "notes": notes,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/desk/sessions/{session_id}", response_class=HTMLResponse, include_in_schema=False)
def desk_session_page(
    session_id: str, request: Request, db: DbSession, user: AssessorUser, personas: Personas
) -> HTMLResponse:
    """One session to mark: the transcript with notes, the auto-grade and the marking form."""
    ctx = _context(db=db, session_id=session_id, viewer=user, personas=personas,
                   rubrics=_rubrics(request))
    return _desk_page(request, ctx)


def _form_marks(form, grade) -> list[MarkIn]:
    marks: list[MarkIn] = []
    for c in grade.criteria:
        cid = c["id"]
        decision = form.get(f"decision__{cid}")
        if decision not in ("accept", "override"):
            continue
        raw = str(form.get(f"score__{cid}") or "").strip()
        try:
            score = float(raw) if raw else None
        except ValueError:
            score = None
        marks.append(MarkIn(criterion=cid, decision=decision, score=score,
                            reason=str(form.get(f"reason__{cid}") or "")[:2000]))
    return marks


@router.post("/desk/sessions/{session_id}/review", include_in_schema=False)
async def desk_review_form(
    session_id: str, request: Request, db: Db, user: AssessorUser, personas: Personas
) -> Response:
    """Save the marking form (draft), submit it, or save and release it."""
    form = await request.form()
    rubrics = _rubrics(request)
    ctx = await db.run(_graded_context, session_id=session_id, viewer=user, personas=personas,
                       rubrics=rubrics)
    action = form.get("action", "save")
    body = ReviewIn(marks=_form_marks(form, ctx["grade"]),
                    comment=str(form.get("comment") or "")[:5000],
                    submit=action in ("submit", "release"))
    try:
        await db.run(_save, session_id=session_id, viewer=user, personas=personas,
                     rubrics=rubrics, body=body)
        if action == "release":
            await db.run(_release, session_id=session_id, viewer=user, personas=personas,
                         rubrics=rubrics)
    except HTTPException as exc:
        if exc.status_code not in (403, 409, 422):
            raise
        ctx = await db.run(_context, session_id=session_id, viewer=user, personas=personas,
                           rubrics=rubrics)
        return _desk_page(request, ctx, error=str(exc.detail), status_code=exc.status_code)
    return RedirectResponse(f"/desk/sessions/{session_id}?saved={action}",
                            status_code=status.HTTP_303_SEE_OTHER)


@router.post("/desk/sessions/{session_id}/amend", include_in_schema=False)
async def desk_amend_form(
    session_id: str, request: Request, db: Db, user: AssessorUser, personas: Personas
) -> Response:
    """Amend the released marking from the desk page (a reason is required)."""
    form = await request.form()
    rubrics = _rubrics(request)
    ctx = await db.run(_graded_context, session_id=session_id, viewer=user, personas=personas,
                       rubrics=rubrics)
    body = AmendIn(marks=_form_marks(form, ctx["grade"]),
                   comment=str(form.get("comment") or "")[:5000],
                   reason=str(form.get("amend_reason") or "")[:2000])
    try:
        await db.run(_amend, session_id=session_id, viewer=user, personas=personas,
                     rubrics=rubrics, body=body)
    except HTTPException as exc:
        if exc.status_code not in (403, 409, 422):
            raise
        ctx = await db.run(_context, session_id=session_id, viewer=user, personas=personas,
                           rubrics=rubrics)
        return _desk_page(request, ctx, error=str(exc.detail), status_code=exc.status_code)
    return RedirectResponse(f"/desk/sessions/{session_id}?saved=amend",
                            status_code=status.HTTP_303_SEE_OTHER)


@router.post("/desk/sessions/{session_id}/notes", include_in_schema=False)
async def desk_note_form(
    session_id: str, request: Request, db: Db, user: AssessorUser, personas: Personas
) -> Response:
    """Add a note on a turn from the desk page."""
    form = await request.form()
    try:
        body = NoteIn(turn=int(str(form.get("turn", ""))), text=str(form.get("text") or " "))
    except ValueError as exc:
        raise HTTPException(422, "A note needs a turn and some text.") from exc
    rubrics = _rubrics(request)
    try:
        note = await db.run(_note, session_id=session_id, viewer=user, personas=personas,
                            rubrics=rubrics, body=body)
    except HTTPException as exc:
        if exc.status_code not in (409, 422):
            raise
        ctx = await db.run(_context, session_id=session_id, viewer=user, personas=personas,
                           rubrics=rubrics)
        return _desk_page(request, ctx, error=str(exc.detail), status_code=exc.status_code)
    return RedirectResponse(f"/desk/sessions/{session_id}#turn-{note['turn']}",
                            status_code=status.HTTP_303_SEE_OTHER)


@router.get("/desk/agreement", response_class=HTMLResponse, include_in_schema=False)
def agreement_page(
    request: Request,
    db: DbSession,
    user: AssessorUser,
    cohort: str | None = None,
    rubric: str | None = None,
) -> HTMLResponse:
    """Auto-grader versus released scores for a cohort and rubric."""
    cohorts = list_cohorts(db=db, ids=reviewable_cohort_ids(db=db, user=user))
    chosen = _rubric_or_404(request, rubric)
    cohort_id = int(cohort) if cohort and cohort.isdigit() else (cohorts[0].id if cohorts else None)
    found = (
        _agreement(db=db, viewer=user, cohort_id=cohort_id, rubric=chosen)
        if cohort_id is not None
        else None
    )
    return render(
        request,
        "agreement.html",
        {
            "title": "Agreement",
            "cohorts": cohorts,
            "rubrics": list(_rubrics(request).values()),
            "rubric": chosen,
            "titles": {c.id: c.title for c in chosen.criteria},
            "found": found,
        },
    )


@router.get("/desk/cohorts/{cohort_id}/grades.csv", include_in_schema=False)
def cohort_grades_csv(cohort_id: int, db: DbSession, user: AssessorUser) -> Response:
    """A cohort's ended sessions with auto and released scores, as CSV."""
    cohort = _own_cohort(db, user, cohort_id)
    rows, criteria = cohort_rows(db=db, cohort_id=cohort_id, viewer=user)
    filename = "".join(ch if ch.isalnum() else "-" for ch in cohort.name).strip("-") or "cohort"
    return Response(
        grades_csv(rows, criteria),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}-grades.csv"',
                 "Cache-Control": "no-store"},
    )


def install_desk(app: FastAPI) -> None:
    """Add the desk, progress, export and admin routes (and the grader they build on)."""
    from app.web import admin, exports, progress, trainer
    from app.web.grading import install_grading

    install_grading(app)
    installed = services_of(app).installed
    if "desk" in installed:
        return
    app.include_router(router)
    app.include_router(progress.router)
    app.include_router(exports.router)
    app.include_router(admin.router)
    app.include_router(trainer.router)
    installed.add("desk")
