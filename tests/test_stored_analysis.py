"""Analysis once: a turn's analysis is saved with it and grading reads it (issue 14)."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.analysis.stored import EVENTS_KEY, analyzer_version
from app.grading import grade_analytic, inputs
from app.grading.service import default_rubric, session_input
from app.practice import session_turns
from app.services import services_of
from tests.counsellors import GOOD_LINES, POOR_LINES
from tests.support import ServerProcess

LINES = [*GOOD_LINES[:6], *POOR_LINES[:4]]


def hold(client: TestClient, persona: str = "sam-work-stress") -> str:
    """A whole session through the HTTP API, ended (which grades it)."""
    sid = client.post("/api/sessions", json={"persona_id": persona}).json()["id"]
    for line in LINES:
        answer = client.post(f"/api/sessions/{sid}/turns", json={"text": line})
        assert answer.status_code == 200, answer.text
    assert client.post(f"/api/sessions/{sid}/end").status_code == 200
    return sid


def stored(client: TestClient, sid: str):
    app = client.app
    with Session(services_of(app).db_engine) as db:
        from app.models import PracticeSession

        session = db.get(PracticeSession, sid)
        turns = session_turns(db=db, session_id=sid)
        db.expunge_all()
    return session, turns


def test_each_student_turn_keeps_the_analysis_the_client_reacted_to(client: TestClient) -> None:
    sid = hold(client)
    _, turns = stored(client, sid)
    students = [t for t in turns if t.speaker == "counsellor"]
    assert len(students) == len(LINES)
    for turn in students:
        record = turn.events[EVENTS_KEY]
        assert record["version"] == analyzer_version()
        # Every saved code has its quote, and every quote is the student's own words.
        assert {code for code, *_ in record["evidence"]} == set(turn.codes)
        assert all(quote in turn.text for _, quote, *_ in record["evidence"])


def test_grading_reads_the_saved_analysis_and_grades_as_a_fresh_analysis_would(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = hold(client)
    session, turns = stored(client, sid)
    persona = services_of(client.app).library.personas()[session.persona_id]
    rubric = default_rubric(services_of(client.app).library.rubrics())
    calls: list[str] = []
    real = inputs.analyze_turn

    def counted(text, **kwargs):
        calls.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(inputs, "analyze_turn", counted)
    from_records = inputs.input_from_session(session_id=sid, turns=turns, persona=persona)
    assert calls == []  # nothing analysed again

    # The same session as it was stored before records existed: every turn analysed again.
    old = copy.deepcopy(turns)
    for turn in old:
        if turn.events:
            turn.events.pop(EVENTS_KEY, None)
    from_scratch = inputs.input_from_session(session_id=sid, turns=old, persona=persona)
    assert len(calls) == len(LINES)
    assert from_records.analyses == from_scratch.analyses
    assert (grade_analytic(from_records, rubric).model_dump()
            == grade_analytic(from_scratch, rubric).model_dump())


def test_a_record_by_another_analyzer_is_not_trusted(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = hold(client)
    _, turns = stored(client, sid)
    target = next(t for t in turns if t.speaker == "counsellor")
    target.events = {**target.events, EVENTS_KEY: {
        "version": "retrained-model", "evidence": [["judgement", "made up", 1.0, "model"]]}}
    calls: list[str] = []
    real = inputs.analyze_turn
    monkeypatch.setattr(inputs, "analyze_turn",
                        lambda text, **kw: calls.append(text) or real(text, **kw))
    inp = inputs.input_from_session(session_id=sid, turns=turns, persona=None)
    assert calls == [target.text]  # only that turn, analysed afresh
    assert all(e.quote != "made up" for e in inp.analyses[target.index].evidence)


def test_a_malformed_record_falls_back_to_analysis(client: TestClient) -> None:
    sid = hold(client)
    _, turns = stored(client, sid)
    target = next(t for t in turns if t.speaker == "counsellor")
    good = inputs.input_from_session(session_id=sid, turns=turns, persona=None)
    target.events = {**target.events,
                     EVENTS_KEY: {"version": analyzer_version(), "evidence": [["x"]]}}
    again = inputs.input_from_session(session_id=sid, turns=turns, persona=None)
    assert again.analyses[target.index] == good.analyses[target.index]


def test_ending_a_session_grades_from_the_records(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inputs, "analyze_turn",
                        lambda *a, **k: pytest.fail("grading analysed a turn again"))
    sid = hold(client)
    grades = client.get(f"/api/sessions/{sid}/grades")
    assert grades.status_code == 200, grades.text
    assert grades.json() and grades.json()[0]["engine"] == "analytic"
    app = client.app
    with Session(services_of(app).db_engine) as db:
        from app.models import PracticeSession

        inp = session_input(db=db, session=db.get(PracticeSession, sid), persona=None)
    assert len(inp.analyses) == len(LINES)


def test_ending_a_session_grades_off_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grade is made on a worker thread, then in the grading process: never on the loop."""
    import asyncio
    import time

    from app.grading import on_end

    where: list[bool] = []
    real = on_end.grade_analytic

    def watched(inp, rubric):
        try:
            asyncio.get_running_loop()
            where.append(True)  # an event loop runs in this thread: it would stall
        except RuntimeError:
            where.append(False)
        return real(inp, rubric)

    monkeypatch.setattr(on_end, "grade_analytic", watched)
    read_here: list[str] = []
    real_read = on_end.graded_session_input

    def reading(**kwargs):
        read_here.append(kwargs["session"].id)
        return real_read(**kwargs)

    monkeypatch.setattr(on_end, "graded_session_input", reading)
    on_end.grading_process_ready()  # start the grading process (if not started already)
    deadline = time.monotonic() + 120
    while not on_end.grading_process_ready():
        if time.monotonic() > deadline:
            pytest.fail("the grading process never became ready")
        time.sleep(0.1)
    # Ready: grades are made in the other process, so this one never grades at all.
    sid = hold(client)
    assert where == []
    assert read_here == []  # the grading process read the session's turns itself
    grades = client.get(f"/api/sessions/{sid}/grades").json()
    assert len(grades) == 1 and grades[0]["engine"] == "analytic"
    # Ending again keeps the one grade made at the end.
    assert client.post(f"/api/sessions/{sid}/end").status_code == 200
    assert len(client.get(f"/api/sessions/{sid}/grades").json()) == 1


