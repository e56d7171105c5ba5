"""Steps several browser tests share: after End, the student's own view comes before the report."""

from __future__ import annotations

__all__ = ["through_reflection"]


def through_reflection(page, base: str, sid: str) -> None:
    """Wait for the reflection page that End opens, save it as it stands, land on the report."""
    page.wait_for_url(f"{base}/sessions/{sid}/reflect")
    page.get_by_role("button", name="Save and open my report").click()
    page.wait_for_url(f"{base}/sessions/{sid}/report")
