"""A course of sessions with one client, through the HTTP API: carried trust, layers told,
boundaries and risk remembered, tasks mentioned, and a risk not followed up flagged."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.client.carry import carried_state, opening_for
from app.client.state import ClientState, initial_state
from app.course import detect_tasks
from app.models import Turn
from app.persona import load_library
from app.persona.sessions import SessionPlan

PERSONA = "sam-work-stress"
# Contracting, reflections and open questions, then a direct question about suicide: with the
# scripted Sam this reaches the risk layer in eight turns (asserted below, not assumed).
SESSION_ONE = [
    "Before we start: what you say here stays confidential, except if I'm worried about your "
    "safety. I'm a trainee and I talk with my supervisor. What brings you here?",
    "It sounds like work has been wearing you down and the nights are long.",
    "You're lying awake going over things, and it's exhausting.",
    "What's been the hardest part of the restructure for you?",
    "So you're doing two jobs and it feels like nobody sees how impossible it is.",
    "It sounds like you've been carrying a lot of this on your own.",
    "That sounds really frightening, keeping it from Jo.",
    "Sometimes when people feel this worn down they have thoughts of not wanting to be here. "
    "Are you having thoughts of ending your life?",
    "Before next week, could you keep a sleep diary?",
]
FOLLOW_UP = (
    "Last time you told me some nights you think everyone would be better off without you. "
    "Are you having thoughts of ending your life this week?"
)


@pytest.fixture(scope="module")
def sam():
    return load_library("personas")[PERSONA]


def say(client: TestClient, session_id: str, text: str) -> dict:
    answer = client.post(f"/api/sessions/{session_id}/turns", json={"text": text})
    assert answer.status_code == 200, answer.text
    return answer.json()


def first_session(client: TestClient) -> tuple[str, list[dict]]:
    session = client.post("/api/sessions", json={"persona_id": PERSONA}).json()
    replies = [say(client, session["id"], line) for line in SESSION_ONE]
    assert "dark-nights" in replies[-1]["state"]["unlocked"], "session 1 must reach the risk"
    assert client.post(f"/api/sessions/{session['id']}/end").status_code == 200
    return session["id"], replies


def test_next_session_carries_trust_layers_and_opens_with_the_session_two_line(
    client: TestClient, sam
) -> None:
    first, replies = first_session(client)
    ended_trust = replies[-1]["state"]["trust"]
    told = replies[-1]["state"]["unlocked"]

    proposal = client.get(f"/api/sessions/{first}/next").json()
    assert proposal["session_number"] == 2
    assert proposal["tasks"] == ["keep a sleep diary"]
    assert proposal["goal"] == sam.sessions[0].goal
    booked = client.post(f"/api/sessions/{first}/next", json={"tasks": proposal["tasks"]})
    assert booked.status_code == 201, booked.text
    second = booked.json()
    assert second["session_number"] == 2 and second["previous_id"] == first
    assert second["course_id"] == first

    expected = round(ended_trust + (sam.trust.initial - ended_trust) * sam.trust.drift, 2)
    assert second["state"]["trust"] == pytest.approx(expected, abs=0.01)
    assert expected < ended_trust  # the drift is towards the initial level
    assert second["state"]["unlocked"] == told

    opening = second["turns"][0]["text"]
    plan = sam.sessions[0]
    assert opening.startswith(plan.opening_line)
    assert plan.events[0] in opening
    # Refers back to a layer told in session 1, as something said before.
    pressure = next(d for d in sam.disclosures if d.id == "pressure")
    assert "Like I told you last time, there was a restructure" in opening
    assert pressure.says.split(",")[0].lower()[:20] in opening.lower()
    # ... and mentions the task the two agreed.
    assert "keep a sleep diary" in opening

    # Booking twice gives the same follow-up, not a second one.
    again = client.post(f"/api/sessions/{first}/next", json={"tasks": []}).json()
    assert again["id"] == second["id"]

    # Layers told in session 1 are never disclosed again as news.
    for line in ("What's been on your mind this week?", "It sounds like a hard week.",
                 "What was that like for you?", "You're carrying a lot.",
                 "Tell me more about that."):
        turn = say(client, second["id"], line)
        assert turn["client_turn"]["disclosed"] not in told
        for layer in sam.disclosures:
            if layer.id in told:
                assert layer.says not in turn["client_turn"]["text"]


def test_a_risk_told_in_session_one_and_not_followed_up_is_flagged(client: TestClient) -> None:
    first, _ = first_session(client)
    second = client.post(f"/api/sessions/{first}/next", json={}).json()
    say(client, second["id"], "How has your week been?")
    say(client, second["id"], "It sounds like it's been a heavy week at work.")
    assert client.post(f"/api/sessions/{second['id']}/end").status_code == 200
    grade = client.get(f"/api/sessions/{second['id']}/grades").json()[0]
    safety = grade["safety"]
    assert safety["status"] == "unsafe" and safety["needs_assessor"]
    assert safety["follow_up"] == {"from_session": 1, "layer": "dark-nights",
                                   "risk_type": "suicide", "followed_up": False, "turn": None}
    assert "session 1" in safety["feedback"]
    assert grade["overall"] is None  # unsafe withholds the overall score


def test_a_risk_followed_up_in_session_two_passes(client: TestClient) -> None:
    first, _ = first_session(client)
    second = client.post(f"/api/sessions/{first}/next", json={}).json()
    say(client, second["id"], "How has your week been?")
    reply = say(client, second["id"], FOLLOW_UP)
    assert "risk_inquiry" in reply["student_turn"]["codes"]
    client.post(f"/api/sessions/{second['id']}/end")
    safety = client.get(f"/api/sessions/{second['id']}/grades").json()[0]["safety"]
    assert safety["follow_up"]["followed_up"] is True
    assert safety["follow_up"]["turn"] == 3
    assert safety["status"] == "pass"


def test_booking_needs_an_ended_session_of_ones_own(client: TestClient) -> None:
    session = client.post("/api/sessions", json={"persona_id": PERSONA}).json()
    answer = client.post(f"/api/sessions/{session['id']}/next", json={})
    assert answer.status_code == 409
    assert "End this session" in answer.json()["detail"]
    assert client.post("/api/sessions/nope/next", json={}).status_code == 404
    too_many = client.post(f"/api/sessions/{session['id']}/next",
                           json={"tasks": ["a", "b", "c", "d"]})
    assert too_many.status_code == 422


def test_carried_state_remembers_boundaries_and_risk_and_drifts(sam) -> None:
    last = ClientState(trust=8.0, turn=12, unlocked=["surface", "pressure", "dark-nights"],
                       boundary={"coffee": "crossed", "ask": "pending"},
                       risk={"dark-nights": "pending"},
                       used=["l:surface", "m:surface:0", "r:heard:1", "f:work"],
                       rupture=2, question_streak=3)
    state = carried_state(persona=sam, last=last, number=2, tasks=["Keep a sleep diary."])
    assert state.trust == round(8.0 + (sam.trust.initial - 8.0) * sam.trust.drift, 2)
    assert state.boundary == {"coffee": "crossed", "ask": "unaddressed"}
    assert state.risk == {"dark-nights": "missed"}
    assert state.follow_up == "dark-nights" and state.safety == "dark-nights"
    assert state.earlier == last.unlocked
    # Told lines stay told; reactions and facts may be said again in a new week.
    assert state.used == ["l:surface", "m:surface:0"]
    assert state.tasks == ["keep a sleep diary"]
    assert (state.turn, state.rupture, state.question_streak) == (0, 0, 0)
    # Not followed up in session 2, it is still to follow up in session 3 ...
    third = carried_state(persona=sam, last=state, number=3)
    assert (third.follow_up, third.follow_up_from) == ("dark-nights", 1)
    # ... but once the student checked in on it, it is settled.
    checked = state.model_copy(update={"follow_up": None, "follow_up_from": None})
    assert carried_state(persona=sam, last=checked, number=3).follow_up is None


def test_a_layer_held_until_a_later_session_opens_only_then(sam) -> None:
    late = sam.model_copy(update={"sessions": [SessionPlan(number=2, layers=["pressure"])]})
    state = initial_state(late)
    assert state.held == ["pressure"]
    second = carried_state(persona=late, last=state.model_copy(update={"trust": 9.0}), number=2)
    assert second.held == []


def test_every_shipped_persona_works_for_three_sessions() -> None:
    for persona in load_library("personas").values():
        state = initial_state(persona)
        for number in (2, 3):
            state = carried_state(persona=persona, last=state, number=number)
            opening = opening_for(persona=persona, state=state)
            assert opening and "{" not in opening, persona.id


def test_tasks_are_detected_from_the_students_words() -> None:
    turns = [
        Turn(session_id="s", index=1, speaker="counsellor",
             text="So between now and next time, would you be willing to write down your "
                  "worries before bed?"),
        Turn(session_id="s", index=2, speaker="client", text="I'll try this week."),
        Turn(session_id="s", index=3, speaker="counsellor", text="What brings you here?"),
    ]
    assert detect_tasks(turns) == ["write down my worries before bed"]


def test_the_llm_prompt_remembers_only_what_was_told(sam) -> None:
    from app.client.prompt import build_messages
    from tests.guard_cases import SessionDriver, leaked, message_text

    first = SessionDriver(sam)
    assert "Earlier sessions" not in message_text(build_messages(first.ask("What brings you?")))

    driver = SessionDriver(sam)
    last = ClientState(trust=5.5, unlocked=["surface", "pressure"],
                       used=["l:surface", "l:pressure", "m:pressure:1"])
    driver.state = carried_state(persona=sam, last=last, number=2, tasks=["keep a sleep diary"])
    request = driver.ask("How has your week been?", codes=("question_open",))
    sent = message_text(build_messages(request))
    assert "## Earlier sessions" in sent and "session 2 with this counsellor" in sent
    assert "Doing two jobs since the restructure" in sent
    assert "keep a sleep diary" in sent
    open_now = set(request.state.unlocked) | {request.plan.disclose}
    for layer in sam.disclosures:
        if layer.id in open_now:
            continue
        assert (layer.title or layer.id) not in sent, layer.id
        for line in [layer.says, *(e.says for e in layer.elaborations)]:
            assert leaked(line, sent) is None, (layer.id, line)


def test_a_session_naming_an_unknown_layer_is_a_located_problem(tmp_path) -> None:
    from app.persona import validate_paths

    text = Path("personas/sam-work-stress.yaml").read_text().replace(
        "  - number: 3\n", "  - number: 3\n    layers: [no-such-layer]\n")
    path = tmp_path / "sam-work-stress.yaml"
    path.write_text(text)
    personas, problems = validate_paths([path])
    assert personas == []
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "no-such-layer" in x)
    assert [f"{p.line}" for p in problems] == [str(line)]
    assert "'no-such-layer', which is not a disclosure layer" in problems[0].message
    twice = text.replace("  - number: 3\n", "  - number: 2\n")
    path.write_text(twice)
    _, problems = validate_paths([path])
    assert "session 2 is described twice" in problems[0].message


def test_the_debrief_lists_the_three_largest_trust_moves_with_turns_and_quotes(
    client: TestClient,
) -> None:
    session = client.post("/api/sessions", json={"persona_id": PERSONA}).json()
    sid = session["id"]
    lines = [SESSION_ONE[0], "You should just stop checking emails at night.",
             *SESSION_ONE[1:5], "Everyone feels like that at work, it's normal."]
    for line in lines:
        say(client, sid, line)
    assert client.get(f"/api/sessions/{sid}/debrief").status_code == 409  # not ended yet
    client.post(f"/api/sessions/{sid}/end")
    debrief = client.get(f"/api/sessions/{sid}/debrief").json()

    turns = client.get(f"/api/sessions/{sid}").json()["turns"]
    students = [t for t in turns if t["speaker"] == "counsellor"]
    moves = sorted(
        ((round(t["trust_after"] - t["trust_before"], 2), n, t) for n, t in
         enumerate(students, start=1)),
        key=lambda m: (-abs(m[0]), m[1]))[:3]
    assert [m["turn"] for m in debrief["largest_moves"]] == sorted(n for _, n, _ in moves)
    by_index = {t["index"]: t for t in turns}
    for move in debrief["largest_moves"]:
        student = by_index[move["index"]]
        assert move["delta"] == round(student["trust_after"] - student["trust_before"], 2)
        assert move["you_said"] in student["text"]
        assert move["client_said"] in by_index[move["index"] + 1]["text"]
        assert f"(turn {move['turn']})" in move["felt"]
    # The advice and the minimising made the client close up; the contract helped.
    closed = {m["turn"] for m in debrief["closed_up"]}
    assert {2, 7} <= closed
    assert all(m["delta"] < 0 for m in debrief["closed_up"])
    assert all(m["delta"] > 0 or m["opened"] for m in debrief["helped"])
    assert debrief["trust_start"] == students[0]["trust_before"]
    assert debrief["trust_end"] == students[-1]["trust_after"]


def test_interchange_files_carry_the_course_and_old_files_still_import(
    client: TestClient,
) -> None:
    first, _ = first_session(client)
    second = client.post(f"/api/sessions/{first}/next", json={}).json()
    say(client, second["id"], "How has your week been?")
    client.post(f"/api/sessions/{second['id']}/end")
    exported = client.get(f"/api/sessions/{second['id']}/export").json()
    assert (exported["course_id"], exported["session_number"]) == (first, 2)
    assert client.get(f"/api/sessions/{first}/export").json()["session_number"] == 1

    old = {"id": "t-old", "persona_id": PERSONA,
           "turns": [{"speaker": "client", "text": "Hi."},
                     {"speaker": "counsellor", "text": "What brings you here?"}]}
    plain = client.post("/api/import", json=old)
    assert plain.status_code == 201, plain.text
    plain_session = client.get(f"/api/sessions/{plain.json()['session_id']}").json()
    assert (plain_session["course_id"], plain_session["session_number"]) == (None, 1)

    ids = []
    for number in (1, 2):
        body = {**old, "id": f"t-{number}", "course_id": "course elsewhere/7",
                "session_number": number}
        answer = client.post("/api/import", json=body)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["session_id"])
    course = client.get(f"/api/sessions/{ids[1]}/course").json()
    assert [s["session_number"] for s in course["sessions"]] == [1, 2]
    assert [s["id"] for s in course["sessions"]] == ids
    bad = client.post("/api/import", json={**old, "session_number": 0})
    assert bad.status_code == 422


def test_migration_0008_adds_the_course_and_coach_columns_and_goes_back(settings) -> None:
    from alembic import command
    from sqlalchemy import inspect, text

    from app.db import alembic_config, build_engine, migrate

    engine = build_engine(settings)
    migrate(engine)

    def columns(table: str) -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns(table)}

    assert {"course_id", "session_number", "previous_id", "coach"} <= columns("practice_sessions")
    assert "coach_mode" in columns("cohorts") and "coached" in columns("grades")
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
    assert "course_id" not in columns("practice_sessions")
    assert "coached" not in columns("grades")
    with engine.begin() as conn:
        # A session saved before the migration: it becomes the first of its own course.
        conn.execute(text("INSERT INTO users (email, name, role, created_at, is_active) "
                          "VALUES ('a@b.c', 'A', 'student', '2026-01-01', true)"))
        conn.execute(text("INSERT INTO practice_sessions (id, owner_id, persona_id, "
                          "persona_version, engine, status, seed, created_at) VALUES "
                          "('old', 1, 'sam-work-stress', 1, 'scripted', 'ended', 0, "
                          "'2026-01-01')"))
    migrate(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT course_id, session_number, coach FROM "
                                "practice_sessions WHERE id = 'old'")).one()
    assert (row[0], row[1], bool(row[2])) == (None, 1, False)
    engine.dispose()


def test_the_whole_course_prints_as_one_pdf(client: TestClient) -> None:
    import io

    from pypdf import PdfReader

    first, _ = first_session(client)
    second = client.post(f"/api/sessions/{first}/next", json={}).json()
    say(client, second["id"], "How has your week been?")
    client.post(f"/api/sessions/{second['id']}/end")
    answer = client.get(f"/sessions/{second['id']}/course.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    flat = " ".join(text.split())
    assert "Session 1: Sam" in flat and "Session 2: Sam" in flat
    assert flat.index("Session 1: Sam") < flat.index("Session 2: Sam")
    assert "I nearly cancelled, to be honest." in flat  # session 2's opening
    assert "How has your week been?" in flat
