"""Fonts for the PDF report, so what a student typed prints in its own script.

DejaVu Sans (Debian's fonts-dejavu-core) covers Latin, Greek, Cyrillic, Armenian, Georgian,
Hebrew and basic Arabic; Noto Sans fonts (fonts-noto-core) cover the scripts of South and
South-East Asia, Ethiopic and more; Droid Sans Fallback (fonts-droid-fallback) covers Chinese
and Japanese, Nanum Gothic (fonts-nanum) Korean. A fallback font is added to a document only
when its text needs it: loading every Noto file for an English transcript would cost a second
per export. With
uharfbuzz installed, text is shaped (Arabic letters join, Devanagari conjuncts form).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont

__all__ = ["FONT_DIRS", "Fonts", "fallbacks_for", "needs_shaping", "primary_font"]

FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"))
_PRIMARY = ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf")
# Tried in this order for characters the primary font lacks.
_FALLBACK_GLOBS = ("noto/NotoSans-Regular.ttf", "noto/NotoSans*-Regular.ttf",
                   "noto/NotoNaskhArabic-Regular.ttf", "droid/DroidSansFallbackFull.ttf",
                   "nanum/NanumGothic.ttf")


def _find(relative: str) -> Path | None:
    for folder in FONT_DIRS:
        path = folder / relative
        if path.is_file():
            return path
    return None


def primary_font() -> tuple[Path, Path] | None:
    """DejaVu Sans regular and bold, if installed."""
    regular, bold = (_find(p) for p in _PRIMARY)
    return (regular, bold) if regular and bold else None


@cache
def _coverage(path: Path) -> frozenset[int]:
    """The code points a font file has glyphs for (read once per process)."""
    font = TTFont(str(path), lazy=True)
    try:
        return frozenset(font.getBestCmap() or {})
    finally:
        font.close()


@cache
def _candidates() -> tuple[Path, ...]:
    seen: list[Path] = []
    for pattern in _FALLBACK_GLOBS:
        for folder in FONT_DIRS:
            for path in sorted(folder.glob(pattern)):
                if path not in seen and "UI-" not in path.name:
                    seen.append(path)
    return tuple(seen)


def needs_shaping(text: str) -> bool:
    """Whether the text holds a script whose letters change shape or order when set."""
    # Hebrew and Arabic up to the scripts of South and South-East Asia, and the Indic
    # extension blocks; Latin, Greek, Cyrillic and CJK set fine glyph by glyph.
    return any(0x0590 <= ord(c) <= 0x1CFF or 0xA8E0 <= ord(c) <= 0xABFF for c in text)


def fallbacks_for(text: str, primary: Path) -> list[Path]:
    """The fewest fallback fonts, in order, that cover what `primary` lacks in `text`."""
    missing = {ord(c) for c in set(text) if not c.isspace()} - _coverage(primary)
    chosen: list[Path] = []
    for path in _candidates():
        if not missing:
            break
        covered = missing & _coverage(path)
        if covered:
            chosen.append(path)
            missing -= covered
    return chosen


class Fonts:
    """What a document registers: family names for body text and whether shaping is on."""

    def __init__(self, pdf, text: str) -> None:
        found = primary_font()
        self.unicode = found is not None
        self.family = "Helvetica"
        self.shaping = False
        if found is None:
            return
        regular, bold = found
        pdf.add_font("DejaVu", "", str(regular))
        pdf.add_font("DejaVu", "B", str(bold))
        self.family = "DejaVu"
        names = []
        for number, path in enumerate(fallbacks_for(text, regular)):
            name = f"Fallback{number}"
            pdf.add_font(name, "", str(path))
            # No bold face for most scripts: bold text falls back to the regular one.
            pdf.add_font(name, "B", str(path))
            names.append(name)
        if names:
            pdf.set_fallback_fonts(names, exact_match=False)
        # Shaping costs about 30 ms a paragraph, so only for text that needs it.
        if needs_shaping(text) and importlib.util.find_spec("uharfbuzz") is not None:
            pdf.set_text_shaping(True)
            self.shaping = True
