"""Concurrent requests on one session, against a real server and a fake model server.

Identical sends, different sends and Retries arrive at once (as a double-click, a flaky network
or two open tabs make them). None may answer 5xx; each message is stored once, gets exactly one
reply, and the model is asked once per reply.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fake_openai import FakeOpenAI, failure
from tests.support import ServerProcess, at_once, llm_env

pytestmark = pytest.mark.slow

PERSONA = "sam-work-stress"
REPLY = "Yeah. Work's just been a lot lately. I'm not sleeping much."


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    # A slow first token keeps the first request busy while its copies arrive.
    with FakeOpenAI(default_reply=REPLY, first_token_delay=0.4) as server:
        yield server


@pytest.fixture
def server(server_env: dict[str, str], fake: FakeOpenAI) -> Iterator[ServerProcess]:
    env = {**server_env, **llm_env(fake.base_url, RAPPORT_LLM_TIMEOUT="10")}
    process = ServerProcess(env=env).start()
    try:
        yield process
    finally:
        process.stop()


def send(url: str, sid: str, text: str, message_id: str | None, *, stream: bool = False):
    def call() -> httpx.Response:
        body = {"text": text} | ({"client_message_id": message_id} if message_id else {})
        headers = {"Accept": "text/event-stream"} if stream else {}
        return httpx.post(f"{url}/api/sessions/{sid}/turns", json=body, headers=headers,
                          timeout=40)

    return call


def retry(url: str, sid: str, *, stream: bool = False):
    def call() -> httpx.Response:
        headers = {"Accept": "text/event-stream"} if stream else {}
        return httpx.post(f"{url}/api/sessions/{sid}/retry", headers=headers, timeout=40)

    return call


def chat_calls(fake: FakeOpenAI) -> int:
    return len(fake.chat_bodies)


def test_concurrent_sends_and_retries_never_fail_or_double_up(
    server: ServerProcess, fake: FakeOpenAI
) -> None:
    url = server.url
    sid = httpx.post(f"{url}/api/sessions", json={"persona_id": PERSONA}).json()["id"]
    answers: list[httpx.Response] = []

    # 1. One message sent six times at once (JSON and SSE mixed): one turn, one model call.
    before = chat_calls(fake)
    same = at_once([send(url, sid, "What brings you in today?", "m-1", stream=i % 2 == 1)
                    for i in range(6)])
    answers += same
    assert [r.status_code for r in same] == [200] * 6, [r.text[:200] for r in same]
    assert chat_calls(fake) - before == 1
    replies = {r.json()["client_turn"]["index"] for r in same if not r.text.startswith("event")}
    assert replies == {2}

    # 2. Four different messages at once: one is taken, the others are told why (409).
    before = chat_calls(fake)
    different = at_once([send(url, sid, f"It sounds like a lot ({i}).", f"d-{i}")
                         for i in range(4)])
    answers += different
    codes = sorted(r.status_code for r in different)
    assert codes == [200, 409, 409, 409], [r.text[:200] for r in different]
    assert chat_calls(fake) - before == 1

    # 3. The model fails, then four Retries (and a repeat of the message) arrive at once.
    fake.enqueue(failure(500, "model server down"))
    failed = send(url, sid, "What's that been like for you?", "f-1")()
    assert failed.status_code == 502 and failed.json()["retryable"] is True
    before = chat_calls(fake)
    retried = at_once([retry(url, sid, stream=i == 0) for i in range(4)]
                      + [send(url, sid, "What's that been like for you?", "f-1")])
    answers += retried
    assert [r.status_code for r in retried] == [200] * 5, [r.text[:200] for r in retried]
    assert chat_calls(fake) - before == 1

    assert not [r for r in answers if r.status_code >= 500]
    turns = httpx.get(f"{url}/api/sessions/{sid}").json()["turns"]
    assert [t["index"] for t in turns] == list(range(len(turns)))
    assert [t["speaker"] for t in turns] == ["client", "counsellor"] * 3 + ["client"]
    students = [t["text"] for t in turns if t["speaker"] == "counsellor"]
    assert len(students) == len(set(students)) == 3
    # One model call per client reply, plus the one that failed.
    assert chat_calls(fake) == 3 + 1
