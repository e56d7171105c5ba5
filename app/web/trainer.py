"""The trainers' page: the persona and rubric libraries, checking a YAML file, saving it.

A trainer (or admin) uploads or pastes a persona or rubric file. It is checked with the same
loader as `rapport personas validate` (`rapport rubrics validate`) and every problem is shown
as `line N: field: message` beside the text, which is kept. A valid file shows a preview (the
card as students see it; for a persona the disclosure ladder and boundary tests) and can be
saved: written atomically as `<id>.yaml` into the library folder (an existing id only when the
new `version` is higher), recorded in the audit log, and reloaded at once in this worker and
within a second in the others (app.library).

The page's YAML editor (frontend/static/yaml-editor.js) asks the same check while a trainer
types (`POST /trainer/check.json`) and completes fields from the JSON Schema the models
publish (`GET /trainer/schemas/<kind>.json`).
"""

from __future__ import annotations

import json
import random
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, delete, select

from app import library_versions as versions
from app.analysis import ContextTurn
from app.audit import actor_of, record
from app.client.selftest import selftest
from app.config import Settings
from app.input_checks import InputProblem, load_json
from app.library import Library, Shelf
from app.library_versions import Kind, check_problems, check_text
from app.models import LibraryVersion, TestDrive, utcnow
from app.persona import MAX_FILE_BYTES, Persona, persona_json_schema
from app.persona.card import CardError, card_from_persona, persona_text_from_card
from app.persona.card_png import card_json_from_png, is_png, png_with_card
from app.rubric import Rubric, rubric_json_schema
from app.services import services
from app.web.api import persona_summary
from app.web.deps import DbSession, TrainerUser
from app.web.pages import render

__all__ = ["CARD_IMPORT_PATH", "MAX_BODY_BYTES", "MAX_CARD_BODY_BYTES", "Draft", "check_text",
           "router"]

router = APIRouter(include_in_schema=False)

KINDS: dict[str, str] = {"persona": "Persona", "rubric": "Rubric"}
# A form may carry a pasted text and an uploaded file of the maximum size, plus the fields.
MAX_BODY_BYTES = 2 * MAX_FILE_BYTES + 64 * 1024
# Cards usually travel as PNG pictures, often a few MB; only their text chunk is read.
MAX_CARD_PNG_BYTES = 8 * 1024 * 1024
CARD_IMPORT_PATH = "/trainer/cards/import"
MAX_CARD_BODY_BYTES = MAX_CARD_PNG_BYTES + MAX_BODY_BYTES
_SLUG = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass
class Draft:
    """A file a trainer submitted, and what checking it found."""

    kind: str
    text: str
    problems: list[str] = field(default_factory=list)
    item: Persona | Rubric | None = None
    current_version: int | None = None  # of the same id in the library, if there is one
    refused: str = ""  # why Save was refused (the text is still shown)


# ---- checking ---------------------------------------------------------------------------------


def _submitted(text: str, raw: bytes | None) -> tuple[str, list[str]]:
    """The text to check: an uploaded file's (when one was chosen) or the pasted one."""
    if raw:
        if len(raw) > MAX_FILE_BYTES:
            return raw[:MAX_FILE_BYTES].decode("utf-8", "replace"), [
                f"line 1: -: the file is too large ({len(raw) // 1024} KiB; "
                f"a file may be at most {MAX_FILE_BYTES // 1024} KiB)"]
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            return raw.decode("utf-8", "replace"), [
                f"line {line}: -: the file is not UTF-8 text (save it as UTF-8)"]
    # Browsers send a textarea's line breaks as CRLF; files keep plain newlines.
    return text.replace("\r\n", "\n"), []


def _read_upload(upload: UploadFile | None) -> bytes | None:
    if upload is None or not upload.filename:
        return None
    return upload.file.read(MAX_FILE_BYTES + 1)


def _library(request: Request) -> Library:
    return services(request).library


def _draft(request: Request, kind: Kind, text: str, raw: bytes | None) -> Draft:
    text, problems = _submitted(text, raw)
    draft = Draft(kind=kind, text=text, problems=problems)
    if problems:
        return draft
    if not text.strip():
        draft.problems = ["line 1: -: the file is empty: paste a YAML file or choose one"]
        return draft
    draft.item, draft.problems = check_text(kind, text)
    if draft.item is not None:
        current = _library(request).shelf(kind).get().get(draft.item.id)
        draft.current_version = current.version if current is not None else None
    return draft


