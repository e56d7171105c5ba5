"""Discard and End of one session at the same moment (two tabs), against a real two-worker server.

Either the discard wins (the session is gone, End answers 404 or 409) or End does (the session
is ended and kept, Discard answers 409); never a 5xx, never both.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.accounts import LINES, PASSWORD, PERSONA, accounts_server
from tests.support import ServerProcess, at_once

pytestmark = pytest.mark.slow

STUDENT = "ana@example.org"
ROUNDS = 6


@pytest.fixture
def server(server_env: dict[str, str]) -> Iterator[ServerProcess]:
    people = ((STUDENT, "student"),)
    with accounts_server(server_env, people, workers=2, auto_grades="immediate") as process:
        yield process


def _state(db_url: str, sid: str) -> tuple[str | None, int]:
    """The session's status (None: gone) and how many discards of it the audit log holds."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            status = conn.execute(text("SELECT status FROM practice_sessions WHERE id = :id"),
                                  {"id": sid}).scalar()
            discards = conn.execute(text(
                "SELECT count(*) FROM audit_events WHERE action = 'session.discard' "
                "AND target = :target"), {"target": f"session:{sid}"}).scalar()
    finally:
        engine.dispose()
    return status, int(discards or 0)


def test_discard_and_end_at_once_leave_one_outcome(server: ServerProcess, db_url: str) -> None:
    client = httpx.Client(base_url=server.url, timeout=60)
    login = client.post("/api/auth/login", json={"email": STUDENT, "password": PASSWORD})
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    page = {"Accept": "text/html"}
    for _ in range(ROUNDS):
        sid = client.post("/api/sessions", json={"persona_id": PERSONA}).json()["id"]
        for line in LINES[:2]:
            assert client.post(f"/api/sessions/{sid}/turns", json={"text": line}).status_code == 200
        discard, api_end, form_end = at_once([
            lambda sid=sid: client.post(f"/sessions/{sid}/discard", headers=page),
            lambda sid=sid: client.post(f"/api/sessions/{sid}/end"),
            lambda sid=sid: client.post(f"/sessions/{sid}/end", headers=page),
        ])
        codes = [discard.status_code, api_end.status_code, form_end.status_code]
        assert all(code < 500 for code in codes), codes
        status, discards = _state(db_url, sid)
        if discard.status_code == 303:
            assert status is None and discards == 1, codes
            assert api_end.status_code in (404, 409) and form_end.status_code in (404, 409)
        else:
            assert discard.status_code == 409, codes
            assert status == "ended" and discards == 0, codes
            assert api_end.status_code == 200 and form_end.status_code == 303, codes
