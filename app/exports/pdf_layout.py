"""The PDF layout of a session report (fpdf2), loaded on the first export (app.exports.pdf)."""

from __future__ import annotations

from datetime import UTC, datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app.bidi import reveal_bidi
from app.exports.pdf import (
    _ACCENT,
    _ASCII,
    _INK,
    _MINUS,
    _MUTED,
    _PLUS,
    _SOFT,
    PdfReport,
    _all_text,
    _score,
)


class _Document(FPDF):
    """A4 with margins, a running footer, and the fonts the report's text needs."""

    def __init__(self, report: PdfReport) -> None:
        super().__init__(format="A4")
        from app.exports.pdf_fonts import Fonts  # fontTools loads only when a PDF is made

        self.report_title = report.title
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=18)
        self.typefaces = Fonts(self, _all_text(report))
        self.alias_nb_pages()

    def clean(self, text: str) -> str:
        text = reveal_bidi(text)  # a PDF reader would apply an override as typed
        if self.typefaces.unicode:
            return text
        return text.translate(_ASCII).encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.typefaces.family, "", 8)
        self.set_text_color(*_MUTED)
        self.cell(0, 5, self.clean(f"Rapport · {self.report_title}"), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(*_INK)

    # ---- text ------------------------------------------------------------------------------

    def para(self, text: str, *, size: float = 10, bold: bool = False, color=_INK,
             gap: float = 1.5, indent: float = 0) -> None:
        self.set_font(self.typefaces.family, "B" if bold else "", size)
        self.set_text_color(*color)
        self.set_x(self.l_margin + indent)
        self.multi_cell(self.epw - indent, size * 0.5, self.clean(text), new_x=XPos.LMARGIN,
                        new_y=YPos.NEXT, align="L")
        self.set_text_color(*_INK)
        self.ln(gap)

    def heading(self, text: str, *, size: float = 14) -> None:
        if self.get_y() > self.h - 45:
            self.add_page()
        self.ln(3)
        self.para(text, size=size, bold=True, color=_ACCENT, gap=2)

    def labelled(self, label: str, value: str) -> None:
        self.set_font(self.typefaces.family, "B", 10)
        self.set_text_color(*_MUTED)
        self.cell(38, 6, self.clean(label))
        self.set_text_color(*_INK)
        self.set_font(self.typefaces.family, "", 10)
        self.multi_cell(self.epw - 38, 6, self.clean(value), new_x=XPos.LMARGIN,
                        new_y=YPos.NEXT, align="L")

    # ---- charts ----------------------------------------------------------------------------

    def score_bars(self, report: PdfReport) -> None:
        low, high = report.scale
        name_w, bar_w, row_h = 58.0, 90.0, 9.0
        released = any(c.final is not None for c in report.criteria)
        if self.get_y() + row_h * (len(report.criteria) + 1) > self.h - 20:
            self.add_page()
        for c in report.criteria:
            y = self.get_y()
            self.set_font(self.typefaces.family, "", 9.5)
            self.set_xy(self.l_margin, y)
            self.multi_cell(name_w - 2, 4.5, self.clean(c.title), new_x=XPos.LMARGIN,
                            new_y=YPos.NEXT, align="L")
            x = self.l_margin + name_w
            self.set_fill_color(*_SOFT)
            self.rect(x, y + 1, bar_w, 3, style="F")
            for value, colour, offset in ((c.auto, _ACCENT, 1), (c.final, _PLUS, 4.5)):
                if value is None or (offset == 4.5 and not released):
                    continue
                self.set_fill_color(*colour)
                length = bar_w * max(0.0, min(1.0, (value - low) / max(1, high - low)))
                self.rect(x, y + offset, length, 3 if offset == 1 else 2, style="F")
            self.set_xy(x + bar_w + 3, y)
            value = _score(c.auto) + (f" → {_score(c.final)}" if c.final is not None else "")
            self.cell(0, 5, self.clean(value if c.auto is not None or c.final is not None
                                       else "not enough evidence"))
            self.set_y(max(self.get_y(), y + row_h))
        self.set_font(self.typefaces.family, "", 8.5)
        self.set_text_color(*_MUTED)
        key = f"Bars run from {low} to {high}: the auto-grader's score"
        word = "released" if report.final_released else "marked (not released)"
        key += f"; the thin green bar is the score the assessor {word}." if released else "."
        self.multi_cell(0, 4.5, self.clean(key), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.set_text_color(*_INK)

    def trust_chart(self, report: PdfReport) -> None:
        width, height = self.epw, 62.0
        if self.get_y() + height + 14 > self.h - 20:
            self.add_page()
        left, top = self.l_margin + 10, self.get_y() + 2
        plot_w, plot_h = width - 14, height - 14
        count = max(1, len(report.trust))
        self.set_font(self.typefaces.family, "", 7.5)
        self.set_text_color(*_MUTED)
        self.set_draw_color(*_SOFT)
        self.set_line_width(0.2)
        for level in range(0, 11, 2):
            y = top + plot_h * (1 - level / 10)
            self.line(left, y, left + plot_w, y)
            self.set_xy(left - 8, y - 2)
            self.cell(6, 4, str(level), align="R")
        step = next((s for s in (1, 2, 5, 10) if count / s <= 12), 20)

        def x_at(turn: float) -> float:
            return left + plot_w * (turn / count)

        for turn in range(0, count + 1, step):
            self.set_xy(x_at(turn) - 4, top + plot_h + 1)
            self.cell(8, 4, str(turn), align="C")
        self.set_xy(left, top + plot_h + 5)
        self.cell(plot_w, 4, "turn", align="C")
        start = report.start_trust if report.start_trust is not None else 0.0
        points = [(x_at(0), top + plot_h * (1 - start / 10))]
        points += [(x_at(p.turn), top + plot_h * (1 - max(0, min(10, p.trust)) / 10))
                   for p in report.trust]
        self.set_draw_color(*_ACCENT)
        self.set_line_width(0.6)
        self.polyline(points)
        self.set_fill_color(*_ACCENT)
        for point, (x, y) in zip(report.trust, points[1:], strict=True):
            self.circle(x - 0.9, y - 0.9, 1.8, style="F")
            if point.opened:
                self.set_text_color(*_INK)
                self.set_xy(min(x - 2, left + plot_w - 30), max(top, y - 6))
                self.cell(30, 4, self.clean(point.opened))
        self.set_text_color(*_INK)
        self.set_draw_color(0, 0, 0)
        self.set_line_width(0.2)
        self.set_y(top + height)


def _cover(doc: _Document, report: PdfReport) -> None:
    doc.set_y(40)
    doc.para("Rapport · practice session report", size=10, color=_MUTED, gap=4)
    doc.para(report.title, size=22, bold=True, gap=8)
    for label, value in report.meta:
        doc.labelled(label, value)
    doc.ln(8)
    if report.criteria:
        high = report.scale[1]
        doc.para(report.grade_heading, size=11, color=_MUTED, gap=2)
        line = f"Overall {_score(report.overall_auto)} out of {high} (auto-grader)"
        if report.overall_final is not None:
            word = "released" if report.final_released else "marked, not released,"
            line += f" · {_score(report.overall_final)} {word} by the assessor"
        doc.para(line, size=15, bold=True, gap=4)
    elif report.notice:
        doc.para(report.notice, size=11, gap=4)
    doc.para("The client in this session is simulated: no real person's story is told here.",
             size=9, color=_MUTED)


def _feedback(doc: _Document, report: PdfReport) -> None:
    doc.heading("Feedback and evidence")
    for c in report.criteria:
        score = _score(c.auto) if c.auto is not None else "not enough evidence"
        if c.final is not None:
            how = "overridden" if c.decision == "override" else "accepted"
            word = "released" if report.final_released else "marked, not released:"
            score += f" · {word} {_score(c.final)} ({how})"
        doc.heading(f"{c.title} — {score}", size=11.5)
        if c.reason:
            doc.para(f"Assessor's reason: {c.reason}", size=9.5, bold=True)
        if c.went_well:
            doc.para("Went well", size=9.5, bold=True, gap=0.5)
            for line in c.went_well:
                doc.para(f"• {line}", size=9.5, indent=3, gap=0.8)
        elif c.feedback and not c.suggestions:
            doc.para(c.feedback, size=9.5)
        if c.suggestions:
            doc.para("To work on", size=9.5, bold=True, gap=0.5)
            for s in c.suggestions:
                doc.para(f"{s.turn}: you said “{s.said}”", size=9.5, indent=3, gap=0.3)
                doc.para(f"You could try: “{s.alternative}” {s.why}", size=9.5, indent=6,
                         color=_MUTED, gap=1)
        if c.evidence:
            doc.para("Evidence", size=9.5, bold=True, gap=0.5)
            for e in c.evidence:
                sign = "+" if e.effect == "+" else "−"
                colour = _PLUS if e.effect == "+" else _MINUS
                doc.para(f"{sign} {e.turn} · {e.skill}: “{e.quote}”", size=9, indent=3,
                         color=colour, gap=0.6)


def _transcript(doc: _Document, report: PdfReport) -> None:
    doc.add_page()
    doc.heading("Transcript", size=14)
    for turn in report.turns:
        head = f"{turn.label} · {turn.speaker}" if turn.label else turn.speaker
        doc.para(head, size=8.5, bold=True, color=_ACCENT if turn.student else _MUTED, gap=0)
        doc.para(turn.text, size=10, indent=0 if turn.student else 4, gap=1.2)
        for note in turn.notes:
            doc.para(f"Assessor's note: {note}", size=9, bold=True, indent=4, gap=1.2)


def render(report: PdfReport) -> bytes:
    """The report as PDF bytes."""
    doc = _Document(report)
    doc.set_title(doc.clean(report.title))
    doc.set_author("Rapport")
    doc.set_creation_date(datetime.now(UTC))
    _write(doc, report)
    return bytes(doc.output())


def render_course(title: str, reports: list[PdfReport]) -> bytes:
    """A course of sessions with one client as one PDF: each session's report in turn."""
    # One document whose fonts cover every session's text.
    everything = PdfReport(title=title, meta=[], comment=" ".join(_all_text(r) for r in reports))
    doc = _Document(everything)
    doc.set_title(doc.clean(title))
    doc.set_author("Rapport")
    doc.set_creation_date(datetime.now(UTC))
    for report in reports:
        _write(doc, report)
    return bytes(doc.output())


def _write(doc: _Document, report: PdfReport) -> None:
    """One session's report: cover, scores, trust, feedback, comment and transcript."""
    doc.add_page()
    _cover(doc, report)
    if report.criteria or report.trust:
        doc.add_page()
    if report.criteria:
        doc.heading("Scores")
        doc.score_bars(report)
    if report.trust:
        doc.heading("Trust over the session")
        doc.trust_chart(report)
    if report.criteria:
        _feedback(doc, report)
    if report.comment:
        doc.heading("Assessor's comment")
        doc.para(report.comment)
    _transcript(doc, report)
