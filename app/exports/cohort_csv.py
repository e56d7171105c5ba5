"""A cohort's grades as CSV: one row per ended session, auto and released scores side by side."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass

__all__ = ["CsvRow", "grades_csv"]

# A cell starting with one of these is a formula to a spreadsheet: a student could type one.
# Spreadsheets skip leading spaces and line breaks and read full-width forms (＝, ＋) as the
# ASCII ones, so the first character is looked at after both.
_FORMULA_START = frozenset("=+-@")


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One session's line."""

    session_id: str
    student_name: str
    student_email: str
    persona_id: str
    started: str
    ended: str
    rubric_id: str
    status: str
    auto_overall: float | None
    auto: dict[str, float | None]
    released_overall: float | None
    released: dict[str, float | None]
    released_at: str
    assessor: str


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    text = str(value)
    first = unicodedata.normalize("NFKC", text.lstrip()[:1])
    if first in _FORMULA_START or text[:1] in ("\t", "\r", "\n"):
        return "'" + text
    return text


def grades_csv(rows: list[CsvRow], criteria: list[str]) -> str:
    """The CSV text (header first); a criterion column pair per criterion, in the given order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["session_id", "student_name", "student_email", "persona_id", "started", "ended",
         "rubric_id", "status", "auto_overall",
         *[f"auto_{c}" for c in criteria], "released_overall",
         *[f"released_{c}" for c in criteria], "released_at", "assessor"]
    )
    for r in rows:
        writer.writerow(
            [_cell(v) for v in (
                r.session_id, r.student_name, r.student_email, r.persona_id, r.started, r.ended,
                r.rubric_id, r.status, r.auto_overall, *[r.auto.get(c) for c in criteria],
                r.released_overall, *[r.released.get(c) for c in criteria], r.released_at,
                r.assessor,
            )]
        )
    return out.getvalue()
