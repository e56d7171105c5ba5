"""A student ends a session in a real browser and reads the report: scores, lit-up evidence,
what they missed; by keyboard only, and in print."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.flow import through_reflection
from tests.counsellors import GOOD_LINES, HOLD_BOUNDARY, POOR_LINES

pytestmark = pytest.mark.browser

PERSONA = "sam-work-stress"
LINES = [*GOOD_LINES[:4], HOLD_BOUNDARY, POOR_LINES[0], POOR_LINES[3], *GOOD_LINES[4:8]]


def held_session(server_url: str) -> str:
    """A session with a mix of skilled and unskilled turns, held through the JSON API."""
    sid = httpx.post(f"{server_url}/api/sessions", json={"persona_id": PERSONA}).json()["id"]
    for line in LINES:
        answer = httpx.post(f"{server_url}/api/sessions/{sid}/turns", json={"text": line})
        assert answer.status_code == 200, answer.text
    return sid


def test_ending_a_session_leads_to_a_report_with_evidence(live_server, page) -> None:
    sid = held_session(live_server.url)
    page.goto(f"{live_server.url}/sessions/{sid}")
    end = page.get_by_role("button", name="End session")
    end.focus()
    page.keyboard.press("Enter")
    through_reflection(page, live_server.url, sid)

    answer = httpx.get(f"{live_server.url}/api/sessions/{sid}/grades")
    assert answer.status_code == 200, f"the grading routes answer {answer.status_code}"
    grades = answer.json()
    assert grades, "ending the session (or opening its report) should have graded it"
    grade = grades[0]
    assert grade["status"] == "ok"

    # Scores: the overall and one row per criterion, each with its number.
    assert page.get_by_test_id("overall").inner_text() == f"{grade['overall']:.1f}"
    rows = page.locator(".score-row")
    assert rows.count() == len(grade["criteria"])
    empathy = next(c for c in grade["criteria"] if c["id"] == "empathy")
    row = page.locator('.score-row[data-criterion="empathy"]')
    assert f"{empathy['score']:.1f}" in row.inner_text()

    # Keyboard only: Tab to the empathy toggle, press Space, its turns light up.
    toggle = row.locator("button.criterion-toggle")
    assert toggle.is_visible() and toggle.inner_text() == "Show evidence"
    page.locator("#scores-heading").focus()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.criterion") == "empathy":
            break
    assert page.evaluate("document.activeElement.dataset.criterion") == "empathy"
    page.keyboard.press("Space")
    assert toggle.get_attribute("aria-pressed") == "true"
    assert toggle.inner_text() == "Hide evidence"
    lit_turns = page.locator("#transcript .rturn.is-lit")
    expected = sorted({e["turn"] for e in empathy["evidence"]})
    assert sorted(int(t.get_attribute("id").split("-")[1]) for t in lit_turns.all()) == expected
    lit_marks = page.locator("#transcript mark.ev.is-lit").all_inner_texts()
    quotes = {e["quote"] for e in empathy["evidence"]}
    assert lit_marks and all(any(m in q or q in m for q in quotes) for m in lit_marks)
    assert (
        f"Empathy: evidence highlighted in {len(expected)}"
        in page.locator("#highlight-status").inner_text()
    )
    # Another criterion's evidence is not lit while empathy is chosen.
    unlit = page.locator("#transcript .rturn:not(.is-lit)")
    assert unlit.count() > 0
    page.keyboard.press("Escape")
    assert page.locator("#transcript .rturn.is-lit").count() == 0
    assert toggle.get_attribute("aria-pressed") == "false"

    # Feedback with an alternative phrased for the moment, and what was missed.
    assert page.get_by_text("You could try").first.is_visible()
    missed = page.locator("#missed")
    assert missed.get_by_role("heading", name="What you missed").is_visible()
    assert missed.locator(".missed__layer").count() >= 1
    assert "trust" in missed.inner_text().lower()

    # Printable: controls disappear, the scores and the transcript stay.
    page.emulate_media(media="print")
    assert not toggle.is_visible()
    assert not page.locator(".regrade").is_visible()
    assert page.locator(".score-chart").is_visible()
    assert page.locator("#transcript").is_visible()
