"""Drafts and the published history of personas and rubrics, kept in the database.

The shipped YAML files in the library folders are each item's base version. A trainer's save
is a draft row (`number` None) that only trainers see. Publishing numbers it; a rollback or a
retirement adds a numbered row of its own, so the history only ever grows and every step says
who took it, when, and (against the step before it) what changed. Workers read the published
state from the database on each request (one small count query tells them whether it moved),
so a publish through one worker is live on every worker at once.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select
from yaml.nodes import MappingNode, ScalarNode

from app.audit import Actor, record
from app.models import LibraryVersion, utcnow
from app.persona import MAX_FILE_BYTES, Persona, PersonaProblem, validate_paths
from app.rubric import Rubric, validate_rubric_paths
from app.yamldoc import compose

__all__ = [
    "GENERATION_SQL",
    "Kind",
    "Step",
    "VersionError",
    "check_problems",
    "check_text",
    "draft_of",
    "generation",
    "history",
    "latest_steps",
    "publish",
    "retire",
    "rollback",
    "save_draft",
]

Kind = Literal["persona", "rubric"]
_SLUG = re.compile(r"^[a-z][a-z0-9_-]*$")
MAX_NOTE = 500
# Attempts at numbering a step while other writers number steps of the same item.
_NUMBER_TRIES = 5


class VersionError(ValueError):
    """A publish, rollback or retire that cannot be done; the message says why."""


# ---- checking a text ----------------------------------------------------------------------------


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


def check_problems(kind: Kind, text: str) -> tuple[Persona | Rubric | None, list[PersonaProblem]]:
    """Validate a persona or rubric text as the validate command would: the item or its problems."""
    data = text.encode("utf-8")
    draft = Path(f"draft-{kind}.yaml")
    if len(data) > MAX_FILE_BYTES:
        return None, [PersonaProblem(draft, 1, "-", f"the file is too large ({len(data) // 1024} "
                                     f"KiB; a {kind} may be at most {MAX_FILE_BYTES // 1024} KiB)")]
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
        return None, problems or [PersonaProblem(draft, 1, "-", "nothing to check")]
    return items[0], []


def check_text(kind: Kind, text: str) -> tuple[Persona | Rubric | None, list[str]]:
    """Validate a persona or rubric text; each problem as `line N: field: message`."""
    item, problems = check_problems(kind, text)
    return item, [_problem_line(p) for p in problems]


# ---- reading ------------------------------------------------------------------------------------


# `generation` as plain SQL, for the check every request makes (app.library).
GENERATION_SQL = "SELECT count(id) FROM library_versions WHERE number IS NOT NULL"


def generation(*, db: Session) -> int:
    """How many published steps there are: it changes whenever what the library serves does."""
    query = select(func.count(col(LibraryVersion.id))).where(
        col(LibraryVersion.number).is_not(None))
    return int(db.exec(query).one())


def latest_steps(*, db: Session, kind: Kind) -> dict[str, LibraryVersion]:
    """Item id -> its highest-numbered (current) step, for every item with one."""
    rows = db.exec(
        select(LibraryVersion)
        .where(LibraryVersion.kind == kind, col(LibraryVersion.number).is_not(None))
        .order_by(col(LibraryVersion.item_id), col(LibraryVersion.number))
    ).all()
    return {row.item_id: row for row in rows}


def draft_of(*, db: Session, kind: Kind, item_id: str) -> LibraryVersion | None:
    """The item's unpublished draft, if a trainer has saved one."""
    return db.exec(
        select(LibraryVersion).where(
            LibraryVersion.kind == kind, LibraryVersion.item_id == item_id,
            col(LibraryVersion.number).is_(None),
        ).order_by(col(LibraryVersion.id).desc())
    ).first()


@dataclass
class Step:
    """One published step as the history page shows it, with its diff against the one before."""

    row: LibraryVersion
    diff: list[str]


def _diff(before: str, after: str, *, before_name: str, after_name: str) -> list[str]:
    return list(difflib.unified_diff(before.splitlines(), after.splitlines(),
                                     fromfile=before_name, tofile=after_name, lineterm="", n=2))


