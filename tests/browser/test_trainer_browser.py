"""In a real browser: a trainer types a bad value into the YAML editor and sees it marked on its
line, fixes it, completes keys and values from the schema, saves a draft, test-drives it while
a student in another browser cannot see it, publishes it, edits and publishes again, then rolls
back. Every page is watched for CSP violations (tests/browser/conftest.py)."""

from __future__ import annotations

import re

import pytest

from app.config import PROJECT_ROOT
from tests.accounts import PERSONA, SECRET, seed_people
from tests.browser.flow import editor_cursor_to_end_of, editor_text, fill_editor
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


def expect_status(page, text: str) -> None:
    """Wait for the editor's check-as-you-type to say `text`."""
    from playwright.sync_api import expect

    expect(page.locator("#editor-status")).to_have_text(text, timeout=10_000)


def _marked_lines(page) -> list[str]:
    """The text of each editor line that has a problem marker beside it in the lint gutter.

    A marker and its line are matched by their height on the screen: the gutter and the text
    are separate columns."""
    return page.evaluate("""() => {
      const lines = [...document.querySelectorAll(".cm-content .cm-line")];
      return [...document.querySelectorAll(".cm-gutter-lint .cm-lint-marker-error")].map(m => {
        const top = m.closest(".cm-gutterElement").getBoundingClientRect().top;
        const line = lines.find(l => Math.abs(l.getBoundingClientRect().top - top) < 3);
        return line ? line.textContent : "?";
      });
    }""")


def _line(page, text: str):
    return page.locator(".cm-content .cm-line", has_text=text).first


def _text(title: str) -> str:
    text = (PROJECT_ROOT / "personas" / f"{PERSONA}.yaml").read_text(encoding="utf-8")
    text = text.replace(f"id: {PERSONA}\n", f"id: {NEW_ID}\n", 1)
    return re.sub(r"(?m)^title: .*$", f"title: {title}", text, count=1)


def test_trainer_drafts_test_drives_publishes_and_rolls_back(live_server, new_page) -> None:
    url = live_server.url
    tess = new_page()
    _sign_in(tess, url, "tess@example.org", "/trainer")

    # Check lists a problem by its line, the editor marks that line, and the text stays.
    broken = _text("Sam — night shifts").replace("difficulty: 2\n", "difficulty: 9\n", 1)
    line = broken.splitlines().index("difficulty: 9") + 1
    fill_editor(tess, broken)
    tess.get_by_role("button", name="Check").click()
    tess.locator("#yaml-problems-heading").wait_for()
    problems = tess.locator(".yaml-problems li").all_inner_texts()
    assert any(p.startswith(f"line {line}: difficulty:") for p in problems), problems
    assert "difficulty: 9" in editor_text(tess)
    expect_status(tess, "1 problem, marked on its line (F8 goes to the next).")
    assert _marked_lines(tess) == ["difficulty: 9"]
    # "Go to line" puts the editor's cursor on the line.
    tess.get_by_role("button", name=f"Go to line {line}").first.click()
    assert tess.evaluate("() => getSelection().toString()") == "difficulty: 9"
    tess.screenshot(path=str(live_server.env["RAPPORT_DATA_DIR"]) + "/trainer-problem.png")

    # Fixed, checked and saved: a draft.
    fill_editor(tess, _text("Sam — night shifts"))
    tess.get_by_role("button", name="Check").click()
    tess.wait_for_url(f"{url}/trainer/check")
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
    tess.wait_for_url(f"{url}/trainer/library/persona/{NEW_ID}/edit")
    fill_editor(tess, editor_text(tess).replace("title: Sam — night shifts",
                                                "title: Sam — late shifts"))
    tess.get_by_role("button", name="Check").click()
    tess.wait_for_url(f"{url}/trainer/check")
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
    tess.wait_for_url(f"{url}/trainer/new")
    assert "id: new-client" in editor_text(tess)
    assert "is a new persona" in tess.locator(".notice[role=status]").first.inner_text()
    expect_status(tess, "No problems: a valid persona (new-client).")
    assert _marked_lines(tess) == []
    tess.get_by_role("link", name="Start a new rubric from the template").click()
    tess.wait_for_url(f"{url}/trainer/new?kind=rubric")
    assert tess.get_by_label("This file is a").input_value() == "rubric"
    assert "id: new-rubric" in editor_text(tess)
    expect_status(tess, "No problems: a valid rubric (new-rubric).")
    assert _marked_lines(tess) == []


