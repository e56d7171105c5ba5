"""A student in a real browser: library, a streamed six-turn session, reload, end, transcript."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from sqlmodel import Session

from app import practice
from app.config import Settings
from app.db import build_engine
from app.persona import load_library
from tests.browser.flow import through_reflection

pytestmark = pytest.mark.browser

PERSONA = "sam-work-stress"
GOOD_COUNSELLOR = [
    "It sounds like coming here today feels a bit uncertain for you.",
    "What has been weighing on you most lately?",
    "You're feeling worn down, and it has been going on for a while now.",
    "That makes a lot of sense, given how much you have been carrying.",
    "How has all of this been affecting you from day to day?",
    "So part of you is exhausted, and part of you is still trying to hold everything together.",
]
SCRIPT = "<script>alert(1)</script>"

# Watches the chat in the page: every change records whether the typing indicator shows and
# what the reply being streamed says so far, so a test can tell streaming from a single paint.
RECORDER = """() => {
  window.__rec = [];
  const typing = document.getElementById("typing");
  new MutationObserver(() => {
    const live = document.querySelector("#conversation .turn--streaming .turn__text");
    window.__rec.push({
      typing: !typing.hidden,
      busy: document.getElementById("conversation").getAttribute("aria-busy"),
      partial: live ? live.textContent : null,
    });
  }).observe(document.getElementById("chat"),
             {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def sse_events(body: str) -> list[tuple[str, dict]]:
    """Parse a text/event-stream body into (event, data) pairs."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


def persona_card(server_url: str) -> dict:
    personas = httpx.get(f"{server_url}/api/personas").json()
    return next((p for p in personas if p["id"] == PERSONA), personas[0])


def start_session(page, server_url: str, persona_id: str) -> str:
    """Open the library and start a session with the keyboard; returns the session id."""
    page.goto(f"{server_url}/")
    button = page.locator(f'article[data-persona-id="{persona_id}"]').get_by_role(
        "button", name="Start session"
    )
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/sessions/[\w-]+$"))
    return page.url.rsplit("/", 1)[1]


def turn_texts(page, selector: str = "#turns > li .turn__text") -> list[str]:
    return page.locator(selector).all_text_contents()


def wait_for_reply(page, turns: int) -> None:
    page.locator("#turns > li").nth(turns - 1).wait_for()
    page.wait_for_function(
        "() => !document.querySelector('.turn--streaming') "
        "&& document.getElementById('typing').hidden "
        "&& document.getElementById('send').getAttribute('aria-disabled') !== 'true'"
    )


def test_six_turn_session_streams_saves_and_draws_the_trust_curve(live_server, page) -> None:
    card = persona_card(live_server.url)
    client = card["client"]["name"]
    page.goto(f"{live_server.url}/")
    warning_box = page.locator(f'article[data-persona-id="{card["id"]}"] .warnings')
    assert warning_box.is_visible()
    session_id = start_session(page, live_server.url, card["id"])

    first = turn_texts(page)
    assert len(first) == 1 and first[0].strip()
    page.evaluate(RECORDER)
    box = page.get_by_label(f"Your response to {client}")
    replies: list[str] = []
    for number, message in enumerate(GOOD_COUNSELLOR, start=1):
        box.focus()
        page.keyboard.type(message)
        with page.expect_response(lambda r: r.url.endswith("/turns")) as answer:
            page.keyboard.press("Enter")
        # The draft stays in the box (read-only) until the server confirms it saved it.
        wait_for_reply(page, 1 + 2 * number)
        events = sse_events(answer.value.text())
        names = [name for name, _ in events]
        assert names[0] == "student" and names[-1] == "done", names
        assert "delta" in names[1:-1], f"turn {number}: no delta before done: {names}"
        record = page.evaluate("window.__rec.splice(0)")
        assert any(r["typing"] for r in record), f"turn {number}: no typing indicator"
        assert any(r["busy"] == "true" for r in record), f"turn {number}: live region not busy"
        partials = [r["partial"] for r in record if r["partial"]]
        reply = turn_texts(page)[-1]
        assert len(set(partials)) >= 2, f"turn {number}: the reply did not grow word by word"
        assert all(reply.startswith(p.rstrip()) for p in partials)
        assert reply.strip() and reply == events[-1][1]["client_turn"]["text"]
        assert not replies or reply != replies[-1], f"turn {number} repeated the last reply"
        replies.append(reply)
        assert box.input_value() == ""
        assert page.locator("#chat-error").is_hidden()

    page.reload()
    texts = turn_texts(page)
    assert len(texts) == 13
    assert texts[1::2] == GOOD_COUNSELLOR
    assert texts[2::2] == replies
    assert texts[0] == first[0]
    speakers = page.locator("#turns > li .turn__speaker").all_text_contents()
    assert speakers[:2] == [client, "You"]

    end = page.get_by_role("button", name="End session")
    end.focus()
    page.keyboard.press("Enter")
    # Ending grades the session and opens its report; the transcript is one link away.
    through_reflection(page, live_server.url, session_id)
    page.goto(f"{live_server.url}/sessions/{session_id}/transcript")
    assert page.locator("svg.trust-chart circle.trust-point").count() == 6
    assert page.locator("svg.trust-chart circle.trust-point title").count() == 6
    summary = page.locator("#trust-summary").text_content()
    assert "over 6 turns" in summary
    saved = page.locator(".tturn--student .tturn__text").all_text_contents()
    assert saved == GOOD_COUNSELLOR
    assert page.locator(".tturn--client .tturn__text").all_text_contents()[1:] == replies
    assert page.locator(".tturn--student .codes").count() == 6

    stored = httpx.get(f"{live_server.url}/api/sessions/{session_id}").json()
    assert stored["status"] == "ended"
    assert [t["text"] for t in stored["turns"] if t["speaker"] == "counsellor"] == GOOD_COUNSELLOR
    page.goto(f"{live_server.url}/sessions/{session_id}")
    assert page.get_by_text("This session has ended.").is_visible()
    assert page.locator("#composer").count() == 0


def test_script_in_a_message_shows_as_text(live_server, page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    card = persona_card(live_server.url)
    start_session(page, live_server.url, card["id"])
    box = page.locator("#message")
    box.focus()
    page.keyboard.type(f"Hmm {SCRIPT}")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    assert box.input_value() == f"Hmm {SCRIPT}\nsecond line", "Shift+Enter adds a new line"
    page.keyboard.press("Enter")
    wait_for_reply(page, 3)
    student = page.locator("#turns > li.turn--student .turn__text").first
    assert student.text_content() == f"Hmm {SCRIPT}\nsecond line"
    page.reload()
    assert page.locator("#turns > li.turn--student .turn__text").first.text_content() == (
        f"Hmm {SCRIPT}\nsecond line"
    )
    assert page.locator("#turns script").count() == 0
    assert dialogs == []


def test_a_bidi_override_is_shown_as_a_marker_not_applied(live_server, page, tmp_path) -> None:
    # U+202E reverses what follows on screen: "I am fine" + RLO + "enif ton ma I" would
    # display as "I am fine I am not fine". The page shows the character instead.
    start_session(page, live_server.url, persona_card(live_server.url)["id"])
    page.locator("#message").fill("I am fine \u202eenif ton ma I")
    page.keyboard.press("Enter")
    wait_for_reply(page, 3)
    shown = "I am fine [U+202E]enif ton ma I"
    student = page.locator("#turns > li.turn--student .turn__text").first
    assert student.text_content() == shown, "while live"
    page.screenshot(path=str(tmp_path / "bidi-1280.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.locator("#turns > li.turn--student .turn__text").first.text_content() == shown
    page.screenshot(path=str(tmp_path / "bidi-390.png"))


def test_sending_after_the_session_ended_elsewhere_keeps_the_text(live_server, page) -> None:
    card = persona_card(live_server.url)
    session_id = start_session(page, live_server.url, card["id"])
    other = page.context.new_page()
    other.goto(f"{live_server.url}/sessions/{session_id}")
    other.get_by_role("button", name="End session").click()
    other.wait_for_url(re.compile(r"/reflect$"))
    other.close()

    message = "What would you like to focus on today?"
    page.locator("#message").fill(message)
    page.locator("#message").press("Enter")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "This session has ended" in alert.text_content()
    assert alert.get_by_role("link", name="Open the transcript").is_visible()
    assert page.locator("#message").input_value() == message
    assert page.locator("#retry").is_hidden()
    # Not lost on a reload either: the draft is kept for this tab.
    page.reload()
    assert page.get_by_text("This session has ended.").is_visible()
    assert len(turn_texts(page)) == 1


def test_a_dropped_connection_keeps_the_text_and_retry_never_duplicates(live_server, page) -> None:
    card = persona_card(live_server.url)
    session_id = start_session(page, live_server.url, card["id"])
    dropped: list[str] = []

    def drop_after_server_saved(route) -> None:
        # The request reaches the server (which saves the turn and replies), then the
        # connection dies before the browser sees a byte.
        route.fetch()
        dropped.append(route.request.url)
        route.abort("connectionreset")

    page.route("**/api/sessions/*/turns", drop_after_server_saved)
    message = "It sounds like you're not sure this is going to help."
    page.locator("#message").fill(message)
    page.locator("#send").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "connection dropped" in alert.text_content()
    assert page.locator("#message").input_value() == message
    assert dropped
    page.unroute("**/api/sessions/*/turns")

    page.get_by_role("button", name="Retry").click()
    wait_for_reply(page, 3)
    assert page.locator("#chat-error").is_hidden()
    assert page.locator("#message").input_value() == ""
    stored = httpx.get(f"{live_server.url}/api/sessions/{session_id}").json()["turns"]
    assert [t["speaker"] for t in stored] == ["client", "counsellor", "client"]
    assert stored[1]["text"] == message
    assert turn_texts(page)[1:] == [stored[1]["text"], stored[2]["text"]]


def test_a_message_left_without_a_reply_offers_retry_on_load(live_server, server_env, page) -> None:
    card = persona_card(live_server.url)
    session_id = start_session(page, live_server.url, card["id"])
    message = "It sounds like this has been building for a while."
    # What a crashed engine leaves behind: the student's turn saved, no reply.
    settings = Settings(
        data_dir=server_env["RAPPORT_DATA_DIR"], database_url=server_env["RAPPORT_DATABASE_URL"]
    )
    engine = build_engine(settings)
    try:
        with Session(engine) as db:
            session = practice.get_session(db=db, session_id=session_id, owner_id=None)
            persona = load_library(settings.personas_dir)[session.persona_id]
            practice.add_student_turn(
                db=db, session=session, persona=persona, text=message, client_message_id=None
            )
    finally:
        engine.dispose()

    page.reload()
    retry = page.get_by_role("button", name="Retry")
    assert retry.is_visible()
    assert turn_texts(page)[-1] == message
    retry.focus()
    page.keyboard.press("Enter")
    wait_for_reply(page, 3)
    assert page.locator("#chat-error").is_hidden()
    stored = httpx.get(f"{live_server.url}/api/sessions/{session_id}").json()
    assert not stored["awaiting_reply"]
    assert turn_texts(page)[1:] == [t["text"] for t in stored["turns"][1:]]


def test_pages_fit_a_phone_and_are_keyboard_usable(live_server, context, page) -> None:
    card = persona_card(live_server.url)
    session_id = start_session(page, live_server.url, card["id"])
    page.locator("#message").fill("What brings you here today?")
    page.locator("#message").press("Enter")
    wait_for_reply(page, 3)
    page.set_viewport_size({"width": 360, "height": 740})
    for path in (
        "/",
        f"/sessions/{session_id}",
        f"/sessions/{session_id}/transcript",
        "/history",
        "/sessions/nope",
    ):
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 360px"
        if path == f"/sessions/{session_id}":
            # An active session opens ready to type (#12); the skip link is still the first
            # stop of the page's tab order, for whoever starts from the top.
            assert page.evaluate("() => document.activeElement.id") == "message"
            first = page.evaluate(
                "() => document.querySelector('a[href], button, input, textarea, select, "
                "summary, [tabindex]:not([tabindex=\"-1\"])').textContent.trim()"
            )
            assert first == "Skip to main content"
            page.locator(".skip-link").focus()
            page.keyboard.press("Enter")
            assert page.evaluate("() => document.activeElement.id") == "main", path
            continue
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.textContent.trim()")
        assert focused == "Skip to main content", path
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "main", path
