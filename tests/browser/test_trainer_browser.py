"""In a real browser: a trainer fixes a persona's problem shown on its line, saves a draft,
test-drives it while a student in another browser cannot see it, publishes it, edits and
publishes again, then rolls back."""

from __future__ import annotations

import re

import pytest

from app.config import PROJECT_ROOT
from tests.accounts import PERSONA, SECRET, seed_people
from tests.browser.flow import sign_in_page as _sign_in

pytestmark = pytest.mark.browser
NEW_ID = "sam-night-shift"


@pytest.fixture
def server_env(server_env: dict[str, str]) -> dict[str, str]:
    """Accounts on, with a trainer and a student in the server's database."""
    env = {**server_env, "RAPPORT_AUTH": "on", "RAPPORT_SECRET_KEY": SECRET,
           "RAPPORT_STREAM_DELAY": "0"}
    seed_people(env["RAPPORT_DATA_DIR"], env["RAPPORT_DATABASE_URL"],
                (("tess@example.org", "trainer"), ("ana@example.org", "student")))
    return env





def _text(title: str) -> str:
    text = (PROJECT_ROOT / "personas" / f"{PERSONA}.yaml").read_text(encoding="utf-8")
    text = text.replace(f"id: {PERSONA}\n", f"id: {NEW_ID}\n", 1)
    return re.sub(r"(?m)^title: .*$", f"title: {title}", text, count=1)


def test_trainer_drafts_test_drives_publishes_and_rolls_back(live_server, new_page) -> None:
    url = live_server.url
    tess = new_page()
    _sign_in(tess, url, "tess@example.org", "/trainer")

    # A problem is shown on its own line, and the text stays in the box.
    broken = _text("Sam — night shifts").replace("difficulty: 2\n", "difficulty: 9\n", 1)
    line = broken.splitlines().index("difficulty: 9") + 1
    tess.get_by_label("…or paste its text").fill(broken)
    tess.get_by_role("button", name="Check").click()
    problems = tess.locator(".yaml-problems li").all_inner_texts()
    assert any(p.startswith(f"line {line}: difficulty:") for p in problems), problems
    assert "difficulty: 9" in tess.get_by_label("…or paste its text").input_value()
    # The editor marks the line in its gutter, and "Go to line" puts the cursor on it.
    marked = tess.locator(".yaml-gutter [data-problem-line]")
    assert marked.first.get_attribute("data-problem-line") == str(line)
    tess.get_by_role("button", name=f"Go to line {line}").first.click()
    chosen = tess.evaluate("() => { const t = document.getElementById('text');"
                           " return t.value.slice(t.selectionStart, t.selectionEnd); }")
    assert chosen == "difficulty: 9"
    tess.screenshot(path=str(live_server.env["RAPPORT_DATA_DIR"]) + "/trainer-problem.png")

    # Fixed, checked and saved: a draft.
    tess.get_by_label("…or paste its text").fill(_text("Sam — night shifts"))
    tess.get_by_role("button", name="Check").click()
    tess.get_by_role("button", name=f"Save as a draft of {NEW_ID}").click()
    tess.wait_for_url(f"{url}/trainer/library/persona/{NEW_ID}?saved=1")
    assert "draft only, never published" in tess.locator("#item-status").inner_text()

    # Test-drive the draft: the client answers.
    tess.get_by_role("button", name="Test-drive the draft").click()
    tess.get_by_label("Your next message").fill("What brings you in today?")
    tess.get_by_role("button", name="Send").click()
    assert tess.locator(".drive__student").first.inner_text().startswith("What brings you in")
    assert tess.locator(".drive__client").count() == 2

    # A student in another browser does not see the draft.
    ana = new_page()
    _sign_in(ana, url, "ana@example.org", "/")
    assert "Sam — night shifts" not in ana.content()

    # Published: the student sees it.
    tess.goto(f"{url}/trainer/library/persona/{NEW_ID}")
    tess.get_by_label("What changed (kept in the history)").fill("first version")
    tess.get_by_role("button", name="Publish the draft").click()
    tess.wait_for_url(re.compile(r"done=published"))
    ana.reload()
    assert "Sam — night shifts" in ana.content()

    # Edited and published again, then rolled back to version 1.
    tess.get_by_role("link", name="Edit the live text").click()
    box = tess.get_by_label("…or paste its text")
    box.fill(box.input_value().replace("title: Sam — night shifts", "title: Sam — late shifts"))
    tess.get_by_role("button", name="Check").click()
    tess.get_by_role("button", name=f"Save as a draft of {NEW_ID}").click()
    tess.get_by_role("button", name="Publish the draft").click()
    tess.wait_for_url(re.compile(r"done=published"))
    assert tess.locator("#item-status").inner_text() == "version 2"
    ana.reload()
    assert "Sam — late shifts" in ana.content()
    assert "+title: Sam — late shifts" in tess.locator("pre.diff").first.text_content()
    tess.get_by_role("button", name="Roll back to version 1").click()
    tess.wait_for_url(re.compile(r"done=rolled-back"))
    assert tess.locator("#item-status").inner_text() == "version 3"
    ana.reload()
    assert "Sam — night shifts" in ana.content() and "Sam — late shifts" not in ana.content()
    tess.screenshot(path=str(live_server.env["RAPPORT_DATA_DIR"]) + "/trainer-item.png",
                    full_page=True)


def test_the_new_persona_template_validates_as_written(live_server, new_page) -> None:
    url = live_server.url
    tess = new_page()
    _sign_in(tess, url, "tess@example.org", "/trainer")
    tess.get_by_role("link", name="Start a new persona from the template").click()
    assert "id: new-client" in tess.get_by_label("…or paste its text").input_value()
    assert "is a new persona" in tess.locator("[role=status]").first.inner_text()
    assert tess.locator(".yaml-gutter [data-problem-line]").count() == 0
