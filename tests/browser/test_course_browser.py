"""A course of three sessions with one client, coach mode and the debrief, in a real browser."""

from __future__ import annotations

import os
import re

import httpx
import pytest

from app.persona import load_library
from tests.browser.audit import audit_state
from tests.test_course import FOLLOW_UP, SESSION_ONE

pytestmark = pytest.mark.browser

PERSONA = "sam-work-stress"
SHOTS = os.environ.get("RAPPORT_COURSE_SHOTS")


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def _say(page, text: str) -> None:
    before = page.locator("#turns > li").count()
    page.locator("#message").fill(text)
    page.locator("#send").click()
    page.locator("#turns > li").nth(before + 1).wait_for()
    page.wait_for_function("() => !document.querySelector('.turn--streaming') "
                           "&& document.getElementById('typing').hidden")


def _end_and_reflect(page, base: str, sid: str) -> None:
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{base}/sessions/{sid}/reflect")
    page.get_by_role("button", name="Save and open my report").click()
    page.wait_for_url(f"{base}/sessions/{sid}/report")


def test_three_sessions_with_one_client(live_server, page) -> None:
    base = live_server.url
    sam = load_library("personas")[PERSONA]
    problems: list[str] = []  # axe-core and sideways-scroll findings on each new page state
    page.goto(f"{base}/")
    page.locator(f'article[data-persona-id="{PERSONA}"]').get_by_role(
        "button", name="Start session").click()
    page.wait_for_url(re.compile(r"/sessions/[\w-]+$"))
    first = page.url.rsplit("/", 1)[1]

    # Coach mode is off until the student turns it on; then a note follows each turn.
    assert page.locator("#coach-notes li").count() == 0
    page.get_by_label(re.compile("Coach mode")).check()
    page.wait_for_function("() => document.getElementById('coach').dataset.on === 'true'")
    for line in SESSION_ONE:
        _say(page, line)
    stored = httpx.get(f"{base}/api/sessions/{first}").json()
    assert "dark-nights" in stored["state"]["unlocked"], "session 1 must reach the risk layer"
    _say(page, "You should just stop checking emails at night.")
    notes = page.locator("#coach-notes li")
    assert notes.count() == len(SESSION_ONE) + 1
    # The note on the last turn (the sleep-diary request may also read as unasked-for advice).
    harmful = page.locator(".coach-note--harmful",
                           has_text="advice the client did not ask for").last
    assert "You could try: “It sounds like" in harmful.inner_text()
    _shot(page, "1-coach")
    audit_state(page, "session-coach", problems)
    harmful.get_by_role("button", name=re.compile("Dismiss")).click()
    assert notes.count() == len(SESSION_ONE)  # one dismissed
    _end_and_reflect(page, base, first)

    # The debrief: the client out of role, with the three largest trust moves.
    debrief = page.get_by_test_id("debrief")
    assert debrief.is_visible()
    moves = page.get_by_test_id("debrief-moves").locator("li")
    assert moves.count() == 3
    for text in moves.all_inner_texts():
        assert re.search(r"\(turn \d+\)", text) and "“" in text
    assert page.get_by_test_id("coached").is_visible()  # the grade records the coaching
    _shot(page, "2-report")
    audit_state(page, "report-debrief-next", problems)
    assert page.get_by_label("Agreed task 1").input_value() == "keep a sleep diary"
    page.get_by_test_id("book-next").click()
    page.wait_for_url(re.compile(r"/sessions/[\w-]+$"))
    second = page.url.rsplit("/", 1)[1]

    opening = page.locator("#turns > li .turn__text").first.inner_text()
    plan = sam.sessions[0]
    assert opening.startswith(plan.opening_line)
    assert plan.events[0] in opening
    assert "Like I told you last time" in opening
    assert "keep a sleep diary" in opening
    _shot(page, "3-session-two")
    ended = httpx.get(f"{base}/api/sessions/{first}").json()["state"]["trust"]
    carried = httpx.get(f"{base}/api/sessions/{second}").json()["state"]["trust"]
    assert carried == pytest.approx(ended + (sam.trust.initial - ended) * sam.trust.drift,
                                    abs=0.01)
    # The risk from session 1 is not followed up in session 2 ...
    _say(page, "How has your week been?")
    _say(page, "It sounds like it's been a heavy week at work.")
    _end_and_reflect(page, base, second)
    safety = page.locator("section.safety")
    assert "unsafe" in safety.inner_text().lower()
    assert "In session 1 the client told you" in safety.inner_text()
    _shot(page, "4-report-two")

    # ... and is followed up in session 3.
    page.get_by_test_id("book-next").click()
    page.wait_for_url(re.compile(r"/sessions/[\w-]+$"))
    third = page.url.rsplit("/", 1)[1]
    assert page.locator("#turns > li .turn__text").first.inner_text().startswith(
        sam.sessions[1].opening_line)
    _say(page, FOLLOW_UP)
    _end_and_reflect(page, base, third)

    page.get_by_role("link", name=re.compile("All sessions with Sam")).click()
    page.wait_for_url(f"{base}/sessions/{third}/course")
    sessions = page.get_by_test_id("course").locator("> li")
    assert sessions.count() == 3
    assert "Better off without me" in sessions.nth(0).inner_text()
    assert len(page.get_by_test_id("course-trust").all()) == 3
    assert "safety: unsafe" in sessions.nth(1).inner_text()
    assert "coaching was on" in sessions.nth(0).inner_text()
    # Session 3 followed up the risk session 2 passed over.
    assert "safety: pass" in sessions.nth(2).inner_text()
    _shot(page, "5-course")
    audit_state(page, "course", problems)
    assert not problems, "\n".join(problems)
