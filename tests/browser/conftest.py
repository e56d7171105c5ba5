"""Fixtures for the real-browser suite: Debian's chromium driven by Playwright (sync API).

Under CI=true a missing browser or Playwright fails the suite loudly; on a developer machine
without them the tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"{reason} (set CI=true to make this a failure)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One chromium per test module.

    Not per session: sync Playwright keeps an event loop running on this thread while it is
    open, and later tests that call asyncio.run would fail.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def server_env(server_env: dict[str, str]) -> dict[str, str]:
    """A slightly slower typing speed, so streaming is observable in the page."""
    return {**server_env, "RAPPORT_STREAM_DELAY": "0.02"}


class PageErrors(list):
    """Uncaught script errors and CSP violations seen by a page."""


@pytest.fixture
def context(browser) -> Iterator[object]:
    """A fresh browser profile (cookies, sessionStorage) for one test."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page_errors() -> PageErrors:
    """Script errors collected from every page of the test's context."""
    return PageErrors()


@pytest.fixture
def page(context, page_errors: PageErrors) -> Iterator[object]:
    """A page that records script errors and Content-Security-Policy violations."""

    def on_console(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            page_errors.append(message.text)

    # On the context, so a second tab opened by a test is watched too.
    context.on("weberror", lambda error: page_errors.append(str(error.error)))
    context.on("console", on_console)
    yield context.new_page()
    assert not page_errors, f"script errors in the page: {page_errors}"


def watched_context(browser, page_errors: list[str], *, timeout: int = 10_000):
    """A fresh browser profile at 1280 px whose script errors and CSP violations are recorded."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    ctx.set_default_timeout(timeout)
    ctx.on("weberror", lambda error: page_errors.append(str(error.error)))
    ctx.on("console", lambda m: page_errors.append(m.text)
           if m.type == "error" and "Content Security Policy" in m.text else None)
    return ctx


@pytest.fixture
def new_page(browser, page_errors: PageErrors) -> Iterator:
    """Pages in separate browser profiles (one per person), watched for script errors."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        context.set_default_timeout(15_000)
        context.on("weberror", lambda error: page_errors.append(str(error.error)))
        context.on("console", lambda m: page_errors.append(m.text)
                   if m.type == "error" and "Content Security Policy" in m.text else None)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    assert not page_errors, f"script errors in the page: {page_errors}"
