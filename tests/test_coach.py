"""Coach mode through the HTTP API: notes within the turn's response (JSON and SSE), stored
with the session, absent when off, never given to the client engine, recorded on the grade."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.main import create_app
from app.models import Cohort
from app.services import services_of
from tests.accounts import add_cohort, add_user, auth_settings, sign_in

PERSONA = "sam-work-stress"
OPENER = "What brings you here today?"
ADVICE = "You should just go to bed earlier and stop checking your emails at night."


def sse_events(body: str) -> list[tuple[str, dict]]:
    events = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z']+", text.lower()) if len(w) > 3}


class Recorder:
    """Wraps the real scripted engine and keeps every request it is given."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.requests: list = []
        self.name = engine.name
        self.history_turns = engine.history_turns

    def reply(self, request):
        self.requests.append(request)
        return self.engine.reply(request)

    async def check(self):
        return await self.engine.check()

    async def aclose(self):
        return await self.engine.aclose()


def start(client: TestClient, **extra) -> dict:
    answer = client.post("/api/sessions", json={"persona_id": PERSONA, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_harmful_move_gets_a_note_with_an_alternative_in_the_clients_words(
    client: TestClient,
) -> None:
    recorder = Recorder(services_of(client.app).engines["scripted"])
    services_of(client.app).engines["scripted"] = recorder
    session = start(client, coach=True)
    assert session["coach"] is True
    first = client.post(f"/api/sessions/{session['id']}/turns", json={"text": OPENER}).json()
    assert first["coach"]["tone"] == "good"
    assert "open question" in first["coach"]["saw"]
    assert "alternative" not in first["coach"]
    client_said = first["client_turn"]["text"]

    second = client.post(f"/api/sessions/{session['id']}/turns", json={"text": ADVICE}).json()
    note = second["coach"]
    assert note["tone"] == "harmful" and note["move"] == "advice_without_permission"
    assert "advice the client did not ask for" in note["saw"]
    # One alternative, built from what the client had just said.
    assert note["alternative"].startswith("It sounds like ")
    shared = words(note["alternative"]) & words(client_said)
    assert len(shared) >= 2, (note["alternative"], client_said)

    # Stored with the session, on the student turn.
    turns = client.get(f"/api/sessions/{session['id']}").json()["turns"]
    assert turns[3]["events"]["coach"] == note
    # Never given to the client engine.
    assert recorder.requests
    for request in recorder.requests:
        assert note["alternative"] not in repr(request)
        assert "coach" not in repr(request.state.model_dump())


def test_the_note_is_an_sse_event_straight_after_the_student_turn(client: TestClient) -> None:
    session = start(client, coach=True)
    answer = client.post(f"/api/sessions/{session['id']}/turns", json={"text": ADVICE},
                         headers={"Accept": "text/event-stream"})
    names = [name for name, _ in sse_events(answer.text)]
    assert names[:2] == ["student", "coach"]
    assert names[-1] == "done"
    note = dict(sse_events(answer.text))["coach"]
    assert note["tone"] == "harmful" and note["alternative"]


def test_coach_mode_is_off_by_default_and_leaves_no_trace(client: TestClient) -> None:
    session = start(client)
    assert session["coach"] is False
    body = client.post(f"/api/sessions/{session['id']}/turns", json={"text": ADVICE}).json()
    assert body["coach"] is None
    stream = client.post(f"/api/sessions/{session['id']}/turns", json={"text": OPENER},
                         headers={"Accept": "text/event-stream"})
    assert "coach" not in [name for name, _ in sse_events(stream.text)]
    turns = client.get(f"/api/sessions/{session['id']}").json()["turns"]
    assert all("coach" not in (t["events"] or {}) for t in turns)
    client.post(f"/api/sessions/{session['id']}/end")
    assert client.get(f"/api/sessions/{session['id']}/grades").json()[0]["coached"] is False


def test_the_student_turns_it_on_mid_session_and_the_grade_records_it(
    client: TestClient,
) -> None:
    session = start(client)
    sid = session["id"]
    assert client.post(f"/api/sessions/{sid}/turns", json={"text": OPENER}).json()["coach"] \
        is None
    assert client.post(f"/api/sessions/{sid}/coach", json={"on": True}).json() == {
        "id": sid, "coach": True}
    assert client.post(f"/api/sessions/{sid}/turns", json={"text": ADVICE}).json()["coach"]
    client.post(f"/api/sessions/{sid}/coach", json={"on": False})
    assert client.post(f"/api/sessions/{sid}/turns",
                       json={"text": "It sounds like the nights are hard."}).json()["coach"] \
        is None
    client.post(f"/api/sessions/{sid}/end")
    assert client.get(f"/api/sessions/{sid}/grades").json()[0]["coached"] is True


@pytest.fixture
def cohort_world(tmp_path, db_url):
    app = create_app(auth_settings(tmp_path, db_url))
    with TestClient(app):
        coached = add_cohort(app, "Coached", auto_grades="after_release")
        add_user(app, "ana@example.org", cohorts=(coached,))
        add_user(app, "ass@example.org", role="assessor", cohorts=(coached,))
        yield app, coached


def test_a_cohort_turns_it_on_and_assessors_see_the_notes(cohort_world) -> None:
    app, coached = cohort_world
    student = sign_in(app, "ana@example.org")
    held = start(student, coach=True)
    # Grades wait for release in this cohort: the student cannot turn coaching on alone.
    assert held["coach"] is False
    assert student.post(f"/api/sessions/{held['id']}/coach", json={"on": True}).status_code \
        == 403
    with Session(services_of(app).db_engine) as db:
        row = db.get(Cohort, coached.id)
        row.coach_mode = True
        db.add(row)
        db.commit()
    session = start(student)
    note = student.post(f"/api/sessions/{session['id']}/turns", json={"text": ADVICE}).json()
    assert note["coach"]["tone"] == "harmful"
    assessor = sign_in(app, "ass@example.org")
    seen = assessor.get(f"/api/sessions/{session['id']}").json()["turns"][1]["events"]["coach"]
    assert seen == note["coach"]


def test_assessors_see_coach_notes_on_the_desk_and_held_students_get_no_debrief(
    cohort_world,
) -> None:
    app, coached = cohort_world
    with Session(services_of(app).db_engine) as db:
        row = db.get(Cohort, coached.id)
        row.coach_mode = True
        db.add(row)
        db.commit()
    student = sign_in(app, "ana@example.org")
    session = start(student)
    note = student.post(f"/api/sessions/{session['id']}/turns", json={"text": ADVICE}).json()
    assert student.post(f"/api/sessions/{session['id']}/end").status_code == 200
    # Grades wait for release here: the debrief (built from the analysis) waits too ...
    assert student.get(f"/api/sessions/{session['id']}/debrief").status_code == 403
    course = student.get(f"/api/sessions/{session['id']}/course").json()
    assert "trust_end" not in course["sessions"][0] and "grade" not in course["sessions"][0]
    # ... but the course goes on: the student books the next session.
    booked = student.post(f"/api/sessions/{session['id']}/next", json={})
    assert booked.status_code == 201 and booked.json()["state"]["trust"] is None

    assessor = sign_in(app, "ass@example.org")
    assert assessor.get(f"/api/sessions/{session['id']}/debrief").status_code == 200
    page = assessor.get(f"/desk/sessions/{session['id']}")
    assert page.status_code == 200, page.text
    assert "Coach note the student saw" in page.text
    assert note["coach"]["alternative"].replace("'", "&#39;") in page.text
    assert f"/sessions/{session['id']}/course" in page.text