def history(*, db: Session, kind: Kind, item_id: str, base_text: str | None) -> list[Step]:
    """Every published step of an item, newest first, each with its diff to the step before."""
    rows = db.exec(
        select(LibraryVersion).where(
            LibraryVersion.kind == kind, LibraryVersion.item_id == item_id,
            col(LibraryVersion.number).is_not(None),
        ).order_by(col(LibraryVersion.number))
    ).all()
    steps = []
    before, name = (base_text or ""), ("shipped file" if base_text is not None else "nothing")
    for row in rows:
        steps.append(Step(row=row, diff=_diff(before, row.text, before_name=name,
                                              after_name=f"version {row.number}")))
        before, name = row.text, f"version {row.number}"
    return list(reversed(steps))


# ---- changing -----------------------------------------------------------------------------------


def save_draft(
    *, db: Session, actor: Actor, kind: Kind, item: Persona | Rubric, text: str
) -> LibraryVersion:
    """Keep a checked text as the item's draft (replacing an earlier unpublished one); audited."""
    draft = draft_of(db=db, kind=kind, item_id=item.id)
    if draft is None:
        draft = LibraryVersion(kind=kind, item_id=item.id, text=text, author=actor.label)
    draft.text = text
    draft.yaml_version = item.version
    draft.title = item.title[:300]
    draft.author_id, draft.author = actor.user_id, actor.label
    draft.created_at = utcnow()
    db.add(draft)
    db.flush()
    record(db=db, actor=actor, action=f"{kind}.draft", target=item.id,
           details={"draft": draft.id, "version": item.version})
    db.commit()
    db.refresh(draft)
    return draft


def _note(note: str) -> str:
    return " ".join(note.split())[:MAX_NOTE]


