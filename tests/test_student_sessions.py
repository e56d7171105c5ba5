"""A student's own sessions: discarding an abandoned active one, comparing two graded attempts
with the same client."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.grading.records import Grade, latest_grade
from app.main import create_app
from app.models import AuditEvent, PracticeSession, Turn
from app.review.self_rating import SelfRating
from app.services import services_of
from tests.accounts import (
    LINES,
    PERSONA,
    add_cohort,
    add_user,
    auth_settings,
    hold_session,
    sign_in,
)
from tests.support import self_rate

HTML = {"Accept": "text/html"}
OTHER_PERSONA = "denise-grief"


@pytest.fixture
def world(tmp_path: Path, db_url: str):
    app = create_app(auth_settings(tmp_path, db_url))
    with TestClient(app):
        cohort = add_cohort(app, "Evening")
        held = add_cohort(app, "Held", auto_grades="after_release")
        for email in ("ana@example.org", "ben@example.org"):
            add_user(app, email, cohorts=(cohort,))
        add_user(app, "hal@example.org", cohorts=(held,))
        add_user(app, "ava@example.org", role="assessor", cohorts=(cohort,))
        add_user(app, "root@example.org", role="admin")
        yield app, {e.split("@")[0]: sign_in(app, e) for e in (
            "ana@example.org", "ben@example.org", "hal@example.org", "ava@example.org",
            "root@example.org")}


def _audit(app, action: str) -> list[AuditEvent]:
    with Session(services_of(app).db_engine) as db:
        return list(db.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def _exists(app, sid: str) -> bool:
    with Session(services_of(app).db_engine) as db:
        return db.get(PracticeSession, sid) is not None


# ---- discard ------------------------------------------------------------------------------


def test_a_student_discards_an_abandoned_session_after_confirming(world) -> None:
    app, people = world
    ana, ava = people["ana"], people["ava"]
    sid = hold_session(ana, end=False)
    assert ava.get(f"/desk/sessions/{sid}", headers=HTML).status_code == 200  # before: reachable
    ask = ana.get(f"/sessions/{sid}/discard", headers=HTML)
    assert ask.status_code == 200
    assert f'action="/sessions/{sid}/discard"' in ask.text and 'name="csrf_token"' in ask.text
    assert "4 messages from you" in ask.text and "cannot be undone" in ask.text
    assert _exists(app, sid)  # asking deletes nothing

    done = ana.post(f"/sessions/{sid}/discard", headers=HTML, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/history?discarded=1"
    assert not _exists(app, sid)
    with Session(services_of(app).db_engine) as db:
        assert not db.exec(select(Turn).where(Turn.session_id == sid)).all()
    assert sid not in ana.get("/history", headers=HTML).text
    assert sid not in [s["id"] for s in ana.get("/api/sessions").json()]
    assert sid not in ana.get("/progress", headers=HTML).text
    assert "was discarded" in ana.get("/history?discarded=1", headers=HTML).text
    # Gone from the desk too.
    assert ava.get(f"/desk/sessions/{sid}", headers=HTML).status_code == 404
    assert sid not in ava.get("/api/desk/queue").text
    [event] = _audit(app, "session.discard")
    assert event.actor == "ana@example.org" and event.target == f"session:{sid}"
    assert event.details["persona"] == PERSONA and event.details["turns"] == 2 * len(LINES) + 1
    # Twice is an unknown session now.
    assert ana.post(f"/sessions/{sid}/discard", headers=HTML).status_code == 404


def test_an_ended_session_cannot_be_discarded(world) -> None:
    app, people = world
    ana = people["ana"]
    sid = hold_session(ana)
    for answer in (ana.get(f"/sessions/{sid}/discard", headers=HTML),
                   ana.post(f"/sessions/{sid}/discard", headers=HTML)):
        assert answer.status_code == 409
        assert "only a session still in progress can be discarded" in answer.text
    assert _exists(app, sid) and not _audit(app, "session.discard")
    history = ana.get("/history", headers=HTML).text
    assert f'href="/sessions/{sid}/discard"' not in history


def test_no_one_else_may_discard_a_session(world) -> None:
    app, people = world
    sid = hold_session(people["ana"], end=False)
    assert f'href="/sessions/{sid}/discard"' in people["ana"].get("/history", headers=HTML).text
    for who in ("ben", "ava", "root"):  # a peer, her assessor, an admin: an unknown id to all
        assert people[who].get(f"/sessions/{sid}/discard", headers=HTML).status_code == 404
        assert people[who].post(f"/sessions/{sid}/discard", headers=HTML).status_code == 404
    anonymous = TestClient(app).post(f"/sessions/{sid}/discard", follow_redirects=False)
    assert anonymous.status_code in (303, 401)
    # Her own sign-in without the form's CSRF token is refused too.
    no_token = sign_in(app, "ana@example.org")
    del no_token.headers["X-CSRF-Token"]
    assert no_token.post(f"/sessions/{sid}/discard", headers=HTML).status_code == 403
    assert _exists(app, sid) and not _audit(app, "session.discard")


def test_erasing_a_student_takes_their_self_ratings_with_their_sessions(world) -> None:
    from app.audit import Actor
    from app.models import User
    from app.retention import erase_user

    app, people = world
    sid = hold_session(people["ana"])
    self_rate(people["ana"], sid)
    with Session(services_of(app).db_engine) as db:
        assert db.exec(select(SelfRating).where(SelfRating.session_id == sid)).first()
        user = db.exec(select(User).where(User.email == "ana@example.org")).one()
        erase_user(db=db, user=user, actor=Actor(user_id=None, label="test"))
    with Session(services_of(app).db_engine) as db:
        assert not db.exec(select(SelfRating).where(SelfRating.session_id == sid)).all()
    assert not _exists(app, sid)


# ---- compare ------------------------------------------------------------------------------


def _start(client: TestClient, persona: str, lines: list[str]) -> str:
    sid = client.post("/api/sessions", json={"persona_id": persona}).json()["id"]
    for line in lines:
        assert client.post(f"/api/sessions/{sid}/turns", json={"text": line}).status_code == 200
    assert client.post(f"/api/sessions/{sid}/end").status_code == 200
    return sid


def _grade(app, sid: str) -> Grade:
    with Session(services_of(app).db_engine) as db:
        grade = latest_grade(db=db, session_id=sid)
        assert grade is not None
        return grade


def _cells(page: str, criterion: str) -> list[str]:
    row = re.search(rf'<tr data-criterion="{criterion}">(.*?)</tr>', page, re.S)
    assert row, f"no row for {criterion}"
    return [html.unescape(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1),
                                                        re.S)]


def test_two_attempts_with_one_client_side_by_side(world) -> None:
    app, people = world
    ana = people["ana"]
    poor = _start(ana, PERSONA, [LINES[0], LINES[2], "Why don't you just quit, then?"])
    good = hold_session(ana)
    _start(ana, OTHER_PERSONA, ["What brings you here today?"])

    progress = ana.get("/progress", headers=HTML).text
    forms = re.findall(r'<form method="get" action="/progress/compare"[^>]*data-persona="([^"]+)"',
                       progress)
    assert forms == [PERSONA]  # only a client with two graded sessions can be compared
    page = ana.get("/progress/compare", params={"first": good, "second": poor}, headers=HTML)
    assert page.status_code == 200, page.text[:300]
    text = page.text
    # The earlier session is on the left, whichever order they were picked in.
    assert text.index("Session 1,") < text.index("Session 2,")
    first, second = _grade(app, poor), _grade(app, good)
    scored = 0
    for criterion in first.criteria:
        a = criterion.get("score")
        b = next(c.get("score") for c in second.criteria if c["id"] == criterion["id"])
        if a is None and b is None:  # scored in neither (assessor-rated, no evidence): no row
            assert f'<tr data-criterion="{criterion["id"]}">' not in text
            continue
        cells = _cells(text, criterion["id"])
        assert cells[0] == ("–" if a is None else f"{a:.1f}")
        assert cells[1] == ("–" if b is None else f"{b:.1f}")
        if a is not None and b is not None:
            scored += 1
            change = round(b - a, 2)
            assert (f"{change:+.1f}" if change else "no change") in cells[2]
    assert scored >= 1
    # Both trust curves, each with ids of its own (two on one page).
    assert text.count('<svg class="trust-chart"') == 2
    for n in (1, 2):
        assert f'id="trust-{n}-title"' in text and f'id="trust-{n}-summary"' in text
    assert 'id="trust-title"' not in text
    for sid in (poor, good):
        assert f'href="/sessions/{sid}/transcript"' in text


def test_compare_refuses_what_cannot_be_compared(world) -> None:
    _, people = world
    ana, ben, hal, ava = people["ana"], people["ben"], people["hal"], people["ava"]
    one, two = hold_session(ana), hold_session(ana)
    other = _start(ana, OTHER_PERSONA, ["What brings you here today?"])
    active = hold_session(ana, end=False)
    bens = hold_session(ben)

    def compare(client: TestClient, first: str, second: str):
        return client.get("/progress/compare", params={"first": first, "second": second},
                          headers=HTML)

    assert compare(ana, one, one).status_code == 422
    different = compare(ana, one, other)
    assert different.status_code == 422 and "different clients" in different.text
    assert compare(ana, one, active).status_code == 409
    assert ana.get("/progress/compare", headers=HTML).status_code == 422
    # Only one's own: another student's session is an unknown id, for a reviewer too.
    assert compare(ana, one, bens).status_code == 404
    assert compare(ben, one, two).status_code == 404
    assert compare(ava, one, two).status_code == 404
    assert compare(people["root"], one, two).status_code == 404
    # Held until release: nothing to compare yet, and the page says why.
    h1, h2 = hold_session(hal), hold_session(hal)
    held = compare(hal, h1, h2)
    assert held.status_code == 409 and "no scores you can see yet" in held.text
    assert "compare-form" not in hal.get("/progress", headers=HTML).text
    # Ids are shown back escaped.
    hostile = compare(ana, "<b>x</b>", two)
    assert hostile.status_code == 404 and "<b>x</b>" not in hostile.text
    assert "&lt;b&gt;x&lt;/b&gt;" in hostile.text
