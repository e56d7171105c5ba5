"""The trainers' page: the persona and rubric libraries, checking a YAML file, saving it.

A trainer (or admin) uploads or pastes a persona or rubric file. It is checked with the same
loader as `rapport personas validate` (`rapport rubrics validate`) and every problem is shown
as `line N: field: message` beside the text, which is kept. A valid file shows a preview (the
card as students see it; for a persona the disclosure ladder and boundary tests) and can be
saved: written atomically as `<id>.yaml` into the library folder (an existing id only when the
new `version` is higher), recorded in the audit log, and reloaded at once in this worker and
within a second in the others (app.library).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from yaml.nodes import MappingNode, ScalarNode

from app.analysis import ContextTurn
from app.audit import actor_of, record
from app.client.selftest import selftest
from app.config import Settings
from app.library import Library, Shelf
from app.models import User
from app.persona import MAX_FILE_BYTES, Persona, PersonaProblem, validate_paths
from app.rubric import Rubric, validate_rubric_paths
from app.web.api import persona_summary
from app.web.deps import DbSession, TrainerUser
from app.web.pages import render
from app.yamldoc import compose

__all__ = ["MAX_BODY_BYTES", "Draft", "check_text", "router"]

router = APIRouter(include_in_schema=False)

Kind = Literal["persona", "rubric"]
KINDS: dict[str, str] = {"persona": "Persona", "rubric": "Rubric"}
# A form may carry a pasted text and an uploaded file of the maximum size, plus the fields.
MAX_BODY_BYTES = 2 * MAX_FILE_BYTES + 64 * 1024
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

    @property
    def replaceable(self) -> bool:
        """Whether Save would be accepted (a new id, or a higher version of an existing one)."""
        if self.item is None:
            return False
        return self.current_version is None or self.item.version > self.current_version


# ---- checking ---------------------------------------------------------------------------------


def _declared_id(text: str) -> str | None:
    """The top-level `id:` of a YAML text, if it is a safe file name; never builds objects."""
    # The library's own bounded parse (app.yamldoc): a YAML bomb costs no more here.
    root, _, _ = compose(Path("draft.yaml"), text)
    if not isinstance(root, MappingNode):
        return None
    for key, value in root.value:
        if isinstance(key, ScalarNode) and key.value == "id" and isinstance(value, ScalarNode):
            return value.value if _SLUG.match(value.value) else None
    return None


def _problem_line(problem: PersonaProblem) -> str:
    return f"line {problem.line}: {problem.field}: {problem.message}"


def check_text(kind: Kind, text: str) -> tuple[Persona | Rubric | None, list[str]]:
    """Validate a persona or rubric text as the validate command would check its file."""
    data = text.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        return None, [f"line 1: -: the file is too large ({len(data) // 1024} KiB; "
                      f"a {kind} may be at most {MAX_FILE_BYTES // 1024} KiB)"]
    ident = _declared_id(text)
    validate = validate_paths if kind == "persona" else validate_rubric_paths
    with tempfile.TemporaryDirectory(prefix="rapport-check-") as folder:
        # The loader insists that the id equals the file name: name the file after the id.
        path = Path(folder) / f"{ident or kind}.yaml"
        path.write_bytes(data)
        items, problems = validate([path])
    if ident is None:
        # With no usable id there is no file name to match; the id's own problem is listed.
        problems = [p for p in problems if not (p.field == "id" and "file name" in p.message)]
    if problems or not items:
        return None, [_problem_line(p) for p in problems] or ["line 1: -: nothing to check"]
    return items[0], []


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
    return request.app.state.library


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


# ---- saving -------------------------------------------------------------------------------------


def _write_atomically(target: Path, text: str) -> None:
    """Write the file beside its target and rename it over: readers see old or new, never half."""
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _target(shelf: Shelf, item_id: str) -> Path:
    # An existing `<id>.yml` is replaced in place, so the folder never holds the id twice.
    yml = shelf.folder / f"{item_id}.yml"
    yaml_file = shelf.folder / f"{item_id}.yaml"
    return yml if yml.is_file() and not yaml_file.exists() else yaml_file


def _refusal(draft: Draft) -> str:
    item = draft.item
    assert item is not None
    return (
        f"Not saved: the library already has {draft.kind} '{item.id}' at version "
        f"{draft.current_version}, and this file is version {item.version}. To replace it, "
        f"raise 'version:' to {(draft.current_version or 0) + 1} or more; to add a new "
        f"{draft.kind}, give it a new id."
    )


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


def _page(
    request: Request, *, draft: Draft | None = None, saved: str = "", status_code: int = 200,
    said: list[str] | None = None,
) -> HTMLResponse:
    library = _library(request)
    preview: dict[str, Any] = {}
    if draft is not None and isinstance(draft.item, Persona):
        persona = draft.item
        preview = {
            "card": persona_summary(persona), **_ladder(persona),
            "selftest": _selftest_view(persona),
            "opening": persona.style.opening_line,
            "drive": _test_drive(persona, said or []),
            "said": json.dumps(said or []),
        }
    return render(
        request,
        "trainer.html",
        {
            "title": "Personas and rubrics",
            "personas": list(library.personas().values()),
            "rubrics": list(library.rubrics().values()),
            "kinds": KINDS,
            "draft": draft,
            "preview": preview,
            "saved": saved,
            "max_kib": MAX_FILE_BYTES // 1024,
            "stale": {kind: library.shelf(kind).problems for kind in KINDS
                      if library.shelf(kind).problems},
        },
        status_code=status_code,
    )


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


@router.post("/trainer/test-drive", response_class=HTMLResponse)
def test_drive(
    request: Request,
    user: TrainerUser,
    text: Annotated[str, Form()] = "",
    said: Annotated[str, Form()] = "[]",
    message: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Chat with a persona that is not saved yet: the conversation replays from the messages."""
    draft = _draft(request, "persona", text, None)
    try:
        earlier = [str(m) for m in json.loads(said)][:MAX_DRIVE_TURNS]
    except (ValueError, TypeError):
        earlier = []
    settings: Settings = request.app.state.settings
    message = message.strip()[: settings.max_turn_chars]
    if message and len(earlier) < MAX_DRIVE_TURNS:
        earlier.append(message)
    return _page(request, draft=draft, said=earlier,
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
    """Check the file again and, if it is valid and new (or a higher version), save it."""
    checked = _kind(kind)
    draft = _draft(request, checked, text, _read_upload(upload))
    if draft.item is None:
        return _page(request, draft=draft, status_code=422)
    shelf = _library(request).shelf(checked)
    # Another worker may have saved this id in the last second: look at the folder now.
    current = shelf.reload().get(draft.item.id)
    draft.current_version = current.version if current is not None else None
    if not draft.replaceable:
        draft.refused = _refusal(draft)
        return _page(request, draft=draft, status_code=status.HTTP_409_CONFLICT)
    _save(db=db, user=user, shelf=shelf, draft=draft)
    return RedirectResponse(f"/trainer?saved={draft.item.id}",
                            status_code=status.HTTP_303_SEE_OTHER)


def _save(*, db: Session, user: User, shelf: Shelf, draft: Draft) -> None:
    item = draft.item
    assert item is not None
    target = _target(shelf, item.id)
    _write_atomically(target, draft.text)
    record(
        db=db,
        actor=actor_of(user),
        action=f"{draft.kind}.save",
        target=item.id,
        details={
            "version": item.version,
            "previous_version": draft.current_version,
            "file": target.name,
            "sha256": hashlib.sha256(draft.text.encode("utf-8")).hexdigest(),
        },
    )
    db.commit()
    shelf.reload()


def _download(shelf: Shelf, item_id: str) -> Response:
    path = shelf.path_of(item_id)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No {shelf.noun} with id '{item_id}'.")
    return Response(
        path.read_bytes(),
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{path.name}"',
                 "Cache-Control": "no-store"},
    )


@router.get("/trainer/personas/{persona_id}.yaml")
def download_persona(request: Request, persona_id: str, user: TrainerUser) -> Response:
    """A persona's YAML file as it is in the library folder."""
    return _download(_library(request).shelf("persona"), persona_id)


@router.get("/trainer/rubrics/{rubric_id}.yaml")
def download_rubric(request: Request, rubric_id: str, user: TrainerUser) -> Response:
    """A rubric's YAML file as it is in the library folder."""
    return _download(_library(request).shelf("rubric"), rubric_id)
