"""A model-voiced client in a real browser: the reply streams in, and Retry recovers an outage."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.test_practice_browser import (
    PERSONA,
    RECORDER,
    start_session,
    turn_texts,
    wait_for_reply,
)
from tests.fake_openai import FakeOpenAI
from tests.support import ServerProcess, llm_env

pytestmark = pytest.mark.browser

FIRST = "Yeah. Work's been a lot, and I'm barely sleeping."
SECOND = "It's the emails, mostly. I lie there going over them."


def test_llm_reply_streams_and_retry_recovers_after_the_server_stops(server_env, page) -> None:
    fake = FakeOpenAI(model="fake-model", token_interval=0.03).start()
    port = fake.port
    env = {**server_env, **llm_env(fake.base_url)}
    server = ServerProcess(env=env).start()
    try:
        session_id = start_session(page, server.url, PERSONA)
        assert "language model (fake-model)" in page.locator(".voice").text_content()
        page.evaluate(RECORDER)
        fake.enqueue(FIRST)
        page.locator("#message").fill("What brings you in today?")
        page.keyboard.press("Enter")
        wait_for_reply(page, 3)
        partials = [r["partial"] for r in page.evaluate("window.__rec") if r["partial"]]
        assert len(set(partials)) >= 3, "the model's reply did not stream in"
        assert turn_texts(page)[-1] == FIRST

        fake.stop()
        message = "It sounds like the nights are the hardest part."
        page.locator("#message").fill(message)
        page.keyboard.press("Enter")
        alert = page.get_by_role("alert")
        alert.wait_for()
        retry = page.get_by_role("button", name="Retry")
        assert retry.is_visible()
        # Nothing the student typed is lost while the model server is away.
        stored = httpx.get(f"{server.url}/api/sessions/{session_id}").json()
        assert stored["awaiting_reply"] is True
        assert stored["turns"][-1]["text"] == message

        fake = FakeOpenAI(model="fake-model", token_interval=0.01).start(port=port)
        fake.enqueue(SECOND)
        retry.click()
        wait_for_reply(page, 5)
        assert page.locator("#chat-error").is_hidden()
        assert turn_texts(page)[-1] == SECOND
        turns = httpx.get(f"{server.url}/api/sessions/{session_id}").json()["turns"]
        assert [t["speaker"] for t in turns] == ["client", "counsellor", "client"] * 1 + [
            "counsellor",
            "client",
        ]
        assert [t["text"] for t in turns if t["speaker"] == "counsellor"][-1] == message
        assert turns[-1]["engine"] == "llm"
    finally:
        server.stop()
        fake.stop()
