"""Every page and state, as students, trainers, assessors and admins meet them, audited by axe-core
(WCAG 2.1 AA) at 1280 and 390 px, and none wider than a 320 px phone.

Two real servers per module: single-user mode, and accounts with a cohort whose grades wait for
release. Each state is reached the way a person reaches it (clicks, forms), then audited.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from app.audit import Actor
from app.auth.accounts import create_user
from app.auth.links import issue_reset
from app.config import Settings
from app.db import build_engine
from app.models import Turn
from tests.accounts import LINES, PASSWORD, PERSONA, SECRET, seed_people
from tests.browser.audit import audit_state, axe_source
from tests.browser.conftest import watched_context
from tests.browser.flow import fill_editor, through_reflection
from tests.support import ROOT, ServerProcess, database_url

pytestmark = pytest.mark.browser
SETUP = Actor(user_id=None, label="test")
PEOPLE = (("ana@example.org", "student"), ("mo@example.org", "assessor"),
          ("tess@example.org", "trainer"), ("root@example.org", "admin"))


@pytest.fixture(scope="module")
def problems() -> Iterator[list[str]]:
    """Every finding of the module; the last test asserts there are none."""
    axe_source()
    yield []


def _server(tmp: Path, url: str, **env: str) -> ServerProcess:
    return ServerProcess(env={"RAPPORT_DATA_DIR": str(tmp), "RAPPORT_DATABASE_URL": url,
                              "RAPPORT_STREAM_DELAY": "0", **env}).start()


@pytest.fixture(scope="module")
def solo(tmp_path_factory) -> Iterator[ServerProcess]:
    """Single-user mode."""
    tmp = tmp_path_factory.mktemp("solo")
    with database_url(tmp) as url:
        server = _server(tmp, url)
        server.db_url = url  # type: ignore[attr-defined]
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def accounts(tmp_path_factory) -> Iterator[tuple[ServerProcess, str]]:
    """Accounts on: one person of each role in an after-release cohort; a set-password link."""
    tmp = tmp_path_factory.mktemp("accounts")
    with database_url(tmp) as url:
        seed_people(tmp, url, PEOPLE)
        engine = build_engine(Settings(data_dir=tmp, database_url=url))
        with Session(engine) as db:
            newcomer = create_user(db=db, email="new@example.org", name="New", role="student",
                                   password=None, actor=SETUP)
            token = issue_reset(db=db, user=newcomer, actor=SETUP)
        engine.dispose()
        server = _server(tmp, url, RAPPORT_AUTH="on", RAPPORT_SECRET_KEY=SECRET)
        try:
            yield server, token
        finally:
            server.stop()


def _api(base: str, email: str | None = None) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    if email:
        answer = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def _hold(client: httpx.Client, *, end: bool = True, lines: list[str] = LINES) -> str:
    sid = client.post("/api/sessions", json={"persona_id": PERSONA}).json()["id"]
    for line in lines:
        assert client.post(f"/api/sessions/{sid}/turns", json={"text": line}).status_code == 200
    if end:
        assert client.post(f"/api/sessions/{sid}/end").status_code == 200
    return sid


def _unanswered(db_url: str, tmp: Path, sid: str) -> None:
    """A student message with no reply saved (what an engine failure leaves)."""
    engine = build_engine(Settings(data_dir=tmp, database_url=db_url))
    with Session(engine) as db:
        last = max(db.exec(select(Turn.index).where(Turn.session_id == sid)).all())
        db.add(Turn(session_id=sid, index=last + 1, speaker="counsellor",
                    text="And how are the nights now?"))
        db.commit()
    engine.dispose()


@contextmanager
def _browsing(browser, page_errors, base: str = "", email: str = "") -> Iterator:
    """A page in a fresh browser profile, signed in as `email` if given; closed afterwards."""
    context = watched_context(browser, page_errors, timeout=15_000)
    page = context.new_page()
    try:
        if email:
            page.goto(f"{base}/login")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/")
        yield page
    finally:
        context.close()


def test_single_user_pages(solo, browser, page_errors, problems, tmp_path) -> None:
    base = solo.url
    with _browsing(browser, page_errors) as page:
        page.goto(f"{base}/history")
        audit_state(page, "history-empty", problems)
        page.goto(f"{base}/")
        audit_state(page, "library", problems)

        page.locator(f'article[data-persona-id="{PERSONA}"]').get_by_role(
            "button", name="Start session").click()
        page.wait_for_url(re.compile(r"/sessions/[\w-]+$"))
        audit_state(page, "session-new", problems)
        sid = page.url.rsplit("/", 1)[1]
        for line in LINES[:2]:
            page.locator("#message").fill(line)
            page.get_by_role("button", name="Send").click()
            page.locator("#turns > li.turn--client:not(.turn--streaming)").nth(
                LINES.index(line) + 1).wait_for()
        audit_state(page, "session-mid", problems)
        for line in LINES[2:]:
            api_line = httpx.post(f"{base}/api/sessions/{sid}/turns", json={"text": line},
                                  timeout=30)
            assert api_line.status_code == 200

        api = _api(base)
        waiting = _hold(api, end=False, lines=LINES[:1])
        _unanswered(solo.db_url, Path(solo.env["RAPPORT_DATA_DIR"]), waiting)
        page.goto(f"{base}/sessions/{waiting}")
        page.locator("#retry").wait_for()
        audit_state(page, "session-awaiting-reply", problems)

        page.goto(f"{base}/sessions/{sid}")
        page.get_by_role("button", name="End session").click()
        page.wait_for_url(f"{base}/sessions/{sid}/reflect")
        audit_state(page, "reflect", problems)
        through_reflection(page, base, sid)
        audit_state(page, "report", problems)
        page.locator(".criterion-toggle").first.click()
        audit_state(page, "report-evidence-highlighted", problems)
        page.get_by_label("Grade again with").select_option(index=1)
        page.get_by_role("button", name="Grade", exact=True).click()
        page.wait_for_url(re.compile(r"\?grade="))
        audit_state(page, "report-regraded", problems)
        page.goto(f"{base}/sessions/{sid}")
        audit_state(page, "session-ended", problems)
        page.goto(f"{base}/sessions/{sid}/transcript")
        audit_state(page, "transcript", problems)
        page.goto(f"{base}/history")
        audit_state(page, "history", problems)
        page.goto(f"{base}/progress")
        audit_state(page, "progress", problems)

        page.goto(f"{base}/import")
        audit_state(page, "import", problems)
        bad = tmp_path / "not-a-transcript.json"
        bad.write_text('{"turns": "none"}')
        page.get_by_label("Transcript file (.json)").set_input_files(str(bad))
        page.get_by_role("button", name="Import and grade").click()
        page.locator(".alert").wait_for()
        audit_state(page, "import-error", problems)

        page.goto(f"{base}/sessions/no-such-session")
        audit_state(page, "not-found", problems)
        page.goto(f"{base}/desk")
        audit_state(page, "needs-accounts", problems)
    assert not page_errors, f"script errors or CSP violations: {page_errors}"


def test_accounts_pages(accounts, browser, page_errors, problems) -> None:
    server, token = accounts
    base = server.url
    ana_api = _api(base, "ana@example.org")
    released = _hold(ana_api)
    held = _hold(ana_api)

    with _browsing(browser, page_errors) as page:
        page.goto(f"{base}/login")
        audit_state(page, "login", problems)
        page.get_by_label("Email").fill("ana@example.org")
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
        page.locator(".alert").wait_for()
        audit_state(page, "login-error", problems)
        page.goto(f"{base}/reset/{token}")
        audit_state(page, "set-password", problems)

    # The assessor marks one of Ana's sessions and releases it.
    with _browsing(browser, page_errors, base, "mo@example.org") as page:
        page.goto(f"{base}/desk")
        audit_state(page, "desk-queue", problems)
        page.goto(f"{base}/desk/sessions/{released}")
        audit_state(page, "desk-session", problems)
        page.get_by_label("Overall comment for the student").fill("Warm and steady.")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Release to student").click()
        page.wait_for_url(re.compile(r"saved=release"))
        audit_state(page, "desk-released", problems)
        page.goto(f"{base}/desk/agreement")
        audit_state(page, "agreement", problems)

    with _browsing(browser, page_errors, base, "ana@example.org") as page:
        audit_state(page, "student-library", problems)
        page.goto(f"{base}/sessions/{held}/report")
        audit_state(page, "report-held-for-release", problems)
        page.goto(f"{base}/sessions/{held}/transcript")
        audit_state(page, "transcript-held-for-release", problems)
        page.goto(f"{base}/progress")
        audit_state(page, "progress-released", problems)
        page.goto(f"{base}/sessions/{released}/feedback")
        audit_state(page, "feedback", problems)
        page.goto(f"{base}/sessions/{released}/report")
        audit_state(page, "report-released", problems)
        page.goto(f"{base}/account")
        audit_state(page, "account", problems)
        page.goto(f"{base}/history")
        audit_state(page, "student-history", problems)

    with _browsing(browser, page_errors, base, "tess@example.org") as page:
        page.goto(f"{base}/trainer")
        audit_state(page, "trainer", problems)
        fill_editor(page, "id: broken\nversion: one\n")
        page.get_by_role("button", name="Check").click()
        page.locator("#yaml-problems-heading").wait_for()
        audit_state(page, "trainer-problems", problems)
        # The editor as it checks while you type: problems marked in the gutter, and the
        # completion list open with a field's description beside it.
        page.locator("#editor-status").filter(has_text="problem").wait_for()
        page.locator(".cm-lint-marker-error").first.hover()
        page.locator(".cm-tooltip .cm-diagnostic").first.wait_for()
        audit_state(page, "trainer-editor-problem", problems)
        page.locator(".cm-content").click()
        page.keyboard.press("Control+End")
        page.keyboard.press("Enter")
        page.keyboard.type("tit")
        page.locator(".cm-completionInfo").wait_for()
        audit_state(page, "trainer-editor-completion", problems)
        page.keyboard.press("Escape")
        fill_editor(page, (ROOT / "personas" / f"{PERSONA}.yaml").read_text())
        page.get_by_role("button", name="Check").click()
        page.locator(".alert, .notice").first.wait_for()
        audit_state(page, "trainer-persona-preview", problems)
        page.get_by_label("Your next message").fill("What brings you in today?")
        page.get_by_role("button", name="Send").click()
        page.get_by_role("button", name="End and see the grade").click()
        page.locator("#drive-overall").wait_for()
        audit_state(page, "trainer-test-drive-grade", problems)
        page.get_by_label("This file is a").select_option("rubric")
        fill_editor(page, (ROOT / "rubrics" / "core-conditions.yaml").read_text())
        page.get_by_role("button", name="Check").click()
        page.locator(".alert, .notice").first.wait_for()
        audit_state(page, "trainer-rubric-preview", problems)

    with _browsing(browser, page_errors, base, "root@example.org") as page:
        page.goto(f"{base}/admin/users")
        audit_state(page, "admin-users", problems)
        page.locator('tr[data-user-id]').filter(has_text="new@example.org").get_by_role(
            "button", name="Set-password link").click()
        page.get_by_test_id("one-time-link").wait_for()
        audit_state(page, "admin-users-link", problems)
        page.goto(f"{base}/admin/cohorts")
        audit_state(page, "admin-cohorts", problems)
        # The cohort's delete confirmation (its students hold sessions, so it only says why).
        importing = page.get_by_role("link", name="Import people from a CSV file").first
        page.goto(base + importing.get_attribute("href").replace("/import", "/delete"))
        page.get_by_role("heading", name=re.compile(r"^Delete .*\?$")).wait_for()
        audit_state(page, "admin-cohort-delete", problems)
        page.goto(f"{base}/admin/audit")
        audit_state(page, "admin-audit", problems)
    assert not page_errors, f"script errors or CSP violations: {page_errors}"


def test_no_violations_anywhere(problems) -> None:
    assert not problems, "\n".join(problems)
