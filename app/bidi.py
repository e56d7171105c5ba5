"""Bidirectional control characters made visible wherever a transcript is shown.

An override or isolate (U+202A-U+202E, U+2066-U+2069) reorders the text after it, so a
message could read differently on screen from what was typed ("Trojan Source"). Transcripts,
pages and PDFs show each one as a visible marker such as `[U+202E]`; the stored text and the
grader's quotes keep the characters as typed. frontend/static/app.js does the same for turns
that stream in.
"""

from __future__ import annotations

import re

__all__ = ["BIDI_CONTROLS", "reveal_bidi"]

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def reveal_bidi(text: str) -> str:
    """`text` with every bidirectional override or isolate replaced by a visible marker."""
    return BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)