# ---- pages --------------------------------------------------------------------------------------


def _ladder(persona: Persona) -> dict[str, Any]:
    return {
        "layers": [
            {"id": d.id, "title": d.label, "min_trust": d.min_trust, "min_turn": d.min_turn,
             "risk": d.risk, "says": d.says}
            for d in persona.disclosures
        ],
        "boundaries": [
            {"id": b.id, "title": b.label, "kind": b.kind, "at_turn": b.at_turn, "says": b.says}
            for b in persona.boundary_tests
        ],
        "facts": len(persona.facts),
    }


def _selftest_view(persona: Persona) -> dict[str, Any]:
    """The self-test of a persona as the preview shows it: one row per script, a verdict."""
    report = selftest(persona)
    titles = {d.id: d.label for d in persona.disclosures}
    runs = []
    for run in report.runs:
        trust = run.session.trust
        points = " ".join(f"{4 + i * 8},{44 - t * 4:.1f}" for i, t in enumerate(trust))
        runs.append({
            "id": run.script.id, "quality": run.script.quality, "register": run.script.register,
            "start": persona.trust.initial, "final": run.final, "points": points,
            "unlocks": [(titles[layer], turn) for layer, turn in run.unlocks.items()],
            "repeats": run.repeats, "asked": len(run.asked),
            "unanswered": len(run.unanswered()),
        })
    return {"passed": report.passed, "problems": report.problems, "runs": runs}


# The test-drive replays the whole conversation from the student's messages each time: it
# keeps nothing on the server, and it plays exactly as a student's session would.
_DRIVE_SEED = 11
MAX_DRIVE_TURNS = 40


def _test_drive(persona: Persona, said: list[str]) -> list[dict[str, Any]]:
    """The client's side of a test-drive: each student message with the reply and its state."""
    from app.client.scripted import compose
    from app.client.state import initial_state
    from app.client.turn import take_turn

    history: list[ContextTurn] = [ContextTurn("client", persona.style.opening_line)]
    state = initial_state(persona)
    exchanges = []
    for text in said[:MAX_DRIVE_TURNS]:
        step = take_turn(persona=persona, state=state, history=history, student_text=text,
                         seed=_DRIVE_SEED)
        rng = random.Random(f"{_DRIVE_SEED}:{step.plan.turn}:voice")
        reply = compose(persona, step.plan, rng=rng)
        exchanges.append({"student": text, "reply": reply, "codes": list(step.analysis.codes),
                          "trust": step.plan.trust_after, "kind": step.plan.kind,
                          "disclosed": step.plan.disclose})
        history += [ContextTurn("counsellor", text), ContextTurn("client", reply)]
        state = step.state
    return exchanges


