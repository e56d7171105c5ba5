"""Assessors amend a released marking: a new version with a reason, seen by the student,
audited, and used by the agreement figures."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.main import create_app
from app.models import AuditEvent
from app.services import services_of
from tests.accounts import add_cohort, add_user, auth_settings, hold_session, sign_in

HTML = {"Accept": "text/html"}
REASON = "On re-reading turn 3 the reflection missed the feeling."


@pytest.fixture
def world(tmp_path: Path, db_url: str):
    app = create_app(auth_settings(tmp_path, db_url))
    with TestClient(app):
        cohort = add_cohort(app, "A")
        add_user(app, "ana@example.org", cohorts=(cohort,))
        add_user(app, "mo@example.org", role="assessor", cohorts=(cohort,))
        add_user(app, "jo@example.org", role="assessor", cohorts=(cohort,))
        ana = sign_in(app, "ana@example.org")
        sid = hold_session(ana)
        mo = sign_in(app, "mo@example.org")
        desk = mo.get(f"/api/desk/sessions/{sid}").json()
        marks = [{"criterion": c["id"], "decision": "accept"} for c in desk["grade"]["criteria"]]
        yield {"app": app, "ana": ana, "mo": mo, "sid": sid, "marks": marks,
               "cohort": cohort.id, "grade": desk["grade"]}


def _release(w) -> None:
    mo, sid = w["mo"], w["sid"]
    assert mo.put(f"/api/desk/sessions/{sid}/review",
                  json={"marks": w["marks"], "comment": "Good start."}).status_code == 200
    assert mo.post(f"/api/desk/sessions/{sid}/release").status_code == 200


def _amend(client: TestClient, sid: str, reason: str = REASON, score: float = 1.5, **extra):
    return client.post(f"/api/desk/sessions/{sid}/amend", json={
        "marks": [{"criterion": "empathy", "decision": "override", "score": score,
                   "reason": "The feeling in turn 3 was not reflected."}],
        "reason": reason, **extra})


def test_a_released_marking_is_amended_with_a_reason_the_student_reads(world) -> None:
    sid, mo, ana = world["sid"], world["mo"], world["ana"]
    assert _amend(mo, sid).status_code == 409  # not released yet: change the draft instead
    _release(world)
    auto = next(c["score"] for c in world["grade"]["criteria"] if c["id"] == "empathy")
    assert _amend(mo, sid, reason="   ").status_code == 422
    assert _amend(sign_in(world["app"], "jo@example.org"), sid).status_code == 403
    assert _amend(ana, sid).status_code == 403  # a student is no assessor

    answer = _amend(mo, sid, comment="Good start; see the change to empathy.")
    assert answer.status_code == 200, answer.text
    review = answer.json()["my_review"]
    assert review["version"] == 2 and review["amendments"][0]["reason"] == REASON
    assert review["amendments"][0]["changes"][0] == {
        "criterion": "empathy", "before": auto, "after": 1.5, "decision": "override",
        "reason": "The feeling in turn 3 was not reflected."}
    # The same change again changes nothing: refused, no version 3.
    assert _amend(mo, sid, comment="Good start; see the change to empathy.").status_code == 422

    feedback = ana.get(f"/api/sessions/{sid}/feedback").json()
    assert feedback["version"] == 2 and feedback["amendments"][0]["reason"] == REASON
    assert next(c for c in feedback["criteria"] if c["criterion"] == "empathy")["score"] == 1.5
    assert feedback["comment"] == "Good start; see the change to empathy."
    page = html.unescape(ana.get(f"/sessions/{sid}/feedback", headers=HTML).text)
    assert "Changed after release (marking version 2)" in page and REASON in page
    assert f"{auto:.1f} → 1.5" in page
    progress = html.unescape(ana.get("/progress", headers=HTML).text)
    assert "Amended after release (version 2" in progress and REASON in progress
    desk = html.unescape(mo.get(f"/desk/sessions/{sid}", headers=HTML).text)
    assert "Marking version 2: amended after release" in desk
    assert 'action="/desk/sessions/' + sid + '/amend"' in desk

    with Session(services_of(world["app"]).db_engine) as db:
        events = db.exec(select(AuditEvent).where(AuditEvent.action == "review.amend")).all()
    assert len(events) == 1 and events[0].actor == "mo@example.org"
    assert events[0].details["reason"] == REASON and events[0].details["version"] == 2

    # The agreement figures use the latest version: the amended 1.5, not the released auto.
    figures = mo.get(f"/api/desk/agreement?cohort={world['cohort']}").json()
    empathy = next(c for c in figures["criteria"] if c["criterion"] == "empathy")
    assert empathy["n"] == 1 and empathy["overridden"] == 1
    assert empathy["mad"] == pytest.approx(abs(auto - 1.5))


def test_the_desk_form_amends_and_keeps_the_page_on_a_missing_reason(world) -> None:
    sid, mo = world["sid"], world["mo"]
    _release(world)
    form = {f"decision__{m['criterion']}": "accept" for m in world["marks"]}
    form |= {"decision__empathy": "override", "score__empathy": "2",
             "reason__empathy": "Missed feeling.", "comment": "Good start."}
    refused = mo.post(f"/desk/sessions/{sid}/amend", data=form, headers=HTML)
    assert refused.status_code == 422 and "say why the marking changes" in refused.text
    done = mo.post(f"/desk/sessions/{sid}/amend", data={**form, "amend_reason": REASON},
                   headers=HTML, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("saved=amend")
    feedback = world["ana"].get(f"/api/sessions/{sid}/feedback").json()
    assert next(c for c in feedback["criteria"] if c["criterion"] == "empathy")["score"] == 2.0


def test_the_desk_queue_names_the_client_by_title_not_id(world) -> None:
    mo = world["mo"]
    page = mo.get("/desk", headers=HTML).text
    title = services_of(world["app"]).library.personas()["sam-work-stress"].title
    assert f'<td data-label="Client">{html.escape(title)}</td>' in page
    assert '<td data-label="Client">sam-work-stress</td>' not in page
    assert mo.get("/api/desk/queue").json()[0]["persona_title"] == title


def test_erasing_a_student_removes_their_amended_marking_too(world) -> None:
    from app.models import ReviewAmendment, User
    from app.retention import erase_user
    from tests.accounts import TEST_ACTOR

    _release(world)
    assert _amend(world["mo"], world["sid"]).status_code == 200
    with Session(services_of(world["app"]).db_engine) as db:
        ana = db.exec(select(User).where(User.email == "ana@example.org")).one()
        erase_user(db=db, user=ana, actor=TEST_ACTOR)
        assert not db.exec(select(ReviewAmendment)).all()
