"""Turn numbers as people read them, the same on every page, export and report.

Files and the API count turns as 0-based list positions (every line, the client's opening
included: DESIGN.md's interchange format). People count exchanges instead, as the transcript
page does: "turn 3" is the student's third message, the client's answer to it belongs to turn 3,
and the client's opening line comes before turn 1. Pages map positions to these numbers here,
and grader text that quotes positions ("At turn 6 you ...") is renumbered on the way out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["TurnNumbers"]

_TURN_REF = re.compile(r"\b([Tt])urn (\d+)\b")


class TurnNumbers:
    """Position -> exchange number for one transcript, given each line's speaker."""

    def __init__(self, speakers: Sequence[str]) -> None:
        self._number: list[int] = []
        self._student: list[bool] = []
        count = 0
        for speaker in speakers:
            student = speaker == "counsellor"
            count += student
            self._number.append(count)
            self._student.append(student)

    @classmethod
    def of(cls, turns: Sequence[object]) -> TurnNumbers:
        """Numbers for stored turns (anything with a `speaker`)."""
        return cls([getattr(t, "speaker", "") for t in turns])

    def number(self, index: int) -> int:
        """The exchange a position belongs to (0: before the student's first message)."""
        if 0 <= index < len(self._number):
            return self._number[index]
        return index

    def label(self, index: int) -> str:
        """A heading for one line: "Turn 3", "Opening" or "Reply in turn 3"."""
        number = self.number(index)
        if 0 <= index < len(self._student) and not self._student[index]:
            return "Opening" if number == 0 else f"Reply in turn {number}"
        return f"Turn {number}"

    def line(self, index: int) -> str:
        """One line, unambiguous inside a sentence: "turn 3", "the reply in turn 3"."""
        number = self.number(index)
        if 0 <= index < len(self._student) and not self._student[index]:
            return "the opening" if number == 0 else f"the reply in turn {number}"
        return f"turn {number}"

    def phrase(self, index: int) -> str:
        """Where a line sits, inside a sentence: "turn 3" or "the opening"."""
        number = self.number(index)
        return "the opening" if number == 0 else f"turn {number}"

    def rewrite(self, text: str) -> str:
        """Grader text with every "turn <position>" turned into the turn people read."""
        return _TURN_REF.sub(lambda m: f"{m.group(1)}urn {self.number(int(m.group(2)))}", text)
