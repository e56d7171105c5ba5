"""The HTTP API: the happy path, every bad input, and that nothing typed is ever lost."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app.client.engine import EngineError, ReplyEvent
from app.config import Settings
from app.main import create_app
from app.services import services_of

PERSONA = "sam-work-stress"


def start(client: TestClient, persona: str = PERSONA) -> dict:
    response = client.post("/api/sessions", json={"persona_id": persona})
    assert response.status_code == 201, response.text
    return response.json()


def turns_of(client: TestClient, session_id: str) -> list[dict]:
    return client.get(f"/api/sessions/{session_id}").json()["turns"]


def sse_events(body: str) -> list[tuple[str, dict]]:
    events = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_personas_list_has_cards_without_disclosures(client: TestClient) -> None:
    personas = client.get("/api/personas").json()
    assert len(personas) >= 8
    sam = next(p for p in personas if p["id"] == PERSONA)
    for key in ("id", "title", "difficulty", "tags", "content_warnings", "brief"):
        assert key in sam
    assert "disclosures" not in json.dumps(personas)


def test_session_flow_json(client: TestClient) -> None:
    session = start(client)
    assert session["status"] == "active"
    assert session["persona_id"] == PERSONA
    assert [t["speaker"] for t in session["turns"]] == ["client"]
    assert session["state"]["trust"] >= 0
    answer = client.post(
        f"/api/sessions/{session['id']}/turns",
        json={"text": "It sounds like work has been wearing you down. What's been hardest?"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["student_turn"]["speaker"] == "counsellor"
    assert body["student_turn"]["index"] == 1
    assert body["client_turn"]["speaker"] == "client"
    assert body["client_turn"]["index"] == 2
    assert body["client_turn"]["text"].strip()
    assert "reflection_complex" in body["student_turn"]["codes"] or (
        "question_open" in body["student_turn"]["codes"]
    )
    stored = turns_of(client, session["id"])
    assert [t["index"] for t in stored] == [0, 1, 2]
    assert stored[2]["trust_after"] == body["state"]["trust"]


def test_session_flow_sse(client: TestClient) -> None:
    session = start(client)
    response = client.post(
        f"/api/sessions/{session['id']}/turns",
        json={"text": "What brings you in today?"},
        headers={"Accept": "text/event-stream"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[0] == "student" and names[-1] == "done"
    assert "delta" in names
    streamed = "".join(data["text"] for name, data in events if name == "delta")
    done = events[-1][1]
    assert streamed.strip() == done["client_turn"]["text"].strip()
    assert done["state"]["turn"] == 1


def test_end_session_then_turn_is_refused(client: TestClient) -> None:
    session = start(client)
    ended = client.post(f"/api/sessions/{session['id']}/end")
    assert ended.json() == {"id": session["id"], "status": "ended"}
    refused = client.post(f"/api/sessions/{session['id']}/turns", json={"text": "Hello?"})
    assert refused.status_code == 409
    assert "ended" in refused.json()["detail"]
    assert len(turns_of(client, session["id"])) == 1


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"text": ""}, 422, "empty"),
        ({"text": "   \n\t "}, 422, "empty"),
        ({}, 422, "text: required field missing"),
        ({"text": 42}, 422, "text"),
        ({"text": "hi", "colour": "red"}, 422, "colour: unknown field"),
    ],
    ids=["empty", "whitespace", "missing", "wrong-type", "unknown-field"],
)
def test_bad_turn_bodies(client: TestClient, body: dict, status: int, fragment: str) -> None:
    session = start(client)
    response = client.post(f"/api/sessions/{session['id']}/turns", json=body)
    assert response.status_code == status
    assert fragment in response.json()["detail"]
    assert len(turns_of(client, session["id"])) == 1


def test_malformed_json_names_the_problem(client: TestClient) -> None:
    session = start(client)
    response = client.post(
        f"/api/sessions/{session['id']}/turns",
        content=b'{"text": "unterminated',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "Malformed JSON" in response.json()["detail"]
    assert len(turns_of(client, session["id"])) == 1


def test_text_over_limit(tmp_path, db_url) -> None:
    settings = Settings(data_dir=tmp_path, database_url=db_url, stream_delay=0, max_turn_chars=50)
    with TestClient(create_app(settings)) as client:
        session = start(client)
        response = client.post(f"/api/sessions/{session['id']}/turns", json={"text": "a" * 51})
        assert response.status_code == 422
        assert "51 characters; the limit is 50" in response.json()["detail"]
        assert len(turns_of(client, session["id"])) == 1
        ok = client.post(f"/api/sessions/{session['id']}/turns", json={"text": "a" * 50})
        assert ok.status_code == 200


def test_default_limit_is_4000(client: TestClient) -> None:
    session = start(client)
    response = client.post(f"/api/sessions/{session['id']}/turns", json={"text": "b" * 4001})
    assert response.status_code == 422
    assert "limit is 4,000" in response.json()["detail"]


def test_huge_body_is_refused_before_reading(client: TestClient) -> None:
    session = start(client)
    response = client.post(
        f"/api/sessions/{session['id']}/turns",
        content=json.dumps({"text": "x" * 200_000}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_unknown_persona_and_session(client: TestClient) -> None:
    response = client.post("/api/sessions", json={"persona_id": "nobody-here"})
    assert response.status_code == 404
    assert "nobody-here" in response.json()["detail"]
    for method, path in [
        ("get", "/api/sessions/missing123"),
        ("post", "/api/sessions/missing123/end"),
        ("post", "/api/sessions/missing123/retry"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 404, path
        assert "missing123" in response.json()["detail"]
    response = client.post("/api/sessions/missing123/turns", json={"text": "hello"})
    assert response.status_code == 404
    assert "missing123" in response.json()["detail"]


def test_script_text_is_stored_verbatim(client: TestClient) -> None:
    session = start(client)
    text = "<script>alert('x')</script> how are you?"
    client.post(f"/api/sessions/{session['id']}/turns", json={"text": text})
    assert turns_of(client, session["id"])[1]["text"] == text


def test_repeated_message_id_never_duplicates(client: TestClient) -> None:
    session = start(client)
    url = f"/api/sessions/{session['id']}/turns"
    first = client.post(url, json={"text": "How are you today?", "client_message_id": "m-1"})
    again = client.post(url, json={"text": "How are you today?", "client_message_id": "m-1"})
    assert first.status_code == again.status_code == 200
    assert first.json()["client_turn"]["text"] == again.json()["client_turn"]["text"]
    assert len(turns_of(client, session["id"])) == 3


class FailingEngine:
    """A client engine that fails mid-stream, as a model server might (the whole interface of
    app.client.engine.ClientEngine)."""

    name = "scripted"
    model = None
    demo_quality = False
    history_turns = 6

    def __init__(self) -> None:
        self.calls = 0

    async def check(self) -> str | None:
        return None

    async def aclose(self) -> None:
        return None

    async def reply(self, request):
        self.calls += 1
        yield ReplyEvent(kind="delta", text="I was saying ")
        raise EngineError("The model server stopped answering. Try again.", retryable=True)


def test_failed_reply_keeps_the_student_turn_and_retry_answers_once(client: TestClient) -> None:
    session = start(client)
    real = services_of(client.app).engines["scripted"]
    failing = FailingEngine()
    services_of(client.app).engines["scripted"] = failing
    url = f"/api/sessions/{session['id']}/turns"
    text = "What would you like to talk about today?"
    failed = client.post(url, json={"text": text, "client_message_id": "m-7"})
    assert failed.status_code == 502
    assert failed.json()["retryable"] is True
    assert "stopped answering" in failed.json()["detail"]
    stored = client.get(f"/api/sessions/{session['id']}").json()
    assert stored["awaiting_reply"] is True
    assert stored["turns"][-1]["text"] == text
    # A new message is refused until the failed reply is retried, so nothing interleaves.
    blocked = client.post(url, json={"text": "Hello?"})
    assert blocked.status_code == 409
    assert "Retry" in blocked.json()["detail"]
    # SSE failure reports an error event, and still nothing is lost.
    streamed = client.post(
        f"/api/sessions/{session['id']}/retry", headers={"Accept": "text/event-stream"}
    )
    names = [name for name, _ in sse_events(streamed.text)]
    assert names[0] == "student" and names[-1] == "error"
    services_of(client.app).engines["scripted"] = real
    retried = client.post(url, json={"text": text, "client_message_id": "m-7"})
    assert retried.status_code == 200
    again = client.post(f"/api/sessions/{session['id']}/retry")
    assert again.status_code == 409
    turns = turns_of(client, session["id"])
    assert [t["speaker"] for t in turns] == ["client", "counsellor", "client"]


def test_sessions_list(client: TestClient) -> None:
    first = start(client)
    second = start(client, "sam-work-stress")
    listed = client.get("/api/sessions").json()
    assert [s["id"] for s in listed][:2] == [second["id"], first["id"]]
    assert listed[0]["turn_count"] == 1


def test_an_unexpected_error_is_a_plain_json_500_and_is_logged(client: TestClient, caplog) -> None:
    session = start(client)

    class BrokenEngine(FailingEngine):
        async def reply(self, request):
            raise RuntimeError("engine bug")
            yield  # pragma: no cover

    services_of(client.app).engines["scripted"] = BrokenEngine()
    # Not entered as a context manager: the app is already started by `client`.
    plain = TestClient(client.app, raise_server_exceptions=False)
    response = plain.post(f"/api/sessions/{session['id']}/turns", json={"text": "Hello?"})
    assert response.status_code == 500
    assert response.json()["detail"].startswith("Something went wrong on the server")
    assert "engine bug" not in response.text
    assert "engine bug" in caplog.text
    assert turns_of(client, session["id"])[-1]["text"] == "Hello?"


def test_an_unexpected_error_mid_stream_is_an_error_event(client: TestClient, caplog) -> None:
    session = start(client)

    class BrokenEngine(FailingEngine):
        async def reply(self, request):
            yield ReplyEvent(kind="delta", text="Well ")
            raise RuntimeError("engine bug")

    services_of(client.app).engines["scripted"] = BrokenEngine()
    response = client.post(
        f"/api/sessions/{session['id']}/turns",
        json={"text": "Hello?"},
        headers={"Accept": "text/event-stream"},
    )
    name, data = sse_events(response.text)[-1]
    assert name == "error" and data["retryable"] is True
    assert "engine bug" not in response.text
    assert "engine bug" in caplog.text
    assert client.get(f"/api/sessions/{session['id']}").json()["awaiting_reply"] is True


def test_a_domain_error_answers_with_its_own_status_in_one_shape(tmp_path, db_url) -> None:
    """Domain code raises without knowing HTTP; one handler gives the status and the shape."""
    from app.domain import DomainError
    from app.practice import ConflictError

    class Gone(DomainError):
        status_code = 410

    app = create_app(Settings(data_dir=tmp_path, database_url=db_url))

    @app.get("/api/_gone")
    def _gone() -> None:
        raise Gone("That was here a moment ago.")

    @app.get("/_conflict")
    def _conflict() -> None:
        raise ConflictError("This session has ended.")

    with TestClient(app) as client:
        answer = client.get("/api/_gone")
        assert answer.status_code == 410
        assert answer.json() == {"detail": "That was here a moment ago."}
        page = client.get("/_conflict", headers={"Accept": "text/html"})
        assert page.status_code == 409 and "text/html" in page.headers["content-type"]
        assert "This session has ended." in page.text
        assert "That cannot be done right now" in page.text  # a heading for what kind it is
