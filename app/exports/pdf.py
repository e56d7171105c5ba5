"""A session's transcript and grade report as a PDF (fpdf2).

DejaVu Sans (Debian's fonts-dejavu-core) is used when present, so any script a student types
prints as typed; without it the built-in Helvetica is used and text outside Latin-1 is replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from app.bidi import reveal_bidi

__all__ = ["FONT_DIR", "PdfCriterion", "PdfReport", "PdfTurn", "render_pdf"]

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_ASCII = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u2192": "->"})


@dataclass(frozen=True, slots=True)
class PdfCriterion:
    """One criterion's row: the auto score, the released (final) score and why it changed."""

    title: str
    auto: float | None
    final: float | None = None
    decision: str = ""
    reason: str = ""
    feedback: str = ""


@dataclass(frozen=True, slots=True)
class PdfTurn:
    """One turn with any assessor notes on it."""

    number: int
    speaker: str
    text: str
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PdfReport:
    """Everything the PDF shows, already filtered to what its reader may see."""

    title: str
    meta: list[tuple[str, str]]
    grade_heading: str = ""
    overall_auto: float | None = None
    overall_final: float | None = None
    criteria: list[PdfCriterion] = field(default_factory=list)
    comment: str = ""
    notice: str = ""
    turns: list[PdfTurn] = field(default_factory=list)
    # Whether the marking shown is the released one; otherwise it is the reader's own (or a
    # colleague's) work in progress and is labelled so.
    final_released: bool = True


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


class _Writer:
    def __init__(self) -> None:
        self.pdf = FPDF(format="A4")
        self.pdf.set_margins(18, 18, 18)
        self.pdf.set_auto_page_break(True, margin=18)
        regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
        self.unicode = regular.exists() and bold.exists()
        if self.unicode:
            self.pdf.add_font("DejaVu", "", str(regular))
            self.pdf.add_font("DejaVu", "B", str(bold))
            self.family = "DejaVu"
        else:
            self.family = "Helvetica"
        self.pdf.add_page()

    def clean(self, text: str) -> str:
        text = reveal_bidi(text)  # a PDF reader would apply an override as typed
        if self.unicode:
            return text
        return text.translate(_ASCII).encode("latin-1", "replace").decode("latin-1")

    def text(self, text: str, *, size: float = 10, bold: bool = False, gap: float = 1.5) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.multi_cell(0, size * 0.5, self.clean(text), new_x=XPos.LMARGIN,
                            new_y=YPos.NEXT, wrapmode=WrapMode.CHAR)
        self.pdf.ln(gap)

    def heading(self, text: str) -> None:
        self.pdf.ln(2)
        self.text(text, size=13, bold=True, gap=1)


def render_pdf(report: PdfReport) -> bytes:
    """The report as PDF bytes."""
    w = _Writer()
    w.pdf.set_title(w.clean(report.title))
    w.pdf.set_author("Rapport")
    w.pdf.set_creation_date(datetime.now(UTC))
    w.text(report.title, size=16, bold=True, gap=2)
    for label, value in report.meta:
        w.text(f"{label}: {value}", size=9.5, gap=0.5)
    if report.notice:
        w.heading("Grade")
        w.text(report.notice)
    if report.criteria:
        w.heading(report.grade_heading or "Grade")
        word = "released" if report.final_released else "marked"
        line = f"Overall (auto-grader): {_score(report.overall_auto)}"
        if report.overall_final is not None or any(c.decision for c in report.criteria):
            label = "released" if report.final_released else "marked, not released"
            line += f"    Overall ({label}): {_score(report.overall_final)}"
        w.text(line, bold=True)
        for c in report.criteria:
            row = f"{c.title}: auto {_score(c.auto)}"
            if c.decision:
                how = "overridden" if c.decision == "override" else "accepted"
                row += f", {word} {_score(c.final)} ({how})"
            w.text(row, bold=True, gap=0.5)
            if c.reason:
                w.text(f"Assessor's reason: {c.reason}", size=9.5, gap=0.5)
            if c.feedback:
                w.text(c.feedback, size=9.5, gap=1.5)
    if report.comment:
        w.heading("Assessor's comment")
        w.text(report.comment)
    w.heading("Transcript")
    for turn in report.turns:
        w.text(f"{turn.number}. {turn.speaker}", size=9, bold=True, gap=0)
        w.text(turn.text, size=10, gap=1)
        for note in turn.notes:
            w.text(f"Assessor's note: {note}", size=9.5, gap=1)
    return bytes(w.pdf.output())