def publish(
    *, db: Session, actor: Actor, kind: Kind, item_id: str, note: str = "",
    draft_id: int | None = None,
) -> LibraryVersion:
    """Make the item's draft the live version, numbered next in its history; audited.

    Idempotent: when several requests publish one draft at once (a double click, two tabs,
    two workers), every one answers with the single version made, numbered and audited once.
    `draft_id` names the draft the request means; a request naming a draft that is already
    published gets that version back, however late it arrives.
    """
    draft = draft_of(db=db, kind=kind, item_id=item_id)
    if draft_id is not None and (draft is None or draft.id != draft_id):
        # Read after the draft query, so a publish that draft_of no longer saw is seen here.
        named = db.get(LibraryVersion, draft_id, populate_existing=True)
        if (named is not None and named.kind == kind and named.item_id == item_id
                and named.number is not None and named.action == "publish"):
            return named
        if draft is not None:
            raise VersionError(f"The draft of {kind} '{item_id}' is not the one this page "
                               "showed: reload the page and try again.")
    if draft is None:
        raise VersionError(f"There is no draft of {kind} '{item_id}' to publish: save one first.")
    draft_id, drafted_by = draft.id, draft.author

    def attempt() -> LibraryVersion | None:
        # One conditional UPDATE claims the draft: of several concurrent publishes exactly one
        # changes the row, since `number IS NULL` no longer holds once the first commits.
        # The publisher is who put it live; the draft's author may have been someone else.
        claimed = db.exec(  # type: ignore[call-overload]
            update(LibraryVersion)
            .where(col(LibraryVersion.id) == draft_id, col(LibraryVersion.number).is_(None))
            .values(number=_next_number(kind=kind, item_id=item_id), action="publish",
                    note=_note(note), published_at=utcnow(), author_id=actor.user_id,
                    author=actor.label)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            return None
        done = db.get(LibraryVersion, draft_id, populate_existing=True)
        assert done is not None
        record(db=db, actor=actor, action=f"{kind}.publish", target=item_id,
               details={"number": done.number, "version": done.yaml_version,
                        "drafted_by": drafted_by})
        return done

    done = _numbered(db=db, kind=kind, item_id=item_id, attempt=attempt)
    if done is None:
        # Someone else published (or replaced) this very draft a moment ago.
        done = db.get(LibraryVersion, draft_id, populate_existing=True)
        if done is None or done.number is None or done.action != "publish":
            raise VersionError(f"The draft of {kind} '{item_id}' changed while it was being "
                               "published: reload the page and try again.")
    return done


def _next_number(*, kind: Kind, item_id: str) -> Any:
    """The item's next step number, as a subquery evaluated inside the writing statement."""
    return (select(func.coalesce(func.max(LibraryVersion.number), 0) + 1)
            .where(LibraryVersion.kind == kind, LibraryVersion.item_id == item_id)
            .scalar_subquery())


def _numbered(
    *, db: Session, kind: Kind, item_id: str, attempt: Callable[[], LibraryVersion | None]
) -> LibraryVersion | None:
    """Run and commit `attempt`, which numbers a step of the item; what it returned.

    The number is taken inside the statement that writes it, so SQLite (one writer at a time)
    never repeats one. On PostgreSQL two writers numbering steps of one item at once (a publish
    and a rollback) can still compute the same number: the unique index refuses the second,
    which is rolled back and run again, and takes the number after.
    """
    for _ in range(_NUMBER_TRIES):
        try:
            step = attempt()
            db.commit()
        except IntegrityError:
            db.rollback()
            continue
        if step is not None:
            db.refresh(step)
        return step
    raise VersionError(f"{kind.title()} '{item_id}' is being changed by someone else right now: "
                       "try again in a moment.")


def _note(note: str) -> str:
    return " ".join(note.split())[:MAX_NOTE]


def _add_step(*, db: Session, actor: Actor, kind: Kind, item_id: str, action: str, text: str,
              yaml_version: int, title: str, note: str, details: dict[str, Any]
              ) -> LibraryVersion:
    """Add a numbered step (a rollback or a retirement) and its audit entry; committed."""

    def attempt() -> LibraryVersion:
        now = utcnow()
        step = LibraryVersion(
            kind=kind, item_id=item_id, action=action, text=text, yaml_version=yaml_version,
            title=title, note=_note(note), author_id=actor.user_id, author=actor.label,
            created_at=now, published_at=now,
        )
        step.number = _next_number(kind=kind, item_id=item_id)
        db.add(step)
        db.flush()
        db.refresh(step)
        record(db=db, actor=actor, action=f"{kind}.{action}", target=item_id,
               details={"number": step.number, **details})
        return step

    step = _numbered(db=db, kind=kind, item_id=item_id, attempt=attempt)
    assert step is not None
    return step


def rollback(
    *, db: Session, actor: Actor, kind: Kind, item_id: str, to: int,
    base: tuple[str, Persona | Rubric] | None, note: str = "",
) -> LibraryVersion:
    """Publish an earlier version's text again as a new step (0: the shipped file); audited."""
    if to == 0:
        if base is None:
            raise VersionError(f"{kind.title()} '{item_id}' has no shipped file to go back to.")
        text, item = base
        yaml_version, title = item.version, item.title
    else:
        old = db.exec(select(LibraryVersion).where(
            LibraryVersion.kind == kind, LibraryVersion.item_id == item_id,
            LibraryVersion.number == to)).first()
        if old is None or old.action == "retire":
            raise VersionError(f"{kind.title()} '{item_id}' has no published version {to}.")
        text, yaml_version, title = old.text, old.yaml_version, old.title
    step = _add_step(db=db, actor=actor, kind=kind, item_id=item_id, action="rollback", text=text,
                     yaml_version=yaml_version, title=title,
                     note=note or f"back to {'the shipped file' if to == 0 else f'version {to}'}",
                     details={"to": to})
    return step


def retire(
    *, db: Session, actor: Actor, kind: Kind, item_id: str, live_text: str, item: Persona | Rubric,
    note: str = "",
) -> LibraryVersion:
    """Hide an item from the library; its text stays, so sessions with it still open; audited."""
    current = latest_steps(db=db, kind=kind).get(item_id)
    if current is not None and current.action == "retire":
        raise VersionError(f"{kind.title()} '{item_id}' is already retired.")
    step = _add_step(db=db, actor=actor, kind=kind, item_id=item_id, action="retire",
                     text=live_text, yaml_version=item.version, title=item.title,
                     note=note or "retired", details={})
    return step
