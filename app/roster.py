"""A cohort's roster from a CSV file: checked row by row, then imported whole or not at all.

The file has a header row naming its columns: `email` and `name` are required, `role` is
optional (default student). An address that already has an account is not an error: that
person is added to the cohort with their account as it is.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app.audit import Actor, record
from app.auth.accounts import AccountError, normalise_email
from app.cohorts import cohort_ids_of
from app.models import ROLES, Cohort, CohortMember, User

__all__ = [
    "MAX_ROSTER_BYTES",
    "MAX_ROSTER_ROWS",
    "TOO_LARGE_HINT",
    "RosterError",
    "RosterRow",
    "RosterTooLarge",
    "import_roster",
    "read_roster",
]

MAX_ROSTER_ROWS = 2000
# Room for 2,000 rows of about 260 bytes (long names and addresses in any script).
MAX_ROSTER_BYTES = 512 * 1024
TOO_LARGE_HINT = (f"A roster may be at most {MAX_ROSTER_BYTES // 1024} KiB and "
                  f"{MAX_ROSTER_ROWS:,} people: split the file and import each part.")


class RosterError(ValueError):
    """The roster cannot be imported as it is; nothing was changed."""


class RosterTooLarge(RosterError):
    """The roster is over the size limit (answered 413)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"The file is too large ({size // 1024:,} KiB). {TOO_LARGE_HINT}")


@dataclass
class RosterRow:
    """One person in the file, with the line it is on and what is wrong with it."""

    line: int
    email: str
    name: str
    role: str
    existing: bool = False
    problems: list[str] = field(default_factory=list)


def _header(fields: list[str] | None) -> dict[str, int]:
    names = [f.strip().lower() for f in (fields or [])]
    missing = [c for c in ("email", "name") if c not in names]
    if missing:
        raise RosterError(
            "line 1: the first row must name the columns: email, name and (optional) role; "
            f"missing: {', '.join(missing)}.")
    return {name: i for i, name in enumerate(names)}


def read_roster(*, db: Session, text: str) -> list[RosterRow]:
    """Every row of a roster CSV with its problems (an empty list of problems: importable)."""
    size = len(text.encode("utf-8"))
    if size > MAX_ROSTER_BYTES:
        raise RosterTooLarge(size)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        columns = _header(next(reader, None))
        raw = list(reader)
    except csv.Error as exc:
        raise RosterError(f"This is not a CSV file the importer can read: {exc}.") from exc
    if len(raw) > MAX_ROSTER_ROWS:
        raise RosterError(f"At most {MAX_ROSTER_ROWS} people per file; this has {len(raw)}.")
    rows: list[RosterRow] = []
    seen: dict[str, int] = {}
    for number, cells in enumerate(raw, start=2):
        if not any(c.strip() for c in cells):
            continue  # a blank line

        def cell(name: str, cells: list[str] = cells) -> str:
            index = columns.get(name)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        row = RosterRow(line=number, email=cell("email"), name=cell("name"),
                        role=cell("role").lower() or "student")
        try:
            row.email = normalise_email(row.email)
        except AccountError as exc:
            row.problems.append(str(exc) if row.email else "the email is missing.")
        if not row.name:
            row.problems.append("the name is missing.")
        elif len(row.name) > 200:
            row.problems.append("the name is longer than 200 characters.")
        if row.role not in ROLES:
            row.problems.append(f"unknown role '{row.role}' (use one of: {', '.join(ROLES)}).")
        if row.email in seen:
            row.problems.append(f"the same email as line {seen[row.email]}.")
        elif row.email:
            seen[row.email] = number
        rows.append(row)
    if not rows:
        raise RosterError("The file has a header row but nobody in it.")
    emails = [r.email for r in rows if not r.problems]
    existing = set(db.exec(select(User.email).where(col(User.email).in_(emails))).all()
                   ) if emails else set()
    for row in rows:
        row.existing = row.email in existing
    return rows


def import_roster(*, db: Session, cohort: Cohort, text: str, actor: Actor) -> list[User]:
    """Create the new accounts and put everyone in the cohort, in one transaction; audited.

    Any problem in any row refuses the whole file (RosterError), so a half-imported cohort
    never exists. Returns the accounts created (they need set-password links).
    """
    rows = read_roster(db=db, text=text)
    bad = [r for r in rows if r.problems]
    if bad:
        raise RosterError(f"Nothing was imported: {len(bad)} row{'s' if len(bad) != 1 else ''} "
                          f"to fix (line{'s' if len(bad) != 1 else ''} "
                          f"{', '.join(str(r.line) for r in bad)}).")
    created: list[User] = []
    added = 0
    for row in rows:
        user = db.exec(select(User).where(User.email == row.email)).first()
        if user is None:
            user = User(email=row.email, name=row.name, role=row.role)
            db.add(user)
            db.flush()
            created.append(user)
            record(db=db, actor=actor, action="user.create", target=f"user:{user.id}",
                   details={"email": row.email, "role": row.role, "via": "roster import"})
        if cohort.id not in cohort_ids_of(db=db, user_id=user.id or 0):
            db.add(CohortMember(cohort_id=cohort.id or 0, user_id=user.id or 0))
            added += 1
    record(db=db, actor=actor, action="cohort.import", target=f"cohort:{cohort.id}",
           details={"name": cohort.name, "rows": len(rows), "created": len(created),
                    "added": added})
    db.commit()
    for user in created:
        db.refresh(user)
    return created
