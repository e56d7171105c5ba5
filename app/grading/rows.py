"""A session's turns as plain rows, read without the ORM, for grading a whole session."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session

from app.models import Turn

__all__ = ["TurnRow", "turn_rows"]


@dataclass(frozen=True, slots=True)
class TurnRow:
    """What the grader reads of a stored turn (the same names as app.models.Turn).

    `state` is read for the opening line only (the first row); it is None on the others.
    """

    index: int
    speaker: str
    text: str
    codes: list[str] | None
    empathy: dict[str, int] | None
    events: dict[str, Any] | None
    disclosed: str | None
    state: dict[str, Any] | None  # the opening's state carries a course's risk to follow up


_TABLE = Turn.__table__  # type: ignore[attr-defined]
# Building ORM objects costs several times the query for a long session (hundreds of turns,
# each with JSON columns), so the grader reads just these columns. Every client turn stores the
# whole client state (most of a session's JSON), and only the opening's is read: it is fetched
# on its own rather than decoded for every turn.
_ROWS = select(
    *(_TABLE.c[name] for name in TurnRow.__slots__ if name != "state")
).order_by(_TABLE.c["index"])
_OPENING_STATE = select(_TABLE.c.state).order_by(_TABLE.c["index"]).limit(1)


# On SQLite each JSON column arrives as text to be decoded on its own: for a long session
# that is hundreds of small json.loads calls, most of the read. SQLite's JSON functions hand
# the whole session back as one array instead, decoded in one call. (psycopg decodes JSON
# columns itself, so PostgreSQL keeps the plain query.)
_SQLITE_ROWS = text(
    'SELECT json_group_array(json_array("index", speaker, text, json(codes), json(empathy), '
    'json(events), disclosed)) FROM turns WHERE session_id = :session_id'
)


def turn_rows(*, db: Session, session_id: str) -> list[TurnRow]:
    """Every turn of a session, in order, as plain rows (state on the opening line only)."""
    connection = db.connection()
    if connection.dialect.name == "sqlite":
        packed = connection.execute(_SQLITE_ROWS, {"session_id": session_id}).scalar()
        # The aggregate's order is not guaranteed: sort by index here.
        rows = sorted((TurnRow(*row, None) for row in json.loads(packed or "[]")),
                      key=lambda row: row.index)
    else:
        result = connection.execute(_ROWS.where(_TABLE.c.session_id == session_id))
        rows = [TurnRow(*row, None) for row in result]
    if rows:
        state = connection.execute(
            _OPENING_STATE.where(_TABLE.c.session_id == session_id)
        ).scalar()
        rows[0] = replace(rows[0], state=state)
    return rows
