"""The student's turn read in plain SQL: one connection, a few indexed statements, plain rows.

Everything else in Rapport reads through the ORM; the turn is the one request every student
sends every few seconds, and loading thirty `Turn` objects (their JSON columns decoded, their
instrumented attributes set) cost ten times the query. Here the turn's context comes back as
small read-only rows with the attribute names the practice functions read (`speaker`, `text`,
`index`, `state`), so `practice.plan_student_turn`, `take_turn` and the analyzer run on them
unchanged. The rules of who may practise and see what stay in app.auth.policy and app.coach;
`read_turn` asks them through the same facts (tests/test_fast_path.py holds the two paths
to the same answers).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from app.auth.policy import grades_shown_at_once
from app.practice import TurnContext

__all__ = ["SessionRow", "TurnRead", "TurnRow", "read_turn", "statement"]


@dataclass(frozen=True, slots=True)
class SessionRow:
    """The columns of a practice session that a turn needs (a `PracticeSession` elsewhere)."""

    id: str
    owner_id: int
    persona_id: str
    persona_version: int
    persona_revision: int | None
    engine: str
    status: str
    seed: int
    coach: bool


@dataclass(frozen=True, slots=True)
class TurnRow:
    """One earlier turn as planning reads it: who spoke, what they said, the state it left."""

    index: int
    speaker: str
    text: str
    # As stored: decoded only when read (planning reads one client turn's state, not thirty).
    stored_state: object

    @property
    def state(self) -> dict[str, Any] | None:
        """The client state this turn left (client turns), decoded."""
        return _json(self.stored_state)


@dataclass(frozen=True, slots=True)
class TurnRead:
    """What one student turn reads before it is planned, or None fields when it must not go on."""

    context: TurnContext
    reveal: bool
    coached: bool


@cache
def statement(sql: str, paramstyle: str) -> str:
    """`sql` written with `?` placeholders, in the driver's own style (sqlite3: ?, psycopg: %s)."""
    return sql if paramstyle == "qmark" else sql.replace("?", "%s")


_SESSION = ("SELECT id, owner_id, persona_id, persona_version, persona_revision, engine, status, "
            "seed, coach FROM practice_sessions WHERE id = ?")
_COHORTS = ("SELECT c.auto_grades, c.coach_mode FROM cohort_members m "
            "JOIN cohorts c ON c.id = m.cohort_id WHERE m.user_id = ?")
_RELEASED = "SELECT 1 FROM reviews WHERE session_id = ? AND status = 'released' LIMIT 1"
_SENT = "SELECT 1 FROM turns WHERE session_id = ? AND client_message_id = ? LIMIT 1"
_RECENT = ('SELECT "index", speaker, text, state FROM turns WHERE session_id = ? '
           'ORDER BY "index" DESC LIMIT ?')


def _rows(conn: Connection, sql: str, params: tuple) -> list:
    # Straight to the driver's cursor: SQLAlchemy's result machinery (metadata, row objects)
    # cost more than these indexed SELECTs, and the rows are read by position anyway. Driver
    # errors still come out as SQLAlchemy's, so callers (app.web.deps) see one kind.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement(sql, conn.dialect.paramstyle), params)
        return cursor.fetchall()
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error,
                                  dialect=conn.dialect) from exc
    finally:
        cursor.close()


def _json(value: object) -> Any:
    # SQLite hands JSON columns back as text; psycopg has already decoded them.
    return json.loads(value) if isinstance(value, str) else value


def read_turn(
    *, conn: Connection, session_id: str, user_id: int | None, user_role: str,
    client_message_id: str | None, window: Callable[[str], int],
) -> TurnRead | None:
    """The session's last turns and what its owner may see, for a new student turn.

    `window(engine_name)` is how many turns to read for the session's engine.

    None when the session is not this user's to practise in (the caller answers 404, as for an
    unknown id) or when `client_message_id` repeats a saved turn: a repeat is answered from the
    ORM path (practice.load_turn_context), which reloads the saved turn whole.
    """
    found = _rows(conn, _SESSION, (session_id,))
    if not found or found[0][1] != user_id:
        return None
    raw = found[0]
    session = SessionRow(id=raw[0], owner_id=raw[1], persona_id=raw[2], persona_version=raw[3],
                         persona_revision=raw[4], engine=raw[5], status=raw[6], seed=raw[7],
                         coach=bool(raw[8]))
    # The turns first, the repeat check after: a copy of this message saved between the two
    # reads is then seen as a repeat, never as an earlier message still unanswered (409).
    recent = _rows(conn, _RECENT, (session_id, window(session.engine)))
    if client_message_id is not None and _rows(conn, _SENT, (session_id, client_message_id)):
        return None
    cohorts = _rows(conn, _COHORTS, (session.owner_id,))
    modes = {row[0] for row in cohorts}
    # app.auth.policy.analysis_visible for the session's owner, and app.coach.coaching_on.
    reveal = (user_role != "student" or not modes or grades_shown_at_once(modes)
              or bool(_rows(conn, _RELEASED, (session_id,))))
    coached = session.coach or any(bool(row[1]) for row in cohorts)
    turns = [TurnRow(index=r[0], speaker=r[1], text=r[2], stored_state=r[3])
             for r in reversed(recent)]
    context = TurnContext(session=session, turns=turns)  # type: ignore[arg-type]
    return TurnRead(context=context, reveal=reveal, coached=coached)