def _drive_grade(
    request: Request, persona: Persona, exchanges: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The offline grade of a test-drive conversation, as a student would get on ending it."""
    from app.grading.analytic import grade_analytic
    from app.grading.inputs import input_from_transcript
    from app.grading.service import default_rubric
    from app.transcripts import Transcript

    if not exchanges:
        return None
    turns = [{"speaker": "client", "text": persona.style.opening_line}]
    for x in exchanges:
        turns += [{"speaker": "counsellor", "text": x["student"]},
                  {"speaker": "client", "text": x["reply"]}]
    transcript = Transcript.model_validate({"id": "test-drive", "persona_id": persona.id,
                                            "turns": turns})
    rubric = default_rubric(_library(request).rubrics())
    result = grade_analytic(input_from_transcript(transcript, persona=persona), rubric)
    return {"rubric": rubric.title, "overall": result.overall, "status": result.status,
            "criteria": [(c.title or c.id, c.score) for c in result.criteria]}


def _page(
    request: Request, *, draft: Draft | None = None, saved: str = "", status_code: int = 200,
    said: list[str] | None = None, ended: bool = False, gaps: list[str] | None = None,
    card_error: str = "", card_text: str = "",
) -> HTMLResponse:
    library = _library(request)
    preview: dict[str, Any] = {}
    if draft is not None and isinstance(draft.item, Persona):
        persona = draft.item
        drive = _test_drive(persona, said or [])
        preview = {
            "card": persona_summary(persona), **_ladder(persona),
            "selftest": _selftest_view(persona),
            "opening": persona.style.opening_line,
            "drive": drive,
            "said": json.dumps(said or []),
            "grade": _drive_grade(request, persona, drive) if ended else None,
        }
    return render(
        request,
        "trainer.html",
        {
            "title": "Personas and rubrics",
            "personas": list(library.personas().values()),
            "rubrics": list(library.rubrics().values()),
            "unlisted": _unlisted(request),
            "kinds": KINDS,
            "draft": draft,
            "preview": preview,
            "saved": saved,
            "gaps": gaps,
            "card_error": card_error,
            "card_text": card_text,
            "max_kib": MAX_FILE_BYTES // 1024,
            "stale": {kind: library.shelf(kind).problems for kind in KINDS
                      if library.shelf(kind).problems},
        },
        status_code=status_code,
        editor=True,
    )


def _unlisted(request: Request) -> list[dict[str, Any]]:
    """Drafts (of new and existing items) and retired items: what students do not see."""
    with Session(services(request).db_engine) as db:
        rows = db.exec(select(LibraryVersion).where(
            col(LibraryVersion.number).is_(None)).order_by(col(LibraryVersion.item_id))).all()
        found = [{"kind": r.kind, "item_id": r.item_id, "title": r.title, "state": "draft",
                  "author": r.author, "when": r.created_at} for r in rows]
        for kind in KINDS:
            for item_id, step in versions.latest_steps(db=db, kind=kind).items():  # type: ignore[arg-type]
                if step.action == "retire":
                    found.append({"kind": kind, "item_id": item_id, "title": step.title,
                                  "state": "retired", "author": step.author,
                                  "when": step.published_at})
    return found


def _kind(value: str) -> Kind:
    if value not in KINDS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "Choose what the file is: a persona or a rubric.")
    return value  # type: ignore[return-value]


@router.get("/trainer", response_class=HTMLResponse)
def trainer_page(request: Request, user: TrainerUser, saved: str = "") -> HTMLResponse:
    """The persona and rubric libraries, and a form to check and add a YAML file."""
    shown = saved if _SLUG.match(saved) else ""
    return _page(request, saved=shown)


@router.post("/trainer/check", response_class=HTMLResponse)
def check_file(
    request: Request,
    user: TrainerUser,
    kind: Annotated[str, Form()] = "persona",
    text: Annotated[str, Form()] = "",
    upload: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """Check a pasted or uploaded file: its problems by line, or a preview and Save."""
    draft = _draft(request, _kind(kind), text, _read_upload(upload))
    return _page(request, draft=draft, status_code=422 if draft.problems else 200)


# An ended test-drive is kept this long, so its grade page can be reloaded or bookmarked.
DRIVE_KEPT = timedelta(days=1)


@router.post("/trainer/test-drive", response_class=HTMLResponse)
def test_drive(
    request: Request,
    db: DbSession,
    user: TrainerUser,
    text: Annotated[str, Form()] = "",
    said: Annotated[str, Form()] = "[]",
    message: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
) -> Response:
    """Chat with an unpublished persona (replayed from the messages); End grades the chat.

    End keeps the conversation and answers 303 to its grade page, so reloading that page
    shows the grade again instead of sending the form a second time.
    """
    draft = _draft(request, "persona", text, None)
    try:
        earlier = [str(m) for m in json.loads(said)][:MAX_DRIVE_TURNS]
    except (ValueError, TypeError):
        earlier = []
    settings: Settings = services(request).settings
    message = message.strip()[: settings.max_turn_chars]
    if message and len(earlier) < MAX_DRIVE_TURNS:
        earlier.append(message)
    if end and draft.item is not None and earlier:
        db.exec(delete(TestDrive).where(col(TestDrive.created_at) < utcnow() - DRIVE_KEPT))
        kept = TestDrive(id=secrets.token_hex(16), author_id=user.id, text=draft.text,
                         said=earlier)
        db.add(kept)
        db.commit()
        # The fragment scrolls the grade into view on arrival (and on every reload).
        return RedirectResponse(f"/trainer/test-drive/{kept.id}#drive-grade",
                                status_code=status.HTTP_303_SEE_OTHER)
    return _page(request, draft=draft, said=earlier, ended=bool(end),
                 status_code=422 if draft.problems else 200)


@router.get("/trainer/test-drive/{drive_id}", response_class=HTMLResponse)
def test_drive_grade(
    request: Request, drive_id: str, db: DbSession, user: TrainerUser
) -> HTMLResponse:
    """An ended test-drive and its grade, replayed: safe to reload (only its trainer sees it)."""
    kept = db.get(TestDrive, drive_id[:32])
    if kept is None or kept.author_id != user.id or kept.created_at < utcnow() - DRIVE_KEPT:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            "No such test-drive (they are kept for a day): start it again.")
    draft = _draft(request, "persona", kept.text, None)
    return _page(request, draft=draft, said=list(kept.said), ended=True,
                 status_code=422 if draft.problems else 200)


@router.post("/trainer/save")
def save_file(
    request: Request,
    db: DbSession,
    user: TrainerUser,
    kind: Annotated[str, Form()] = "persona",
    text: Annotated[str, Form()] = "",
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Check the file again and, if it is valid, keep it as a draft (students do not see it)."""
    checked = _kind(kind)
    draft = _draft(request, checked, text, _read_upload(upload))
    if draft.item is None:
        return _page(request, draft=draft, status_code=422)
    versions.save_draft(db=db, actor=actor_of(user), kind=checked, item=draft.item,
                        text=draft.text)
    return RedirectResponse(f"/trainer/library/{checked}/{draft.item.id}?saved=1",
                            status_code=status.HTTP_303_SEE_OTHER)


# ---- one item: its draft, history, publish, roll back, retire -----------------------------------


def _base(shelf: Shelf, item_id: str) -> tuple[str, Any] | None:
    """The shipped file of an item (its text and parsed item), if the folder has one."""
    path = shelf.path_of(item_id)
    if path is None:
        return None
    return path.read_text(encoding="utf-8"), shelf.get()[item_id]


def _live_text(request: Request, db: Session, kind: Kind, item_id: str) -> str | None:
    """The text students are served for an item now (None if it is not served)."""
    step = versions.latest_steps(db=db, kind=kind).get(item_id)
    if step is not None:
        return None if step.action == "retire" else step.text
    base = _base(_library(request).shelf(kind), item_id)
    return base[0] if base is not None else None


def _item_or_404(request: Request, db: Session, kind: Kind, item_id: str) -> dict[str, Any]:
    shelf = _library(request).shelf(kind)
    base = _base(shelf, item_id)
    step = versions.latest_steps(db=db, kind=kind).get(item_id)
    draft = versions.draft_of(db=db, kind=kind, item_id=item_id)
    if base is None and step is None and draft is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No {kind} with id '{item_id}'.")
    return {"base": base, "step": step, "draft": draft}


def _item_status(found: dict[str, Any]) -> str:
    step = found["step"]
    if step is None:
        return "shipped file" if found["base"] is not None else "draft only, never published"
    if step.action == "retire":
        return f"retired (version {step.number})"
    return f"version {step.number}"


@router.get("/trainer/library/{kind}/{item_id}", response_class=HTMLResponse)
def item_page(
    request: Request, kind: str, item_id: str, db: DbSession, user: TrainerUser, saved: str = ""
) -> HTMLResponse:
    """One persona or rubric: what students get now, the draft, and every published version."""
    checked = _kind(kind)
    found = _item_or_404(request, db, checked, item_id)
    base = found["base"]
    steps = versions.history(db=db, kind=checked, item_id=item_id,
                             base_text=base[0] if base else None)
    return render(request, "trainer_item.html", {
        "title": f"{KINDS[checked]} {item_id}", "kind": checked, "noun": KINDS[checked],
        "item_id": item_id, "status": _item_status(found), "draft": found["draft"],
        "steps": steps, "has_base": base is not None, "saved": saved == "1",
        "retired": found["step"] is not None and found["step"].action == "retire",
        "notice": request.query_params.get("done", "")[:40],
    })


_APP = Path(__file__).resolve().parent.parent
# A starting file of each kind that validates as written (tests/test_editor.py checks both).
TEMPLATES: dict[str, Path] = {
    "persona": _APP / "persona" / "templates" / "new-persona.yaml",
    "rubric": _APP / "rubric" / "templates" / "new-rubric.yaml",
}


@router.get("/trainer/new", response_class=HTMLResponse)
def new_item(request: Request, user: TrainerUser, kind: str = "persona") -> HTMLResponse:
    """The editor with a new-persona (or, with kind=rubric, new-rubric) template that validates."""
    checked = _kind(kind)
    return _page(request, draft=_draft(request, checked, TEMPLATES[checked].read_text("utf-8"),
                                       None))


@router.get("/trainer/library/{kind}/{item_id}/edit", response_class=HTMLResponse)
def edit_item(
    request: Request, kind: str, item_id: str, db: DbSession, user: TrainerUser
) -> HTMLResponse:
    """The editor with the item's draft (or, without one, its live text), checked."""
    checked = _kind(kind)
    found = _item_or_404(request, db, checked, item_id)
    text = found["draft"].text if found["draft"] is not None else (
        _live_text(request, db, checked, item_id) or "")
    draft = _draft(request, checked, text, None)
    return _page(request, draft=draft, status_code=200)


def _back(kind: str, item_id: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/trainer/library/{kind}/{item_id}?done={done}",
                            status_code=status.HTTP_303_SEE_OTHER)


def _refused(exc: versions.VersionError) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


@router.post("/trainer/library/{kind}/{item_id}/publish")
def publish_item(
    request: Request, kind: str, item_id: str, db: DbSession, user: TrainerUser,
    note: Annotated[str, Form()] = "", draft: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Make the draft live for every student and worker; earlier sessions keep theirs.

    The form names the draft it publishes, so sending it twice (a double click, a second tab)
    answers both times with the one version it made.
    """
    checked = _kind(kind)
    _item_or_404(request, db, checked, item_id)
    try:
        versions.publish(db=db, actor=actor_of(user), kind=checked, item_id=item_id, note=note,
                         draft_id=int(draft) if draft.isdigit() and len(draft) < 10 else None)
    except versions.VersionError as exc:
        raise _refused(exc) from exc
    return _back(checked, item_id, "published")


@router.post("/trainer/library/{kind}/{item_id}/rollback")
def rollback_item(
    request: Request, kind: str, item_id: str, db: DbSession, user: TrainerUser,
    number: Annotated[int, Form(ge=0)] = 0, note: Annotated[str, Form()] = "",
) -> Response:
    """Publish an earlier version again, as a new version (0: the shipped file)."""
    checked = _kind(kind)
    found = _item_or_404(request, db, checked, item_id)
    try:
        versions.rollback(db=db, actor=actor_of(user), kind=checked, item_id=item_id, to=number,
                          base=found["base"], note=note)
    except versions.VersionError as exc:
        raise _refused(exc) from exc
    return _back(checked, item_id, "rolled-back")


@router.post("/trainer/library/{kind}/{item_id}/retire")
def retire_item(
    request: Request, kind: str, item_id: str, db: DbSession, user: TrainerUser,
    note: Annotated[str, Form()] = "",
) -> Response:
    """Take an item out of the library; sessions that used it still open."""
    checked = _kind(kind)
    _item_or_404(request, db, checked, item_id)
    text = _live_text(request, db, checked, item_id)
    if text is None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"{KINDS[checked]} '{item_id}' is not in the library now.")
    item, _ = versions.check_text(checked, text)
    if item is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "The live text no longer loads.")
    try:
        versions.retire(db=db, actor=actor_of(user), kind=checked, item_id=item_id,
                        live_text=text, item=item, note=note)
    except versions.VersionError as exc:
        raise _refused(exc) from exc
    return _back(checked, item_id, "retired")


def _download(request: Request, db: Session, kind: Kind, item_id: str) -> Response:
    """The text students are served now: the published version, else the shipped file."""
    shelf = _library(request).shelf(kind)
    path = shelf.path_of(item_id)
    step = versions.latest_steps(db=db, kind=kind).get(item_id)
    if step is not None and step.action != "retire":
        body, name = step.text.encode("utf-8"), f"{item_id}.yaml"
    elif step is None and path is not None:
        body, name = path.read_bytes(), path.name
    else:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No {shelf.noun} with id '{item_id}'.")
    return Response(
        body,
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"',
                 "Cache-Control": "no-store"},
    )


@router.get("/trainer/personas/{persona_id}.yaml")
def download_persona(
    request: Request, persona_id: str, db: DbSession, user: TrainerUser
) -> Response:
    """A persona's YAML as students get it now."""
    return _download(request, db, "persona", persona_id)


def _live_persona(request: Request, persona_id: str) -> Persona:
    persona = _library(request).personas().get(persona_id)
    if persona is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No persona with id '{persona_id}'.")
    return persona


@router.get("/trainer/personas/{persona_id}.card.json")
def download_card(
    request: Request, persona_id: str, db: DbSession, user: TrainerUser
) -> Response:
    """A persona as students get it now, as a Character Card V3 (our fields in extensions)."""
    persona = _live_persona(request, persona_id)
    body = json.dumps(card_from_persona(persona), ensure_ascii=False, indent=2)
    return Response(
        body.encode("utf-8"), media_type="application/json; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{persona_id}.card.json"',
                 "Cache-Control": "no-store"},
    )


@router.get("/trainer/personas/{persona_id}.card.png")
def download_card_png(
    request: Request, persona_id: str, db: DbSession, user: TrainerUser
) -> Response:
    """The same Character Card V3 inside a PNG picture, as role-play tools pass cards around."""
    persona = _live_persona(request, persona_id)
    return Response(
        png_with_card(card_from_persona(persona)), media_type="image/png",
        headers={"Content-Disposition": f'attachment; filename="{persona_id}.card.png"',
                 "Cache-Control": "no-store"},
    )


def _card_bytes(upload: UploadFile | None, text: str) -> bytes:
    """The card's JSON from an uploaded JSON or PNG file, else from the pasted text."""
    if upload is None or not upload.filename:
        raw = text.encode("utf-8")
    else:
        raw = upload.file.read(MAX_CARD_PNG_BYTES + 1)
        if is_png(raw):
            if len(raw) > MAX_CARD_PNG_BYTES:
                raise CardError(f"the picture is larger than {MAX_CARD_PNG_BYTES // 2**20} MiB")
            raw = card_json_from_png(raw)
    if len(raw) > MAX_FILE_BYTES:
        raise CardError(f"the card is larger than {MAX_FILE_BYTES // 1024} KiB")
    return raw


@router.post(CARD_IMPORT_PATH, response_class=HTMLResponse)
def import_card(
    request: Request,
    db: DbSession,
    user: TrainerUser,
    text: Annotated[str, Form()] = "",
    upload: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """Read a Character Card (V3 or V2; JSON or PNG) into a persona draft, listing what a
    trainer must add."""
    try:
        card = load_json(_card_bytes(upload, text), where="card")
        yaml_text, gaps = persona_text_from_card(card)
    except (InputProblem, CardError, ValueError) as exc:
        # A pasted card stays in its box, so a stray comma costs one edit, not a re-paste.
        kept = text if upload is None or not upload.filename else ""
        return _page(request, card_error=f"Not imported: {exc}.", card_text=kept,
                     status_code=422)
    draft = _draft(request, "persona", yaml_text, None)
    if draft.item is None:
        # Keep the text in the editor with its problems, so the trainer can finish it.
        return _page(request, draft=draft, gaps=gaps, status_code=422)
    versions.save_draft(db=db, actor=actor_of(user), kind="persona", item=draft.item,
                        text=draft.text)
    record(db=db, actor=actor_of(user), action="persona.import_card", target=draft.item.id,
           details={"gaps": len(gaps), "lossless": not gaps})
    db.commit()
    return _page(request, draft=draft, gaps=gaps)


@router.get("/trainer/rubrics/{rubric_id}.yaml")
def download_rubric(
    request: Request, rubric_id: str, db: DbSession, user: TrainerUser
) -> Response:
    """A rubric's YAML as students get it now."""
    return _download(request, db, "rubric", rubric_id)


# ---- what the editor asks while a trainer types -------------------------------------------------


class EditorCheck(BaseModel):
    """The editor's text, checked as Check would check it."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    text: str


class EditorProblem(BaseModel):
    """One problem on one line (1-based), as the Check page lists it."""

    line: int
    field: str
    message: str


class EditorVerdict(BaseModel):
    """Whether the text is a valid file, its id if so, and every problem by line."""

    valid: bool
    id: str | None
    problems: list[EditorProblem]


@router.post("/trainer/check.json")
def check_for_editor(body: EditorCheck, user: TrainerUser) -> EditorVerdict:
    """Check the editor's text with the library's own loader: the same problems as Check."""
    text = body.text.replace("\r\n", "\n")
    if not text.strip():
        return EditorVerdict(valid=False, id=None, problems=[EditorProblem(
            line=1, field="-", message="the file is empty: start from a template or paste one")])
    item, problems = check_problems(body.kind, text)
    return EditorVerdict(
        valid=item is not None, id=item.id if item is not None else None,
        problems=[EditorProblem(line=p.line, field=p.field, message=p.message)
                  for p in problems])


_SCHEMAS = {"persona": persona_json_schema, "rubric": rubric_json_schema}


@router.get("/trainer/schemas/{kind}.json")
def editor_schema(kind: str, user: TrainerUser) -> JSONResponse:
    """The JSON Schema of a persona or rubric file: what the editor completes from."""
    checked = _kind(kind)
    return JSONResponse(_SCHEMAS[checked](), headers={"Cache-Control": "no-cache"})
