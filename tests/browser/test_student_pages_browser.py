"""A student in single-user mode, in a real browser: the composer, the report's numbering and
evidence, the links to the PDF and report, and what a screen reader hears (#12)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.flow import through_reflection
from tests.browser.test_practice_browser import start_session, wait_for_reply
from tests.counsellors import GOOD_LINES, HOLD_BOUNDARY, POOR_LINES

pytestmark = pytest.mark.browser

PERSONA = "sam-work-stress"
LINES = [*GOOD_LINES[:4], HOLD_BOUNDARY, POOR_LINES[0], POOR_LINES[3], *GOOD_LINES[4:8]]

# Records where keyboard focus is and what the polite live regions say, on every change.
WATCH = """() => {
  window.__seen = {focus: [], said: []};
  const note = () => {
    const el = document.activeElement;
    window.__seen.focus.push(el.id || el.tagName);
  };
  new MutationObserver(note).observe(document.getElementById("chat"),
    {subtree: true, childList: true, characterData: true, attributes: true});
  new MutationObserver(() => {
    const text = document.getElementById("reply-status").textContent;
    if (text) window.__seen.said.push(text);
  }).observe(document.getElementById("reply-status"),
             {childList: true, characterData: true, subtree: true});
}"""


def _in_view(page, selector: str) -> bool:
    return page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                      return r.top >= 0 && r.bottom <= window.innerHeight + 1; }""",
        selector,
    )


def test_the_composer_is_ready_and_stays_in_view_and_focus_never_drops(live_server, page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    start_session(page, live_server.url, PERSONA)
    assert page.evaluate("document.activeElement.id") == "message"
    assert page.locator("#conversation").get_attribute("aria-live") is None
    page.evaluate(WATCH)
    for number, line in enumerate(GOOD_LINES[:3], start=1):
        page.locator("#message").fill(line)
        page.get_by_role("button", name="Send").click()
        wait_for_reply(page, 1 + 2 * number)
        # The box and Send are on screen after each reply, the box focused to type on.
        assert _in_view(page, "#message") and _in_view(page, "#send"), f"after reply {number}"
        assert page.evaluate("document.activeElement.id") == "message"
    page.wait_for_function("() => window.__seen.said.length >= 3")
    seen = page.evaluate("window.__seen")
    assert "BODY" not in seen["focus"], "focus dropped to <body> while a reply streamed"
    replies = page.locator("#turns > li.turn--client .turn__text").all_text_contents()[1:]
    # Each finished reply is announced once, whole; never a half-streamed one.
    said = [text for text in seen["said"] if text]
    assert said == [f"Sam: {reply}" for reply in replies]


def test_report_numbering_evidence_and_links(live_server, page) -> None:
    base = live_server.url
    sid = httpx.post(f"{base}/api/sessions", json={"persona_id": PERSONA}).json()["id"]
    for line in LINES:
        assert httpx.post(f"{base}/api/sessions/{sid}/turns", json={"text": line},
                          timeout=30).status_code == 200
    page.goto(f"{base}/sessions/{sid}")
    page.get_by_role("button", name="End session").click()
    through_reflection(page, base, sid)
    grade = httpx.get(f"{base}/api/sessions/{sid}/grades").json()[0]
    turns = httpx.get(f"{base}/api/sessions/{sid}").json()["turns"]
    student_number = {}
    for t in turns:
        if t["speaker"] == "counsellor":
            student_number[t["index"]] = len(student_number) + 1

    # One scheme: the report's turn headings are the transcript page's.
    report_heads = page.locator(".rturn--student .rturn__num").all_text_contents()
    assert report_heads == [f"Turn {n}" for n in range(1, len(LINES) + 1)]
    evidence = [(e["turn"], c["id"]) for c in grade["criteria"] for e in c["evidence"]]
    links = page.locator(".evidence-list a").all_text_contents()
    assert links and set(links) <= {f"Turn {student_number[t]}" for t, _ in evidence}
    for text in page.locator(".went-well li, .feedback__text").all_text_contents():
        for number in re.findall(r"[Tt]urn (\d+)", text):
            assert 1 <= int(number) <= len(LINES), text
    assert "every line from 0" not in page.content()

    # Evidence is picked out without fading anything below readable contrast.
    page.locator(".criterion-toggle").first.click()
    opacities = page.evaluate(
        "[...document.querySelectorAll('#transcript .rturn')].map(t => getComputedStyle(t).opacity)"
    )
    assert set(opacities) == {"1"}
    status = page.locator("#highlight-status").inner_text()
    lit = page.locator("#transcript .rturn.is-lit").evaluate_all(
        "ts => ts.map(t => t.dataset.number)")
    assert f"({', '.join(lit)})" in status

    # The regrade form fits a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})

    # The PDF is one click away on the report and the transcript.
    with page.expect_download() as download:
        page.get_by_test_id("pdf-link").click()
    assert download.value.suggested_filename == f"rapport-{sid}.pdf"
    page.goto(f"{base}/sessions/{sid}/transcript")
    transcript_heads = page.locator(".tturn--student .tturn__num").all_text_contents()
    assert transcript_heads == report_heads
    assert page.get_by_test_id("pdf-link").get_attribute("href") == f"/sessions/{sid}/export.pdf"

    # History: the score and a link to the report, beside the transcript and the PDF.
    page.goto(f"{base}/history")
    row = page.locator(f'tr[data-session-id="{sid}"]')
    assert row.get_by_test_id("history-score").inner_text() == f"{grade['overall']:.1f}"
    row.get_by_role("link", name=re.compile("^Report")).click()
    page.wait_for_url(f"{base}/sessions/{sid}/report")
    assert page.get_by_role("link", name="Download PDF").is_visible()


def test_every_page_has_an_icon(live_server, page) -> None:
    page.goto(f"{live_server.url}/")
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    assert icon and httpx.get(f"{live_server.url}{icon}").status_code == 200
    assert httpx.get(f"{live_server.url}/favicon.ico").status_code == 200
