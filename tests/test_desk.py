"""The assessor's desk: the queue, marking with reasons, notes, release, held auto-grades,
blind second marking and the audit log."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.main import create_app
from app.models import AuditEvent
from app.services import services_of
from tests.accounts import add_cohort, add_user, auth_settings, hold_session, sign_in
from tests.support import self_rate


@pytest.fixture
def app(tmp_path: Path, db_url: str):
    application = create_app(auth_settings(tmp_path, db_url))
    with TestClient(application):
        yield application


def _marks(desk: dict, **overrides: tuple[float, str]) -> list[dict]:
    marks = []
    for c in desk["grade"]["criteria"]:
        if c["id"] in overrides:
            score, reason = overrides[c["id"]]
            marks.append({"criterion": c["id"], "decision": "override", "score": score,
                          "reason": reason})
        else:
            marks.append({"criterion": c["id"], "decision": "accept"})
    return marks


def _audit(app, prefix: str) -> list[AuditEvent]:
    with Session(services_of(app).db_engine) as db:
        return [e for e in db.exec(select(AuditEvent)).all() if e.action.startswith(prefix)]


def test_the_queue_lists_only_your_cohorts_ended_sessions_most_urgent_first(app) -> None:
    a, b = add_cohort(app, "A"), add_cohort(app, "B")
    add_user(app, "ana@example.org", cohorts=(a,))
    add_user(app, "bo@example.org", cohorts=(a,))
    add_user(app, "cy@example.org", cohorts=(b,))
    add_user(app, "marker@example.org", role="assessor", cohorts=(a,))
    ana, bo, cy = (sign_in(app, f"{n}@example.org") for n in ("ana", "bo", "cy"))
    first = hold_session(ana)
    second = hold_session(bo)
    hold_session(ana, end=False)  # still going: not in the queue
    hold_session(cy)  # another cohort: not in the queue
    marker = sign_in(app, "marker@example.org")
    queue = marker.get("/api/desk/queue").json()
    assert [r["session_id"] for r in queue] == [first, second]  # oldest waiting first
    assert {r["status"] for r in queue} == {"to_mark"}
    # Marked sessions sink below the ones still to mark; released ones go to the bottom.
    desk = marker.get(f"/api/desk/sessions/{first}").json()
    marker.put(f"/api/desk/sessions/{first}/review", json={"marks": _marks(desk)})
    queue = marker.get("/api/desk/queue").json()
    assert [(r["session_id"], r["status"]) for r in queue] == [
        (second, "to_mark"), (first, "in_progress")]
    marker.post(f"/api/desk/sessions/{first}/release")
    assert marker.get("/api/desk/queue").json()[-1]["status"] == "released"
    # Filters.
    only = marker.get("/api/desk/queue", params={"student": "BO@"}).json()
    assert [r["session_id"] for r in only] == [second]
    assert marker.get("/api/desk/queue", params={"status": "released"}).json()[0][
        "session_id"] == first
    assert marker.get("/api/desk/queue", params={"persona": "nobody"}).json() == []
    assert marker.get("/api/desk/queue", params={"cohort": b.id}).json() == []
    assert len(marker.get("/api/desk/queue", params={"date_from": "2000-01-01"}).json()) == 2
    assert marker.get("/api/desk/queue", params={"date_to": "2000-01-01"}).json() == []
    assert marker.get("/api/desk/queue", params={"status": "bogus"}).status_code == 422
    page = marker.get("/desk", params={"student": "ana"}).text
    assert f'data-session-id="{first}"' in page and f'data-session-id="{second}"' not in page


def test_an_override_needs_a_score_on_the_scale_and_a_reason(app) -> None:
    a = add_cohort(app, "A")
    add_user(app, "ana@example.org", cohorts=(a,))
    add_user(app, "marker@example.org", role="assessor", cohorts=(a,))
    sid = hold_session(sign_in(app, "ana@example.org"))
    marker = sign_in(app, "marker@example.org")
    desk = marker.get(f"/api/desk/sessions/{sid}").json()
    no_reason = [{"criterion": "empathy", "decision": "override", "score": 4.0, "reason": " "}]
    answer = marker.put(f"/api/desk/sessions/{sid}/review", json={"marks": no_reason})
    assert answer.status_code == 422 and "needs a reason" in answer.json()["detail"]
    off_scale = [{"criterion": "empathy", "decision": "override", "score": 9, "reason": "x"}]
    answer = marker.put(f"/api/desk/sessions/{sid}/review", json={"marks": off_scale})
    assert answer.status_code == 422 and "from 1 to 5" in answer.json()["detail"]
    unknown = [{"criterion": "charisma", "decision": "accept"}]
    assert marker.put(f"/api/desk/sessions/{sid}/review",
                      json={"marks": unknown}).status_code == 422
    partial = marker.put(f"/api/desk/sessions/{sid}/review",
                         json={"marks": _marks(desk)[:2], "submit": True})
    assert partial.status_code == 422 and "Saved as a draft" in partial.json()["detail"]
    assert marker.post(f"/api/desk/sessions/{sid}/release").status_code == 422
    assert len(marker.get(f"/api/desk/sessions/{sid}").json()["my_review"]["marks"]) == 2


def test_marking_notes_and_release_reach_the_student_and_the_audit_log(app) -> None:
    a = add_cohort(app, "A", auto_grades="after_release")
    add_user(app, "ana@example.org", cohorts=(a,))
    add_user(app, "marker@example.org", role="assessor", cohorts=(a,))
    ana = sign_in(app, "ana@example.org")
    sid = hold_session(ana)
    # Held for release: the student cannot see the auto-grade or grade it themselves yet.
    held = ana.get(f"/api/sessions/{sid}/grades")
    assert held.status_code == 403 and "released by an assessor" in held.text
    # The report page says when feedback comes (ending a session lands there, and asks for
    # the student's own view first).
    self_rate(ana, sid)
    held = ana.get(f"/sessions/{sid}/report")
    assert held.status_code == 200 and "released by an assessor" in held.text
    assert "score-chart" not in held.text
    assert ana.post(f"/api/sessions/{sid}/grade").status_code == 403
    assert ana.get(f"/api/sessions/{sid}/feedback").status_code == 404
    marker = sign_in(app, "marker@example.org")
    desk = marker.get(f"/api/desk/sessions/{sid}").json()
    auto = {c["id"]: c["score"] for c in desk["grade"]["criteria"]}
    marks = _marks(desk, empathy=(5.0, "Consistently reflected feeling before content."))
    saved = marker.put(f"/api/desk/sessions/{sid}/review",
                       json={"marks": marks, "comment": "A warm, careful session."})
    assert saved.status_code == 200
    note = marker.post(f"/api/desk/sessions/{sid}/notes",
                       json={"turn": 1, "text": "This reflection landed well."})
    assert note.status_code == 201
    assert marker.post(f"/api/desk/sessions/{sid}/notes",
                       json={"turn": 99, "text": "x"}).status_code == 422
    released = marker.post(f"/api/desk/sessions/{sid}/release")
    assert released.status_code == 200 and released.json()["status"] == "released"
    # Now the student sees the released marks, the comment, the note and the auto-grade.
    feedback = ana.get(f"/api/sessions/{sid}/feedback").json()
    empathy = next(c for c in feedback["criteria"] if c["criterion"] == "empathy")
    assert empathy == {"criterion": "empathy", "title": "Empathy", "auto_score": auto["empathy"],
                       "score": 5.0, "decision": "override",
                       "reason": "Consistently reflected feeling before content."}
    assert feedback["comment"] == "A warm, careful session."
    assert feedback["notes"] == [{"turn": 1, "text": "This reflection landed well."}]
    assert ana.get(f"/api/sessions/{sid}/grades").status_code == 200
    page = ana.get(f"/sessions/{sid}/feedback").text
    assert "This reflection landed well." in page and "A warm, careful session." in page
    # Released work is final.
    again = marker.put(f"/api/desk/sessions/{sid}/review", json={"marks": marks})
    assert again.status_code == 409
    assert marker.post(f"/api/desk/sessions/{sid}/notes",
                       json={"turn": 1, "text": "late"}).status_code == 409
    overrides = _audit(app, "review.override")
    assert len(overrides) == 1 and overrides[0].details["reason"].startswith("Consistently")
    assert overrides[0].actor == "marker@example.org"
    release = _audit(app, "review.release")
    assert len(release) == 1 and release[0].details["overrides"] == ["empathy"]


def test_students_see_auto_grades_at_once_when_their_cohort_says_so(app) -> None:
    a = add_cohort(app, "A", auto_grades="immediate")
    add_user(app, "ana@example.org", cohorts=(a,))
    ana = sign_in(app, "ana@example.org")
    sid = hold_session(ana)
    assert ana.get(f"/sessions/{sid}/report").status_code == 200
    assert ana.post(f"/api/sessions/{sid}/grade").status_code == 200


def test_only_the_first_marker_or_an_admin_releases(app) -> None:
    a = add_cohort(app, "A")
    add_user(app, "ana@example.org", cohorts=(a,))
    add_user(app, "one@example.org", role="assessor", cohorts=(a,))
    add_user(app, "two@example.org", role="assessor", cohorts=(a,))
    add_user(app, "boss@example.org", role="admin")
    sid = hold_session(sign_in(app, "ana@example.org"))
    one, two = sign_in(app, "one@example.org"), sign_in(app, "two@example.org")
    desk = one.get(f"/api/desk/sessions/{sid}").json()
    one.put(f"/api/desk/sessions/{sid}/review", json={"marks": _marks(desk)})
    # Without second marking, another assessor sees the marking but cannot mark or release.
    seen = two.get(f"/api/desk/sessions/{sid}").json()
    assert not seen["can_mark"] and seen["other_reviews"][0]["assessor"] == "One"
    assert two.put(f"/api/desk/sessions/{sid}/review",
                   json={"marks": _marks(desk)}).status_code == 409
    assert two.post(f"/api/desk/sessions/{sid}/release").status_code == 403
    assert sign_in(app, "boss@example.org").post(
        f"/api/desk/sessions/{sid}/release").status_code == 200


def test_blind_second_marking_hides_each_marker_from_the_other_then_lists_disagreements(app):
    a = add_cohort(app, "A", second_marking=True)
    add_user(app, "ana@example.org", cohorts=(a,))
    add_user(app, "one@example.org", role="assessor", cohorts=(a,))
    add_user(app, "two@example.org", role="assessor", cohorts=(a,))
    add_user(app, "three@example.org", role="assessor", cohorts=(a,))
    sid = hold_session(sign_in(app, "ana@example.org"))
    one, two = sign_in(app, "one@example.org"), sign_in(app, "two@example.org")
    desk = one.get(f"/api/desk/sessions/{sid}").json()
    first = _marks(desk, empathy=(5.0, "Excellent attunement"))
    one.put(f"/api/desk/sessions/{sid}/review", json={"marks": first, "submit": True})
    one.post(f"/api/desk/sessions/{sid}/notes", json={"turn": 1, "text": "first marker's note"})
    assert two.get("/api/desk/queue").json()[0]["status"] == "second_mark"
    blind = two.get(f"/api/desk/sessions/{sid}").json()
    assert blind["blind"] and blind["other_reviews"] == [] and blind["can_mark"]
    assert "first marker's note" not in two.get(f"/desk/sessions/{sid}").text
    # Release waits for the second marker.
    waiting = one.post(f"/api/desk/sessions/{sid}/release")
    assert waiting.status_code == 409 and "second marker" in waiting.json()["detail"]
    second = _marks(desk, empathy=(2.0, "Missed the feeling twice"))
    two.put(f"/api/desk/sessions/{sid}/review", json={"marks": second, "submit": True})
    both = two.get(f"/api/desk/sessions/{sid}").json()
    assert not both["blind"] and both["other_reviews"][0]["kind"] == "first"
    assert both["disagreements"] == [{"criterion": "empathy", "first": 5.0, "second": 2.0}]
    assert "first marker&#39;s note" in two.get(f"/desk/sessions/{sid}").text
    # A third assessor cannot join in.
    three = sign_in(app, "three@example.org")
    assert three.put(f"/api/desk/sessions/{sid}/review",
                     json={"marks": first}).status_code == 409
    assert one.post(f"/api/desk/sessions/{sid}/release").status_code == 200


def test_the_desk_page_marks_comments_and_releases_with_plain_forms(app) -> None:
    a = add_cohort(app, "A")
    add_user(app, "ana@example.org", cohorts=(a,))
    add_user(app, "marker@example.org", role="assessor", cohorts=(a,))
    ana = sign_in(app, "ana@example.org")
    sid = hold_session(ana)
    marker = sign_in(app, "marker@example.org")
    page = marker.get(f"/desk/sessions/{sid}")
    assert page.status_code == 200
    ids = re.findall(r'name="decision__([a-z_]+)" value="accept"', page.text)
    assert "empathy" in ids
    note = marker.post(f"/desk/sessions/{sid}/notes", data={"turn": "1", "text": "Nice"},
                       follow_redirects=False)
    assert note.status_code == 303 and note.headers["location"].endswith("#turn-1")
    form = {f"decision__{c}": "accept" for c in ids}
    form.update({"decision__empathy": "override", "score__empathy": "2",
                 "reason__empathy": "", "comment": "Keep going", "action": "release"})
    refused = marker.post(f"/desk/sessions/{sid}/review", data=form)
    assert refused.status_code == 422 and "needs a reason" in refused.text
    form["reason__empathy"] = "Advice came before understanding."
    done = marker.post(f"/desk/sessions/{sid}/review", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert "Released to the student." in marker.get(done.headers["location"]).text
    feedback = ana.get(f"/sessions/{sid}/feedback").text
    assert "Advice came before understanding." in feedback and "Keep going" in feedback
