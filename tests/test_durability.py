"""Durability: after `kill -9` of a real server mid-session, a restart resumes every turn."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from tests.support import ServerProcess

pytestmark = pytest.mark.slow

GOOD_TURNS = [
    "What brings you here today?",
    "It sounds like work has been wearing you down and the nights are the hardest part.",
    "That makes a lot of sense, given how much you've been carrying.",
]


def test_kill_9_then_restart_resumes_the_session(server_env: dict[str, str]) -> None:
    server = ServerProcess(env=server_env).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            session = http.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()
            sid = session["id"]
            for text in GOOD_TURNS:
                assert http.post(f"/api/sessions/{sid}/turns", json={"text": text}).is_success
        server.kill()
    finally:
        server.stop()

    restarted = ServerProcess(env=server_env, port=server.port).start()
    try:
        with httpx.Client(base_url=restarted.url, timeout=10) as http:
            turns = http.get(f"/api/sessions/{sid}").json()["turns"]
            assert len(turns) == 1 + 2 * len(GOOD_TURNS)
            assert [t["text"] for t in turns if t["speaker"] == "counsellor"] == GOOD_TURNS
            more = http.post(f"/api/sessions/{sid}/turns", json={"text": "Tell me more."})
            assert more.status_code == 200
            assert more.json()["client_turn"]["index"] == 8
    finally:
        restarted.stop()


def test_kill_9_mid_reply_keeps_the_student_turn(server_env: dict[str, str]) -> None:
    # A slow typing pace leaves time to kill the server while the reply is still streaming.
    env = {**server_env, "RAPPORT_STREAM_DELAY": "0.5"}
    server = ServerProcess(env=env).start()
    text = "What has it been like for you lately?"
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            sid = http.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()["id"]
            seen_student = threading.Event()
            with http.stream(
                "POST",
                f"/api/sessions/{sid}/turns",
                json={"text": text, "client_message_id": "k-1"},
                headers={"Accept": "text/event-stream"},
            ) as response:
                for line in response.iter_lines():
                    if line.startswith("event: student"):
                        seen_student.set()
                    if line.startswith("event: delta"):
                        server.kill()
                        break
            assert seen_student.is_set()
    except httpx.HTTPError:
        pass  # the connection dies with the server, as it would for a student
    finally:
        server.stop()

    restarted = ServerProcess(env=server_env, port=server.port).start()
    try:
        # The dead worker's claim on the reply lapses within its lease; the repeat waits for it.
        with httpx.Client(base_url=restarted.url, timeout=30) as http:
            stored = http.get(f"/api/sessions/{sid}").json()
            assert stored["turns"][-1]["text"] == text
            assert stored["awaiting_reply"] is True
            retried = http.post(
                f"/api/sessions/{sid}/turns", json={"text": text, "client_message_id": "k-1"}
            )
            assert retried.status_code == 200
            final = http.get(f"/api/sessions/{sid}").json()
            assert [t["speaker"] for t in final["turns"]] == ["client", "counsellor", "client"]
            assert json.dumps(final).count(text) == 1
    finally:
        restarted.stop()
