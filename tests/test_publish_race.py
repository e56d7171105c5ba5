"""Publishing one draft from several requests at once, against a real server with two workers.

A double click, two open tabs or two trainers press Publish together: every answer is a
redirect to the item (or, for a request that named no draft and came too late, a 409), never a
5xx, and the draft becomes exactly one version with one audit entry. A publish and rollbacks
at the same moment each get a number of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.accounts import PASSWORD, PERSONA, accounts_server
from tests.support import ServerProcess, at_once

pytestmark = pytest.mark.slow

TRAINER = "tess@example.org"
ITEM = f"/trainer/library/persona/{PERSONA}"
ROUNDS = 3
AT_ONCE = 6


@pytest.fixture
def server(server_env: dict[str, str]) -> Iterator[ServerProcess]:
    with accounts_server(server_env, ((TRAINER, "trainer"),), workers=2) as process:
        yield process


def _trainer(server: ServerProcess) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=60)
    answer = client.post("/api/auth/login", json={"email": TRAINER, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def _save_draft(client: httpx.Client, marker: str) -> int:
    """Save the shipped persona with a changed title as a draft; the draft's id on its page."""
    source = Path(__file__).resolve().parent.parent / "personas" / f"{PERSONA}.yaml"
    yaml = re.sub(r"(?m)^title: .*$", f"title: Sam {marker}", source.read_text("utf-8"), count=1)
    saved = client.post("/trainer/save", data={"kind": "persona", "text": yaml})
    assert saved.status_code == 303, saved.text[:300]
    page = client.get(ITEM, headers={"Accept": "text/html"}).text
    found = re.search(r'name="draft" value="(\d+)"', page)
    assert found, "the item page's publish form names no draft"
    return int(found.group(1))


def _publish(client: httpx.Client, draft: int | None):
    data = {"note": "at once"} | ({"draft": str(draft)} if draft is not None else {})
    return lambda: client.post(f"{ITEM}/publish", data=data)


def _rollback(client: httpx.Client):
    return lambda: client.post(f"{ITEM}/rollback", data={"number": "0"})


def _published(db_url: str) -> tuple[list[tuple[int, str]], int]:
    """The item's numbered steps (number, action) and how many publishes the audit log holds."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            steps = conn.execute(text(
                "SELECT number, action FROM library_versions WHERE item_id = :item "
                "AND number IS NOT NULL ORDER BY number"), {"item": PERSONA}).all()
            audited = conn.execute(text(
                "SELECT count(*) FROM audit_events WHERE action = 'persona.publish'")).scalar()
    finally:
        engine.dispose()
    return [(n, a) for n, a in steps], int(audited or 0)


def _codes(answers: list[httpx.Response]) -> list[int]:
    return sorted(a.status_code for a in answers)


def test_concurrent_publishes_of_one_draft_make_one_version(
    server: ServerProcess, db_url: str
) -> None:
    client = _trainer(server)
    for number in range(1, ROUNDS + 1):
        draft = _save_draft(client, f"round {number}")
        answers = at_once([_publish(client, draft) for _ in range(AT_ONCE)])
        # Every request named the draft it meant: each is told it is published.
        assert _codes(answers) == [303] * AT_ONCE, [a.text[:200] for a in answers]
        assert {a.headers["location"] for a in answers} == {f"{ITEM}?done=published"}
        steps, audited = _published(db_url)
        assert steps == [(n, "publish") for n in range(1, number + 1)]
        assert audited == number
    # Requests that name no draft (an old page, a script): late ones find nothing to publish.
    _save_draft(client, "unnamed")
    answers = at_once([_publish(client, None) for _ in range(AT_ONCE)])
    assert set(_codes(answers)) <= {303, 409}, [a.text[:200] for a in answers]
    assert 303 in _codes(answers)
    steps, audited = _published(db_url)
    assert len(steps) == ROUNDS + 1 and audited == ROUNDS + 1


def test_a_publish_and_rollbacks_at_once_each_get_their_own_number(
    server: ServerProcess, db_url: str
) -> None:
    client = _trainer(server)
    for number in range(ROUNDS):
        draft = _save_draft(client, f"mixed {number}")
        answers = at_once([_publish(client, draft), _rollback(client), _rollback(client)])
        assert _codes(answers) == [303, 303, 303], [a.text[:200] for a in answers]
    steps, audited = _published(db_url)
    assert [n for n, _ in steps] == list(range(1, 3 * ROUNDS + 1))
    assert sorted(a for _, a in steps).count("rollback") == 2 * ROUNDS
    assert audited == ROUNDS