def test_the_editor_marks_a_typed_problem_on_its_line_completes_from_the_schema_and_saves(
    live_server, new_page
) -> None:
    from playwright.sync_api import expect
    url = live_server.url
    tess = new_page()
    _sign_in(tess, url, "tess@example.org", f"/trainer/library/persona/{PERSONA}/edit")
    editor = tess.get_by_role("textbox", name="…or paste its text")
    assert editor.get_attribute("contenteditable") == "true"  # the editor, labelled as the box
    expect_status(tess, f"No problems: a valid persona ({PERSONA}).")

    # A bad value typed into the editor: marked on its line a moment later, with the reason.
    _line(tess, "difficulty: 2").click()
    tess.keyboard.press("End")
    tess.keyboard.press("Backspace")
    tess.keyboard.type("9")
    expect_status(tess, "1 problem, marked on its line (F8 goes to the next).")
    assert _marked_lines(tess) == ["difficulty: 9"]
    tess.keyboard.press("F8")  # the lint keymap opens the problem at the cursor's next line
    tess.locator(".cm-tooltip-lint, .cm-panel-lint, .cm-diagnostic").first.wait_for()
    reason = tess.locator(".cm-diagnostic").first.inner_text()
    assert "difficulty: must be between 1 and 5" in reason, reason
    # Ctrl+Shift+M lists every problem in a panel a keyboard can walk; Escape closes it.
    tess.keyboard.press("Control+Shift+KeyM")
    expect(tess.locator(".cm-panel-lint")).to_contain_text("must be between 1 and 5")
    tess.keyboard.press("Escape")
    expect(tess.locator(".cm-panel-lint")).to_have_count(0)
    tess.screenshot(path=str(live_server.env["RAPPORT_DATA_DIR"]) + "/editor-problem.png")

    # Save with the problem (the button no longer names a file): refused, and the editor still
    # holds what was typed.
    tess.get_by_role("button", name="Save as a draft", exact=True).click()
    tess.locator("#yaml-problems-heading").wait_for()
    assert "difficulty: 9" in editor_text(tess)
    expect_status(tess, "1 problem, marked on its line (F8 goes to the next).")
    assert _line(tess, "difficulty: 9").count() == 1
    assert _marked_lines(tess) == ["difficulty: 9"]

    # Fixed by typing: the marker goes.
    _line(tess, "difficulty: 9").click()
    tess.keyboard.press("End")
    tess.keyboard.press("Backspace")
    tess.keyboard.type("3")
    expect_status(tess, f"No problems: a valid persona ({PERSONA}).")
    assert _marked_lines(tess) == []

    # Completion: the schema's keys where the cursor is (with their descriptions), then the
    # values the schema lists for the chosen key.
    tess.keyboard.press("End")
    tess.keyboard.press("Enter")
    tess.keyboard.type("eng")
    options = tess.locator(".cm-tooltip-autocomplete .cm-completionLabel")
    options.first.wait_for()
    assert options.all_inner_texts() == ["engine"]
    assert "client engine" in tess.locator(".cm-completionInfo").inner_text()
    tess.wait_for_timeout(150)
    tess.keyboard.press("Enter")
    tess.keyboard.press("Control+Space")
    options.first.wait_for()
    assert sorted(options.all_inner_texts()) == ["llm", "local", "scripted"]
    tess.keyboard.type("scr")
    expect(options).to_have_text(["scripted"])
    # CodeMirror takes no Enter within 75 ms of the list changing (its interactionDelay).
    tess.wait_for_timeout(150)
    tess.keyboard.press("Enter")
    assert "\ndifficulty: 3\nengine: scripted\n" in editor_text(tess)
    # Inside a list item the keys are the item's own, less those it has (min_trust), not the
    # file's.
    editor_cursor_to_end_of(tess, "  - id: surface")
    tess.keyboard.press("Enter")
    tess.keyboard.type("min_t")
    options.first.wait_for()
    assert options.all_inner_texts() == ["min_turn"]
    tess.keyboard.press("Escape")
    tess.keyboard.press("Control+z")

    # Keyboard only: Escape then Tab leaves the editor for the next control.
    tess.keyboard.press("Escape")
    tess.keyboard.press("Tab")
    assert tess.evaluate("() => !document.activeElement.closest('.cm-editor')")

    expect_status(tess, f"No problems: a valid persona ({PERSONA}).")
    tess.get_by_role("button", name=f"Save as a draft of {PERSONA}").click()
    tess.wait_for_url(f"{url}/trainer/library/persona/{PERSONA}?saved=1")
    tess.get_by_role("link", name="Edit the draft").click()
    tess.wait_for_url(f"{url}/trainer/library/persona/{PERSONA}/edit")
    assert "\ndifficulty: 3\nengine: scripted\n" in editor_text(tess)


def test_without_javascript_the_textarea_checks_and_saves(live_server, browser) -> None:
    url = live_server.url
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280,
                                                                        "height": 900})
    try:
        tess = context.new_page()
        _sign_in(tess, url, "tess@example.org", "/trainer")
        assert tess.locator(".cm-editor").count() == 0
        box = tess.get_by_label("…or paste its text")
        box.fill(_text("Sam — plain box"))
        tess.get_by_role("button", name="Check").click()
        tess.wait_for_url(f"{url}/trainer/check")
        tess.get_by_role("button", name=f"Save as a draft of {NEW_ID}").click()
        tess.wait_for_url(f"{url}/trainer/library/persona/{NEW_ID}?saved=1")
    finally:
        context.close()


def test_a_pasted_character_card_imports_as_a_draft_and_a_broken_one_is_kept(
    live_server, new_page
) -> None:
    import json

    url = live_server.url
    tess = new_page()
    _sign_in(tess, url, "tess@example.org", "/trainer")
    box = tess.get_by_label("…or paste the card's JSON")
    box.fill('{"spec": "chara_card_v3", "data": {"name": "Pia"')
    tess.get_by_role("button", name="Import card").click()
    assert "Not imported" in tess.locator("#card-error").inner_text()
    assert tess.get_by_label("…or paste the card's JSON").input_value().startswith(
        '{"spec": "chara_card_v3"')  # nothing lost: one edit away from importing
    card = {"spec": "chara_card_v3", "spec_version": "3.0",
            "data": {"name": "Pia Lund", "description": "A student who cannot sleep.",
                     "first_mes": "I'm not sure why I came.", "tags": ["sleep"]}}
    tess.get_by_label("…or paste the card's JSON").fill(json.dumps(card))
    tess.get_by_role("button", name="Import card").click()
    gaps = tess.locator('[data-testid="card-gaps"] li').all_inner_texts()
    assert any(g.startswith("disclosures") for g in gaps), gaps
    assert "id: pia-lund" in editor_text(tess)
