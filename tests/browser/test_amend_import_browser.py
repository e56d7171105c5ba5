"""In a real browser: an assessor amends a released marking and the student reads the change
and the reason; a student pastes a plain-text transcript, previews it and gets it graded."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.accounts import LINES, PASSWORD, PERSONA, SECRET, seed_people
from tests.browser.flow import sign_in_page as _sign_in

pytestmark = pytest.mark.browser
REASON = "On a second look the reflection in turn 3 missed the feeling."


@pytest.fixture
def server_env(server_env: dict[str, str]) -> dict[str, str]:
    """Accounts on, with a student and an assessor in one cohort that shows grades at once."""
    env = {**server_env, "RAPPORT_AUTH": "on", "RAPPORT_SECRET_KEY": SECRET,
           "RAPPORT_STREAM_DELAY": "0"}
    seed_people(env["RAPPORT_DATA_DIR"], env["RAPPORT_DATABASE_URL"],
                (("ana@example.org", "student"), ("mo@example.org", "assessor")),
                auto_grades="immediate")
    return env




def _api(url: str, email: str) -> httpx.Client:
    api = httpx.Client(base_url=url)
    token = api.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()
    api.headers["X-CSRF-Token"] = token["csrf_token"]
    return api


def _released_session(url: str) -> str:
    ana, mo = _api(url, "ana@example.org"), _api(url, "mo@example.org")
    try:
        sid = ana.post("/api/sessions", json={"persona_id": PERSONA}).json()["id"]
        for line in LINES:
            assert ana.post(f"/api/sessions/{sid}/turns", json={"text": line}).status_code == 200
        assert ana.post(f"/api/sessions/{sid}/end").status_code == 200
        grade = mo.get(f"/api/desk/sessions/{sid}").json()["grade"]
        marks = [{"criterion": c["id"], "decision": "accept"} for c in grade["criteria"]]
        assert mo.put(f"/api/desk/sessions/{sid}/review",
                      json={"marks": marks, "comment": "Good start."}).status_code == 200
        assert mo.post(f"/api/desk/sessions/{sid}/release").status_code == 200
    finally:
        ana.close()
        mo.close()
    return sid



def test_assessor_amends_after_release_and_the_student_reads_why(live_server, new_page) -> None:
    url = live_server.url
    sid = _released_session(url)
    mo = new_page()
    _sign_in(mo, url, "mo@example.org", f"/desk/sessions/{sid}")
    empathy = mo.locator('fieldset[data-criterion="empathy"]')
    empathy.get_by_label("Override", exact=True).check()
    empathy.get_by_label("Score (1–5)").fill("1.5")
    empathy.get_by_label("Reason (required for an override)").fill("Feeling not reflected.")
    mo.get_by_label("Why you are amending the released marking (the student reads this)").fill(
        REASON)
    mo.get_by_role("button", name="Amend the released marking").click()
    mo.wait_for_url(re.compile(r"saved=amend"))
    assert "Marking version 2" in mo.locator("#amend-heading").inner_text()

    ana = new_page()
    _sign_in(ana, url, "ana@example.org", "/progress")
    assert REASON in ana.get_by_test_id("progress-amended").inner_text()
    ana.get_by_role("link", name="Assessor's feedback").click()
    ana.wait_for_url(f"{url}/sessions/{sid}/feedback")
    changed = ana.get_by_test_id("amendments").inner_text()
    assert "marking version 2" in changed and REASON in changed and "→ 1.5" in changed
    assert "1.5" in ana.locator('tr[data-criterion="empathy"]').inner_text()
    ana.screenshot(path=f"{live_server.env['RAPPORT_DATA_DIR']}/amended.png", full_page=True)


def test_a_pasted_plain_text_transcript_is_previewed_and_graded(live_server, new_page) -> None:
    url = live_server.url
    ana = new_page()
    _sign_in(ana, url, "ana@example.org", "/import")
    clients = ["I'm not sure why I'm here.", "Work is a lot.", "I can't sleep.", "Maybe.", "Yes."]
    text = "\n".join(f"C: {c}\nT: {t}" for c, t in zip(clients, LINES, strict=False))
    ana.get_by_label("…or paste a plain-text transcript").fill(text + f"\nC: {clients[-1]}\n")
    ana.get_by_role("button", name="Preview pasted text").click()
    # count() does not wait: let the preview page load before counting its rows.
    ana.get_by_test_id("parsed-turns").wait_for()
    rows = ana.get_by_test_id("parsed-turns").locator("tbody tr")
    assert rows.count() == 2 * len(LINES) + 1
    assert rows.nth(1).get_attribute("data-speaker") == "counsellor"
    ana.get_by_role("button", name="Import and grade").click()
    # The report waits behind the student's own rating of the session (self-rating first).
    ana.wait_for_url(re.compile(r"/sessions/[\w-]+/(report|reflect)$"))
    sid = ana.url.split("/sessions/")[1].split("/")[0]
    grades = ana.request.get(f"{url}/api/sessions/{sid}/grades").json()
    assert grades[0]["status"] == "ok" and grades[0]["overall"] is not None
    turns = ana.request.get(f"{url}/api/sessions/{sid}/export").json()["turns"]
    assert [t["text"] for t in turns if t["speaker"] == "counsellor"] == LINES
