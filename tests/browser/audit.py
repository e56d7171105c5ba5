"""The accessibility audit the browser tests run on a page: axe-core (from npm) and page width.

axe-core is installed by `.ci/run` (`npm ci --prefix tests/browser`) and injected into the page
under test; it reports WCAG 2.1 A and AA violations. Under CI=true a missing axe-core fails.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Where to write screenshots of every audited state (set RAPPORT_AUDIT_SHOTS=folder to look).
SHOTS = os.environ.get("RAPPORT_AUDIT_SHOTS", "")

_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                          resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " +
                                     (n.failureSummary || "").split("\\n").slice(1, 2).join(""))
  }));
}"""

# Every element whose right edge is past the viewport: what makes a page scroll sideways.
_TOO_WIDE = """() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && getComputedStyle(el).position !== "fixed") {
      found.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
                 (el.className && typeof el.className === "string"
                  ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
                 " (right edge " + Math.round(box.right) + " px)");
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, found: found.slice(0, 8)};
}"""


@cache
def axe_source() -> str:
    """axe.min.js, or a skip (a failure under CI) saying how to install it."""
    if not AXE.is_file():
        message = "axe-core is not installed: run `npm ci --prefix tests/browser`"
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return AXE.read_text()


def axe_violations(page) -> list[dict]:
    """WCAG 2.1 AA violations axe-core finds in the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the test driver, not added as a <script>: the app's own CSP refuses
        # inline scripts, and must stay on while the page is audited.
        page.evaluate(axe_source())
    return page.evaluate(_RUN, WCAG_TAGS)


def overflow(page) -> dict:
    """How far the page is wider than its viewport, and the elements that stick out."""
    return page.evaluate(_TOO_WIDE)


def audit_state(page, name: str, problems: list[str], *, widths=(1280, 390), narrow=320) -> None:
    """Run axe at each width and check no width (320 px included) scrolls sideways."""
    original = page.viewport_size
    for width in (*widths, narrow):
        page.set_viewport_size({"width": width, "height": 900 if width > 600 else 844})
        page.wait_for_timeout(50)
        wide = overflow(page)
        if wide["scroll"] > wide["width"]:
            problems.append(f"{name} @ {width}px is {wide['scroll']} px wide: {wide['found']}")
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
        if width in widths:
            for violation in axe_violations(page):
                problems.append(f"{name} @ {width}px: {violation['id']} ({violation['impact']}): "
                                f"{violation['help']}: {violation['nodes']}")
    page.set_viewport_size(original)
