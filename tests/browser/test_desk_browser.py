"""In a real browser: an assessor marks and releases a session; its student reads the feedback;
another student cannot open it by URL."""

from __future__ import annotations

import re

import httpx
import pytest

from app.audit import Actor
from tests.accounts import LINES, PASSWORD, PERSONA, SECRET, seed_people
from tests.browser.flow import sign_in_page as _sign_in

pytestmark = pytest.mark.browser
SETUP = Actor(user_id=None, label="test")


@pytest.fixture
def server_env(server_env: dict[str, str]) -> dict[str, str]:
    """Accounts on, and the users and cohort this test needs, in the server's database."""
    env = {**server_env, "RAPPORT_AUTH": "on", "RAPPORT_SECRET_KEY": SECRET,
           "RAPPORT_STREAM_DELAY": "0"}
    seed_people(env["RAPPORT_DATA_DIR"], env["RAPPORT_DATABASE_URL"],
                (("ana@example.org", "student"), ("ben@example.org", "student"),
                 ("mo@example.org", "assessor")))
    return env


def _held_session(url: str) -> str:
    with httpx.Client(base_url=url) as api:
        token = api.post("/api/auth/login", json={"email": "ana@example.org",
                                                  "password": PASSWORD}).json()["csrf_token"]
        api.headers["X-CSRF-Token"] = token
        sid = api.post("/api/sessions", json={"persona_id": PERSONA}).json()["id"]
        for line in LINES:
            assert api.post(f"/api/sessions/{sid}/turns", json={"text": line}).status_code == 200
        assert api.post(f"/api/sessions/{sid}/end").status_code == 200
    return sid





def test_assessor_marks_and_releases_then_the_student_reads_it(live_server, new_page) -> None:
    url = live_server.url
    sid = _held_session(url)

    # The assessor signs in, finds the session in the queue and opens it.
    mo = new_page()
    _sign_in(mo, url, "mo@example.org", "/desk")
    row = mo.locator(f'tr[data-session-id="{sid}"]')
    assert "needs marking" in row.inner_text().lower()
    row.get_by_role("link", name="Ana").click()
    mo.wait_for_url(f"{url}/desk/sessions/{sid}")

    # A note on the student's first turn.
    mo.locator("#turn-1 summary").click()
    mo.get_by_label("Note on turn 1").fill("Good reflection of the sleeplessness.")
    mo.locator("#turn-1").get_by_role("button", name="Add note").click()
    mo.wait_for_url(re.compile(rf"/desk/sessions/{sid}#turn-1$"))
    assert "Good reflection of the sleeplessness." in mo.locator("#turn-1").inner_text()

    # Override empathy: the score and reason fields appear only when "Override" is chosen.
    empathy = mo.locator('fieldset[data-criterion="empathy"]')
    assert not empathy.get_by_label("Reason (required for an override)").is_visible()
    empathy.get_by_label("Override", exact=True).check()
    empathy.get_by_label("Score (1–5)").fill("2.5")
    empathy.get_by_label("Reason (required for an override)").fill(
        "The advice in turn 5 came before the feeling was heard.")
    mo.get_by_label("Overall comment for the student").fill("Warm start; hold back advice.")
    mo.once("dialog", lambda dialog: dialog.accept())
    mo.get_by_role("button", name="Release to student").click()
    mo.wait_for_url(re.compile(r"saved=release"))
    assert mo.locator("#desk-saved").inner_text() == "Released to the student."

    # The student signs in and finds the released grade and comment on their progress page.
    ana = new_page()
    _sign_in(ana, url, "ana@example.org", "/progress")
    assert "Warm start; hold back advice." in ana.locator("#comments-heading + ul").inner_text()
    ana.get_by_role("link", name="Assessor's feedback").click()
    ana.wait_for_url(f"{url}/sessions/{sid}/feedback")
    assert ana.get_by_test_id("released-comment").inner_text() == "Warm start; hold back advice."
    empathy_row = ana.locator('tr[data-criterion="empathy"]').inner_text()
    assert "2.5" in empathy_row and "came before the feeling was heard" in empathy_row
    assert "Good reflection of the sleeplessness." in ana.locator("#turn-1").inner_text()

    # Another student of the same cohort cannot open it by URL: it does not exist for them.
    ben = new_page()
    _sign_in(ben, url, "ben@example.org", "/progress")
    for path in (f"/sessions/{sid}/feedback", f"/sessions/{sid}/transcript",
                 f"/sessions/{sid}/report", f"/desk/sessions/{sid}"):
        answer = ben.goto(f"{url}{path}")
        assert answer.status in (403, 404), path
        assert "Warm start" not in ben.content() and LINES[0] not in ben.content()
    assert ben.goto(f"{url}/sessions/{sid}/feedback").status == 404
