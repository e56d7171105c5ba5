"""Steps several browser tests share: after End, the student's own view comes before the report."""

from __future__ import annotations

import re

from tests.accounts import PASSWORD

__all__ = ["sign_in_page", "through_reflection"]


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
