"""In a real browser: the trainer's edit and test-drive page is laid out for reading at 1280,
390 and 320 px (no sideways page scroll, no table breaking a word letter by letter, the
test-drive one jump away), and ending a test-drive lands on a grade page that can be reloaded
without sending the form again."""

from __future__ import annotations

import re

import pytest

from tests.accounts import PERSONA, SECRET, seed_people
from tests.browser.flow import sign_in_page

pytestmark = pytest.mark.browser
EDIT = f"/trainer/library/persona/{PERSONA}/edit"

# Every run of letters in a table cell that the browser drew on more than one line: a word
# broken inside itself. Long tokens (ids, URLs) may wrap; ordinary words must not.
_SPLIT_WORDS = """() => {
  const split = [];
  for (const cell of document.querySelectorAll("main th, main td")) {
    // Narrow screens hide the header row (1 px, clipped) for screen readers; skip it.
    if (cell.closest("tr").getBoundingClientRect().width < 4) continue;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/[A-Za-z]{2,20}/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (tops.size > 1) split.push(m[0]);
      }
    }
  }
  return split;
}"""


@pytest.fixture
def server_env(server_env: dict[str, str]) -> dict[str, str]:
    """Accounts on, with a trainer in the server's database."""
    env = {**server_env, "RAPPORT_AUTH": "on", "RAPPORT_SECRET_KEY": SECRET,
           "RAPPORT_STREAM_DELAY": "0"}
    seed_people(env["RAPPORT_DATA_DIR"], env["RAPPORT_DATABASE_URL"],
                (("tess@example.org", "trainer"),))
    return env


def _in_view(page, selector: str) -> bool:
    return page.evaluate("""(selector) => {
      const box = document.querySelector(selector).getBoundingClientRect();
      return box.top > -2 && box.top < innerHeight;  // sub-pixel scrolling
    }""", selector)


def _top(page, selector: str) -> float:
    return page.evaluate("(s) => document.querySelector(s).getBoundingClientRect().top + scrollY",
                         selector)


def test_the_edit_page_reads_at_1280_390_and_320_px(live_server, new_page) -> None:
    url, shots = live_server.url, live_server.env["RAPPORT_DATA_DIR"]
    tess = new_page()
    sign_in_page(tess, url, "tess@example.org", EDIT)
    for width in (1280, 390, 320):
        tess.set_viewport_size({"width": width, "height": 900})
        tess.goto(f"{url}{EDIT}")
        tess.locator(".cm-editor").wait_for()
        tess.screenshot(path=f"{shots}/trainer-edit-{width}.png", full_page=True)
        sizes = tess.evaluate("""() => ({page: document.documentElement.scrollWidth,
                                         view: document.documentElement.clientWidth,
                                         height: document.documentElement.scrollHeight})""")
        assert sizes["page"] <= sizes["view"], (width, sizes)
        assert tess.evaluate(_SPLIT_WORDS) == [], width
        # The test-drive comes before the long preview tables, and a link jumps to it.
        assert _top(tess, "#drive-heading") < _top(tess, "#ladder-heading"), width
        if width == 1280:
            # The preview is the page's width, not a column beside the editor.
            ladder = tess.locator("#ladder-heading + .table-scroll").bounding_box()
            assert ladder["width"] > 900, ladder
            assert sizes["height"] < 9000, sizes
        tess.get_by_role("link", name="Test-drive", exact=True).click()
        tess.wait_for_url(re.compile(r"#test-drive$"))
        assert _in_view(tess, "#drive-heading"), width


def test_ending_a_test_drive_shows_a_grade_page_that_reloads_without_resending(
    live_server, new_page
) -> None:
    url, shots = live_server.url, live_server.env["RAPPORT_DATA_DIR"]
    tess = new_page()
    sign_in_page(tess, url, "tess@example.org", EDIT)
    for message in ("What brings you in today?",
                    "It sounds like the work has been weighing on you."):
        tess.get_by_label("Your next message").fill(message)
        tess.get_by_role("button", name="Send").click()
        tess.locator(".drive__student", has_text=message).wait_for()
        assert _in_view(tess, "#drive-heading")  # Send lands on the chat, not the page top
    tess.get_by_role("button", name="End and see the grade").click()
    tess.wait_for_url(re.compile(r"/trainer/test-drive/[0-9a-f]{32}#drive-grade$"))
    overall = tess.locator("#drive-overall").inner_text()
    assert _in_view(tess, "#drive-grade-heading")
    tess.screenshot(path=f"{shots}/trainer-drive-grade.png")

    # Reloading asks for the grade page again (GET): nothing is posted a second time. (The
    # editor's live check of the draft, POST /trainer/check.json, only reads; it may fire
    # whenever the page loads.)
    sent: list[tuple[str, str]] = []
    tess.on("request", lambda r: sent.append((r.method, r.url)))
    tess.reload()
    tess.locator("#drive-overall").wait_for()
    posted = [s for s in sent if s[0] != "GET" and not s[1].endswith("/trainer/check.json")]
    assert posted == [], sent
    assert tess.locator("#drive-overall").inner_text() == overall
    assert tess.locator(".drive__student").count() == 2
