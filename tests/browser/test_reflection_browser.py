"""The student's own view before the grade, and stepping out, in a real browser."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

PERSONA = "sam-work-stress"


def _start(page, base: str) -> str:
    page.goto(f"{base}/")
    page.locator(f'article[data-persona-id="{PERSONA}"]').get_by_role(
        "button", name="Start session").click()
    page.wait_for_url(re.compile(r"/sessions/[\w-]+$"))
    return page.url.rsplit("/", 1)[1]


def _say(page, text: str, replies: int) -> None:
    page.locator("#message").fill(text)
    page.locator("#send").click()
    page.locator("#turns > li").nth(2 * replies).wait_for()
    page.wait_for_function("() => !document.querySelector('.turn--streaming')")


def test_the_student_rates_themselves_before_the_grade_appears(live_server, page) -> None:
    base = live_server.url
    sid = _start(page, base)
    for i, line in enumerate(["What's brought you in today?",
                              "So work has been a lot, and the nights are hard.",
                              "What's that been like for you?",
                              "You're worn out, carrying it on your own."], start=1):
        _say(page, line, i)
    page.get_by_role("button", name="End session").click()
    # Ending opens the student's own reflection first, not the grade.
    page.wait_for_url(f"{base}/sessions/{sid}/reflect")
    assert page.get_by_role("heading", name=re.compile("your own view")).is_visible()
    assert page.locator(".score-chart, #scores").count() == 0
    page.get_by_label("Empathy").select_option("4")
    page.get_by_label("Respect (unconditional positive regard)").select_option("3")
    page.get_by_label(re.compile("handle differently")).fill(
        "I would reflect the tiredness before asking more questions.")
    page.get_by_role("button", name="Save and open my report").click()
    page.wait_for_url(f"{base}/sessions/{sid}/report")
    views = page.locator("table.views-table")
    assert views.is_visible()
    empathy = views.locator("tr", has_text="Empathy")
    assert empathy.locator("td").nth(0).inner_text() == "4"
    assert re.fullmatch(r"\d\.\d|–", empathy.locator("td").nth(1).inner_text())


def test_a_student_can_step_out_mid_session_and_come_back(live_server, page) -> None:
    base = live_server.url
    sid = _start(page, base)
    _say(page, "What's brought you in today?", 1)
    page.get_by_role("button", name="Step out").click()
    page.wait_for_url(f"{base}/sessions/{sid}/stepped-out")
    assert page.get_by_role("heading", name="You stepped out").is_visible()
    support = page.locator(".support-list").all_inner_texts()
    assert any("Samaritans" in block for block in support)  # the persona's own services
    assert any("supervisor" in block for block in support)
    page.get_by_role("link", name="Go back to the session").click()
    page.wait_for_url(f"{base}/sessions/{sid}")
    _say(page, "Take your time. What would help right now?", 2)
    page.get_by_role("button", name="Step out").click()
    page.get_by_role("button", name="End the session").click()
    page.wait_for_url(re.compile(rf"/sessions/{sid}/(reflect|report)"))
    import httpx

    stored = httpx.get(f"{base}/api/sessions/{sid}").json()
    assert stored["status"] == "ended" and stored["stepped_out_at"]
