"""Steps several browser tests share: after End, the student's own view comes before the report."""

from __future__ import annotations

import re

from tests.accounts import PASSWORD

__all__ = [
    "editor_cursor_to_end_of",
    "editor_text",
    "fill_editor",
    "sign_in_page",
    "through_reflection",
]


def through_reflection(page, base: str, sid: str) -> None:
    """Wait for the reflection page that End opens, save it as it stands, land on the report."""
    page.wait_for_url(f"{base}/sessions/{sid}/reflect")
    page.get_by_role("button", name="Save and open my report").click()
    page.wait_for_url(f"{base}/sessions/{sid}/report")


def sign_in_page(page, url: str, email: str, target: str) -> None:
    """Open `target` signed out, sign in on the login page it sends you to, and land there."""
    page.goto(f"{url}{target}")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}{target}")


# The trainer's YAML editor (CodeMirror): its content is set the way a paste sets it, through
# the editor's own view, found from its DOM with the page's import map.
_REPLACE_DOC = """async (text) => {
  const { EditorView } = await import("@codemirror/view");
  const view = EditorView.findFromDOM(document.querySelector(".cm-editor"));
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}"""


def fill_editor(page, text: str) -> None:
    """Replace everything in the trainer's YAML editor with `text`, as a paste would."""
    page.locator(".cm-editor").wait_for()
    page.evaluate(_REPLACE_DOC, text)


def editor_text(page) -> str:
    """What the form will send: the textarea the editor keeps in step."""
    return page.locator("#text").input_value()


_CURSOR_TO = """async (text) => {
  const { EditorView } = await import("@codemirror/view");
  const view = EditorView.findFromDOM(document.querySelector(".cm-editor"));
  const at = view.state.doc.toString().indexOf(text);
  const line = view.state.doc.lineAt(at);
  view.dispatch({ selection: { anchor: line.to }, scrollIntoView: true });
  view.focus();
}"""


def editor_cursor_to_end_of(page, text: str) -> None:
    """Put the editor's cursor at the end of the first line containing `text` (it may be far
    down, where CodeMirror has not drawn the line yet), ready for typing."""
    page.evaluate(_CURSOR_TO, text)
