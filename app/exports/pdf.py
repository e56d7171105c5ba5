"""A session report as a PDF a portfolio can hold (fpdf2).

Cover, the scores as a bar chart, the trust curve, each criterion's feedback and evidence, the
assessor's comments, and the transcript with the assessor's notes. Lines break between words
(a word longer than a line is the only thing ever split), and every script prints in a font
that has it (app.exports.pdf_fonts). Turns are numbered as on the pages (app.numbering).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "PdfCriterion",
    "PdfEvidence",
    "PdfReport",
    "PdfSuggestion",
    "PdfTrustPoint",
    "PdfTurn",
    "render_course_pdf",
    "render_pdf",
]

_ASCII = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u2192": "->",
                        "\u2212": "-", "\u00b7": "-"})
_INK = (27, 37, 48)
_MUTED = (85, 96, 108)
_ACCENT = (29, 92, 112)
_SOFT = (213, 219, 225)
_PLUS = (43, 100, 71)
_MINUS = (155, 44, 44)


@dataclass(frozen=True, slots=True)
class PdfEvidence:
    """One quote that counts for (+) or against (-) a criterion."""

    turn: str
    effect: str
    skill: str
    quote: str


@dataclass(frozen=True, slots=True)
class PdfSuggestion:
    """A weak moment with something to try instead."""

    turn: str
    said: str
    alternative: str
    why: str


@dataclass(frozen=True, slots=True)
class PdfCriterion:
    """One criterion: the auto score, the released (final) score and why it changed."""

    title: str
    auto: float | None
    final: float | None = None
    decision: str = ""
    reason: str = ""
    feedback: str = ""
    went_well: list[str] = field(default_factory=list)
    suggestions: list[PdfSuggestion] = field(default_factory=list)
    evidence: list[PdfEvidence] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PdfTrustPoint:
    """Trust after one student turn, and the layer it opened, if any."""

    turn: int
    trust: float
    opened: str = ""


@dataclass(frozen=True, slots=True)
class PdfTurn:
    """One turn with any assessor notes on it; `label` is "Turn 3", "Opening" or ""."""

    label: str
    speaker: str
    text: str
    student: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PdfReport:
    """Everything the PDF shows, already filtered to what its reader may see."""

    title: str
    meta: list[tuple[str, str]]
    grade_heading: str = ""
    scale: tuple[int, int] = (1, 5)
    overall_auto: float | None = None
    overall_final: float | None = None
    criteria: list[PdfCriterion] = field(default_factory=list)
    comment: str = ""
    notice: str = ""
    start_trust: float | None = None
    trust: list[PdfTrustPoint] = field(default_factory=list)
    turns: list[PdfTurn] = field(default_factory=list)
    # A marking the reader may see but that is not released yet (the marker's own view).
    final_released: bool = True


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _all_text(report: PdfReport) -> str:
    parts = [report.title, report.grade_heading, report.comment, report.notice]
    parts += [f"{k} {v}" for k, v in report.meta]
    for c in report.criteria:
        parts += [c.title, c.reason, c.feedback, *c.went_well]
        parts += [f"{s.said} {s.alternative} {s.why}" for s in c.suggestions]
        parts += [f"{e.skill} {e.quote}" for e in c.evidence]
    parts += [p.opened for p in report.trust]
    for t in report.turns:
        parts += [t.speaker, t.text, *t.notes]
    return " ".join(parts)


def render_pdf(report: PdfReport) -> bytes:
    """The report as PDF bytes."""
    # fpdf2 (and its fonts) load on the first export, not when the server starts.
    from app.exports.pdf_layout import render

    return render(report)


def render_course_pdf(title: str, reports: list[PdfReport]) -> bytes:
    """A course of sessions with one client as one PDF: each session's report in turn."""
    from app.exports.pdf_layout import render_course

    return render_course(title, reports)
