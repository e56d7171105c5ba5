"""Accounts on, in a real browser: a held student ends a session, the trainer's editor, the
header, the sign-in page, the admin list and the agreement page (#12)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.accounts import LINES, PASSWORD, SECRET, seed_people
from tests.browser.conftest import watched_context
from tests.browser.flow import fill_editor, through_reflection

pytestmark = pytest.mark.browser


@pytest.fixture
def server_env(server_env: dict[str, str]) -> dict[str, str]:
    """Accounts on; a student, a trainer, an assessor and an admin in an after-release cohort."""
    env = {**server_env, "RAPPORT_AUTH": "on", "RAPPORT_SECRET_KEY": SECRET,
           "RAPPORT_STREAM_DELAY": "0"}
    seed_people(env["RAPPORT_DATA_DIR"], env["RAPPORT_DATABASE_URL"],
                (("ana@example.org", "student"), ("tess@example.org", "trainer"),
                 ("mo@example.org", "assessor"), ("root@example.org", "admin")))
    return env


@pytest.fixture
def person(browser, page_errors) -> Iterator:
    """A signed-in page per person, each in its own browser profile."""
    contexts = []

    def sign_in(url: str, email: str):
        context = watched_context(browser, page_errors)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{url}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/")
        return page

    yield sign_in
    for context in contexts:
        context.close()
    assert not page_errors, f"script errors or CSP violations: {page_errors}"


def test_a_held_student_ends_a_session_and_reads_when_feedback_comes(live_server, person):
    url = live_server.url
    ana = person(url, "ana@example.org")
    ana.locator('article[data-persona-id="sam-work-stress"]').get_by_role(
        "button", name="Start session").click()
    ana.wait_for_url(re.compile(r"/sessions/[\w-]+$"))
    sid = ana.url.rsplit("/", 1)[1]
    for number, line in enumerate(LINES[:2], start=1):
        ana.locator("#message").fill(line)
        ana.get_by_role("button", name="Send").click()
        ana.locator("#turns > li").nth(2 * number).wait_for()
        ana.wait_for_function("() => !document.querySelector('.turn--streaming')")
    ana.get_by_role("button", name="End session").click()
    through_reflection(ana, url, sid)
    assert "Something went wrong" not in ana.content() and "403" not in ana.title()
    assert "released by an assessor" in ana.locator("#held").inner_text()
    assert ana.locator(".score-chart").count() == 0
    ana.get_by_role("link", name="Read the transcript").click()
    ana.wait_for_url(f"{url}/sessions/{sid}/transcript")
    assert ana.locator(".tturn--student .tturn__text").count() == 2
    assert ana.locator(".codes, .tturn__trust, .trust-chart, .accounting").count() == 0


def test_the_trainer_editor_is_styled_under_the_pages_own_policy(live_server, person):
    tess = person(live_server.url, "tess@example.org")
    tess.goto(f"{live_server.url}/trainer")
    editor = tess.locator(".cm-editor")
    assert editor.bounding_box()["height"] >= 300
    # CodeMirror's own rules arrive in a <style> element with the page's nonce: applied, so the
    # editor is a flex column and its gutter sits beside the text.
    assert editor.evaluate("el => getComputedStyle(el).display") == "flex"
    assert tess.locator(".cm-gutters").evaluate("el => getComputedStyle(el).display") == "flex"
    assert "monospace" in tess.locator(".cm-scroller").evaluate(
        "el => getComputedStyle(el).fontFamily")
    fill_editor(tess, "id: broken\nversion: one\n")
    tess.get_by_role("button", name="Check").click()
    problems = tess.locator("#yaml-problems-heading + .yaml-problems")
    problems.wait_for()
    assert "monospace" in problems.evaluate("el => getComputedStyle(el).fontFamily")


def test_header_sign_in_admin_and_agreement(live_server, person, browser):
    url = live_server.url
    visitor = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        visitor.goto(f"{url}/login")
        nav = visitor.get_by_role("navigation", name="Main")
        assert nav.get_by_role("link", name="Library").count() == 0
        assert nav.get_by_role("link", name="History").count() == 0
    finally:
        visitor.close()

    root = person(url, "root@example.org")
    # Signed in with every link (the admin has the most): one row at 1280 px.
    links = root.locator(".site-nav a, .site-account__out button").evaluate_all(
        "els => els.map(e => Math.round(e.getBoundingClientRect().top))")
    assert max(links) - min(links) <= 6, links
    root.goto(f"{url}/admin/users")
    names = root.locator("tr[data-user-id] th").all_inner_texts()
    assert not any("Local student" in n for n in names)
    assert len(names) == 4
    # Styled: the add-account fields have the app's border and padding, not the browser's.
    field = root.get_by_label("Email", exact=True)
    assert field.evaluate("el => getComputedStyle(el).borderTopLeftRadius") == "6px"
    root.set_viewport_size({"width": 320, "height": 800})
    assert root.evaluate("document.documentElement.scrollWidth") <= 320
    admin_nav = root.get_by_role("navigation", name="Administration")
    assert all(box["x"] + box["width"] <= 320 for box in (
        a.bounding_box() for a in admin_nav.get_by_role("link").all()))

    mo = person(url, "mo@example.org")
    mo.goto(f"{url}/desk/agreement")
    overall = mo.locator('tr[data-criterion="overall"]')
    assert "Overall" in overall.inner_text()
    assert mo.locator('tr[data-criterion="all"]').count() == 0