def test_until_the_grading_process_is_ready_a_worker_thread_grades(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from app.grading import on_end

    where: list[bool] = []
    real = on_end.grade_analytic

    def watched(inp, rubric):
        try:
            asyncio.get_running_loop()
            where.append(True)
        except RuntimeError:
            where.append(False)
        return real(inp, rubric)

    monkeypatch.setattr(on_end, "grade_analytic", watched)
    monkeypatch.setattr(on_end, "_process", lambda: None)
    sid = hold(client)
    assert where == [False]
    assert len(client.get(f"/api/sessions/{sid}/grades").json()) == 1


def _children(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_grading_process_goes_when_its_server_is_killed(server_env) -> None:
    """kill -9 runs no shutdown: the grading process must notice and exit by itself."""
    server = ServerProcess(env=server_env).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            sid = http.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()["id"]
            http.post(f"/api/sessions/{sid}/turns", json={"text": LINES[0]})
            assert http.post(f"/api/sessions/{sid}/end").status_code == 200
        assert server.proc is not None
        deadline = time.monotonic() + 60
        while not (helpers := _children(server.proc.pid)):
            assert time.monotonic() < deadline, "no grading process was started"
            time.sleep(0.2)
        server.kill()
        deadline = time.monotonic() + 15
        while alive := [p for p in helpers if _alive(p)]:
            assert time.monotonic() < deadline, f"left running after kill -9: {alive}"
            time.sleep(0.2)
    finally:
        server.stop()


def test_the_record_stays_on_the_server(client: TestClient) -> None:
    """The API shows a turn's events without the grader's record (its quotes repeat the text)."""
    sid = client.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()["id"]
    answer = client.post(f"/api/sessions/{sid}/turns", json={"text": LINES[0]}).json()
    assert answer["student_turn"]["events"] and EVENTS_KEY not in answer["student_turn"]["events"]
    shown = client.get(f"/api/sessions/{sid}").json()
    assert all(EVENTS_KEY not in (t["events"] or {}) for t in shown["turns"])
    _, turns = stored(client, sid)
    assert EVENTS_KEY in turns[1].events  # kept in the database all the same


def test_a_grading_process_that_fails_leaves_the_grade_to_a_worker_thread(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grading process reads the database on its own connection: if that fails, the end
    still grades (on a thread) rather than answering 500."""
    import time

    from app.grading import on_end

    on_end.grading_process_ready()
    deadline = time.monotonic() + 120
    while not on_end.grading_process_ready():
        if time.monotonic() > deadline:
            pytest.fail("the grading process never became ready")
        time.sleep(0.1)
    # A URL the grading process cannot open; the server's own engine still works.
    monkeypatch.setattr(on_end, "_process_url", lambda engine: "sqlite:////nonexistent/x.db")
    sid = hold(client)
    grades = client.get(f"/api/sessions/{sid}/grades").json()
    assert len(grades) == 1 and grades[0]["engine"] == "analytic"
