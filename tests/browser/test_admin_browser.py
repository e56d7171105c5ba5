"""In a real browser: an admin previews a CSV roster with a bad row (nothing is imported and
the row is named), fixes it, imports it, and copies a set-password link with the button."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import Session, select

from app.config import Settings
from app.db import build_engine
from app.models import User
from tests.accounts import PASSWORD, SECRET, seed_people
from tests.browser.conftest import watched_context

pytestmark = pytest.mark.browser
GOOD = "email,name,role\nana@example.org,Ana Lima,student\nben@example.org,Ben Ode,\n"
BAD = GOOD + "zoe.example.org,Zoe,teacher\n"


@pytest.fixture
def server_env(server_env: dict[str, str]) -> dict[str, str]:
    """Accounts on, and one admin in a cohort."""
    env = {**server_env, "RAPPORT_AUTH": "on", "RAPPORT_SECRET_KEY": SECRET}
    seed_people(env["RAPPORT_DATA_DIR"], env["RAPPORT_DATABASE_URL"],
                (("root@example.org", "admin"),))
    return env


def _emails(env: dict[str, str]) -> set[str]:
    engine = build_engine(Settings(data_dir=env["RAPPORT_DATA_DIR"],
                                   database_url=env["RAPPORT_DATABASE_URL"]))
    try:
        with Session(engine) as db:
            return set(db.exec(select(User.email)).all())
    finally:
        engine.dispose()


def test_admin_imports_a_roster_all_or_nothing_and_copies_a_link(
    live_server, browser, page_errors
) -> None:
    url = live_server.url
    context = watched_context(browser, page_errors)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = context.new_page()
    try:
        page.goto(f"{url}/admin/cohorts")
        page.get_by_label("Email").fill("root@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/admin/cohorts")
        page.get_by_role("link", name="Import people from a CSV file").click()

        page.get_by_label("…or paste it").fill(BAD)
        page.get_by_role("button", name="Preview").click()
        bad = page.locator('tr[data-line="4"]').inner_text()
        assert "line 4:" in bad and "not an email address" in bad and "unknown role" in bad
        assert page.get_by_role("button", name=re.compile("^Import")).count() == 0
        assert "ana@example.org" not in _emails(live_server.env)

        page.get_by_label("…or paste it").fill(GOOD)
        page.get_by_role("button", name="Preview").click()
        page.get_by_role("button", name="Import 2 people").click()
        assert "Imported. 2 new accounts" in page.locator("#roster-done").inner_text()
        assert {"ana@example.org", "ben@example.org"} <= _emails(live_server.env)

        first = page.get_by_test_id("one-time-link").first.inner_text()
        page.get_by_role("button", name="Copy link").first.click()
        page.get_by_text("Copied.").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == first
        page.screenshot(path=f"{live_server.env['RAPPORT_DATA_DIR']}/roster.png", full_page=True)
    finally:
        context.close()
    assert not page_errors, page_errors


def test_admin_renames_deletes_cohorts_and_copies_a_reset_link(
    live_server, browser, page_errors
) -> None:
    url = live_server.url
    api = httpx.Client(base_url=url, timeout=30)
    login = api.post("/api/auth/login", json={"email": "root@example.org", "password": PASSWORD})
    api.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    # A session held by a member of "Evening": that cohort cannot be deleted.
    assert api.post("/api/sessions", json={"persona_id": "sam-work-stress"}).status_code == 201
    context = watched_context(browser, page_errors)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = context.new_page()
    try:
        page.goto(f"{url}/admin/cohorts")
        page.get_by_label("Email").fill("root@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/admin/cohorts")
        page.get_by_label("Name", exact=True).fill("Spare")
        page.get_by_role("button", name="Add", exact=True).click()
        page.wait_for_url(f"{url}/admin/cohorts")

        heading = page.get_by_role("heading", name="Evening", exact=True)
        evening = page.locator("section", has=heading)
        assert "hold 1 session, so it cannot be deleted" in evening.inner_text()
        assert evening.get_by_role("button", name=re.compile("^Delete")).count() == 0
        assert evening.get_by_role("link", name=re.compile("^Delete")).count() == 0
        evening.get_by_label("New name").fill("Evening 2026/27")
        evening.get_by_role("button", name="Rename").click()
        page.wait_for_url(f"{url}/admin/cohorts?done=renamed")
        assert page.get_by_role("heading", name="Evening 2026/27").count() == 1

        # Deleting asks first: the way back keeps the cohort, the button deletes it.
        page.get_by_role("link", name="Delete Spare…").click()
        page.wait_for_url(re.compile(r"/admin/cohorts/\d+/delete$"))
        confirm_url = page.url
        assert page.get_by_role("heading", name="Delete Spare?").count() == 1
        page.get_by_role("link", name="Keep it and go back").click()
        page.wait_for_url(f"{url}/admin/cohorts")
        assert page.get_by_role("heading", name="Spare", exact=True).count() == 1
        page.get_by_role("link", name="Delete Spare…").click()
        page.wait_for_url(confirm_url)
        page.screenshot(path=str(live_server.env["RAPPORT_DATA_DIR"]) + "/cohort-delete.png")
        page.get_by_role("button", name="Delete the cohort").click()
        page.wait_for_url(f"{url}/admin/cohorts?done=deleted")
        assert page.get_by_role("heading", name="Spare", exact=True).count() == 0

        page.goto(f"{url}/admin/users")
        page.get_by_role("button", name="Set-password link").first.click()
        link = page.get_by_test_id("one-time-link").inner_text()
        assert "/reset/" in link
        page.get_by_role("button", name="Copy link").click()
        page.get_by_text("Copied.").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == link
    finally:
        context.close()
    assert not page_errors, page_errors
