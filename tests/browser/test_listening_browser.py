"""The client listens, in a real browser: it answers factual questions from its file and follows
what a reflection was about."""

from __future__ import annotations

import re

import pytest

from app.persona import load_library
from tests.support import ROOT

pytestmark = pytest.mark.browser

PERSONA = "sam-work-stress"


def _say(page, text: str, replies: int) -> str:
    page.locator("#message").fill(text)
    page.locator("#send").click()
    page.locator("#turns > li").nth(2 * replies).wait_for()
    page.wait_for_function("() => !document.querySelector('.turn--streaming')")
    page.wait_for_load_state("networkidle")  # the reply's stream has closed
    return page.locator("#turns > li").nth(2 * replies).locator(".turn__text").inner_text()


def test_the_client_answers_facts_and_follows_a_reflection(live_server, page) -> None:
    persona = load_library(ROOT / "personas")[PERSONA]
    facts = {f.topic: f.says for f in persona.facts}
    page.goto(f"{live_server.url}/")
    page.locator(f'article[data-persona-id="{PERSONA}"]').get_by_role(
        "button", name="Start session").click()
    page.wait_for_url(re.compile(r"/sessions/[\w-]+$"))

    # Two plain questions get the facts the persona file gives, not a stock "Yeah."
    assert facts["age"] in _say(page, "How old are you, if you don't mind me asking?", 1)
    assert "Northampton" in _say(page, "And where do you live?", 2)

    opened = _say(page, "What's been going on for you lately?", 3)
    surface = persona.disclosures[0]
    assert surface.says in opened
    # A reflection about the nights gets more about the nights: one of that layer's
    # elaborations whose topics the student's words touched.
    reflection = "So your head is still at work at night, going back over the meetings."
    reply = _say(page, reflection, 4)
    touched = [m for m in surface.elaborations
               if any(t.lower() in reflection.lower() for t in m.topics)]
    assert touched, "the test's reflection must touch an elaboration's topic"
    assert any(m.says in reply for m in touched), reply
