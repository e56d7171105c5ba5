"""In a real browser, as a student: discard an abandoned session (it leaves the history and the
assessor's desk), and compare two graded attempts with the same client side by side."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.accounts import LINES, PASSWORD, PERSONA, SECRET, seed_people
from tests.browser.audit import audit_state
from tests.browser.flow import sign_in_page

pytestmark = pytest.mark.browser

STUDENT, ASSESSOR = "ana@example.org", "ava@example.org"
OTHER_PERSONA = "denise-grief"


@pytest.fixture
def server_env(server_env: dict[str, str]) -> dict[str, str]:
    """Accounts on; a student and her assessor in a cohort that shows auto-grades at once."""
    env = {**server_env, "RAPPORT_AUTH": "on", "RAPPORT_SECRET_KEY": SECRET}
    seed_people(env["RAPPORT_DATA_DIR"], env["RAPPORT_DATABASE_URL"],
                ((STUDENT, "student"), (ASSESSOR, "assessor")), auto_grades="immediate")
    return env


def _api(url: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    answer = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def _session(api: httpx.Client, lines: list[str], *, persona: str = PERSONA,
             end: bool = True) -> str:
    sid = api.post("/api/sessions", json={"persona_id": persona}).json()["id"]
    for line in lines:
        assert api.post(f"/api/sessions/{sid}/turns", json={"text": line}).status_code == 200
    if end:
        assert api.post(f"/api/sessions/{sid}/end").status_code == 200
    return sid


def test_a_student_discards_an_abandoned_session(live_server, new_page) -> None:
    url = live_server.url
    api = _api(url, STUDENT)
    kept = _session(api, LINES)
    abandoned = _session(api, LINES[:2], end=False)
    desk = new_page()
    sign_in_page(desk, url, ASSESSOR, f"/desk/sessions/{abandoned}")
    assert "Sam" in desk.locator("main").inner_text()

    page = new_page()
    sign_in_page(page, url, STUDENT, f"/sessions/{abandoned}")
    # From the session itself: asked first, and "keep it" changes nothing.
    page.get_by_role("link", name="Discard").click()
    page.wait_for_url(f"{url}/sessions/{abandoned}/discard")
    assert "2 messages from you" in page.locator("main").inner_text()
    problems: list[str] = []
    audit_state(page, "discard-confirm", problems)
    page.get_by_role("link", name="Keep it and go back").click()
    page.wait_for_url(f"{url}/sessions/{abandoned}")

    # From the history: the ended session has no Discard link, the active one has.
    page.goto(f"{url}/history")
    assert page.locator(f'tr[data-session-id="{kept}"] a', has_text="Discard").count() == 0
    page.locator(f'tr[data-session-id="{abandoned}"] a', has_text="Discard").click()
    page.wait_for_url(f"{url}/sessions/{abandoned}/discard")
    page.get_by_role("button", name="Discard the session").click()
    page.wait_for_url(f"{url}/history?discarded=1")
    assert "was discarded" in page.get_by_role("status").inner_text()
    assert page.locator(f'tr[data-session-id="{abandoned}"]').count() == 0
    assert page.locator(f'tr[data-session-id="{kept}"]').count() == 1
    page.go_back()  # the confirmation page again: the session is gone
    page.reload()
    assert "No session with id" in page.locator("main").inner_text()

    desk.reload()
    assert "No session with id" in desk.locator("main").inner_text()
    assert problems == [], problems


def test_a_student_compares_two_attempts_with_the_same_client(live_server, new_page) -> None:
    url = live_server.url
    api = _api(url, STUDENT)
    first = _session(api, [LINES[0], LINES[2], "Why don't you just quit, then?"])
    second = _session(api, LINES)
    _session(api, LINES[:1], persona=OTHER_PERSONA)  # one session only: not comparable

    page = new_page()
    sign_in_page(page, url, STUDENT, "/progress")
    forms = page.locator("form.compare-form")
    assert forms.count() == 1 and forms.first.get_attribute("data-persona") == PERSONA
    form = forms.first
    problems: list[str] = []
    audit_state(page, "progress-compare", problems)
    # Pick them the "wrong" way round: the page still puts the earlier one on the left.
    form.get_by_label("First session").select_option(second)
    form.get_by_label("Second session").select_option(first)
    form.get_by_role("button", name=re.compile("^Compare")).click()
    page.wait_for_url(re.compile(r"/progress/compare\?"))

    grades = {sid: api.get(f"/api/sessions/{sid}/grades").json()[0] for sid in (first, second)}
    headers = page.locator("[data-testid=compare-scores] thead th").all_text_contents()
    assert headers[1].startswith("Session 1,") and headers[2].startswith("Session 2,")
    shown = 0
    for criterion in grades[first]["criteria"]:
        a = criterion.get("score")
        b = next(c.get("score") for c in grades[second]["criteria"] if c["id"] == criterion["id"])
        row = page.locator(f'tr[data-criterion="{criterion["id"]}"] td')
        if a is None and b is None:
            assert row.count() == 0
            continue
        shown += 1
        cells = row.all_inner_texts()
        assert cells[0] == ("–" if a is None else f"{a:.1f}")
        assert cells[1] == ("–" if b is None else f"{b:.1f}")
    assert shown >= 2
    # Both trust curves are drawn, one per session, each with its own summary.
    curves = page.locator(".compare-curves svg.trust-chart")
    assert curves.count() == 2
    for n, sid in enumerate((first, second), start=1):
        block = page.locator(f'.compare-curves__one[data-session-id="{sid}"]')
        assert block.locator("circle.trust-point").count() >= 1
        assert block.locator(f"#trust-{n}-summary").inner_text().startswith("Trust went from")
        assert curves.nth(n - 1).bounding_box()["width"] > 250
    # Side by side at desktop width.
    left, right = (curves.nth(i).bounding_box() for i in (0, 1))
    assert abs(left["y"] - right["y"]) < 2 and right["x"] > left["x"] + left["width"]
    page.screenshot(path=f"{live_server.env['RAPPORT_DATA_DIR']}/compare.png", full_page=True)
    audit_state(page, "compare", problems)
    assert problems == [], problems
