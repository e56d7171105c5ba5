"""Plain-text transcripts: "Counsellor: ..." / "Client: ..." lines (and common variants) read
into interchange turns, with each problem named by its line.

A line starting with a speaker label opens a turn; lines without one continue the turn above
(a long answer pasted over several lines). Timestamps before a label ("[00:01:12]", "00:01")
are dropped. Labels compare without case: counsellor, counselor, therapist, T, student,
practitioner and helper are the counsellor; client, C, patient and P are the client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CLIENT_LABELS", "COUNSELLOR_LABELS", "PlainTurn", "parse_plain"]

COUNSELLOR_LABELS = frozenset(
    {"counsellor", "counselor", "therapist", "t", "student", "practitioner", "helper"})
CLIENT_LABELS = frozenset({"client", "c", "patient", "p"})
MAX_PLAIN_TURNS = 2000

_TIME = re.compile(r"^\s*\[?\(?\d{1,2}:\d{2}(?::\d{2})?\)?\]?\s*[-–]?\s*")
# A label is a short run of letters (and spaces, for "Client 1") before a colon.
_LABEL = re.compile(r"^\s*\**([A-Za-z][A-Za-z ]{0,20}?)\s*\**\s*:\s*\**\s*(.*)$")


@dataclass
class PlainTurn:
    """One turn read from the text, with the line it starts on."""

    line: int
    speaker: str  # "counsellor" or "client"
    text: str


def _speaker(label: str) -> str | None:
    word = " ".join(label.lower().split())
    if word in COUNSELLOR_LABELS:
        return "counsellor"
    if word in CLIENT_LABELS:
        return "client"
    return None


def parse_plain(text: str) -> tuple[list[PlainTurn], list[str]]:
    """The turns of a pasted transcript, and its problems as "line N: ..." (none: importable)."""
    turns: list[PlainTurn] = []
    problems: list[str] = []
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = _TIME.sub("", raw, count=1) if _TIME.match(raw) else raw
        if not line.strip():
            continue
        found = _LABEL.match(line)
        speaker = _speaker(found.group(1)) if found else None
        if found and speaker is None and not turns:
            problems.append(
                f"line {number}: '{found.group(1).strip()}:' is not a speaker label this "
                "importer knows; start lines with Counsellor: or Client: (or T: and C:)")
            continue
        if speaker is None:
            if not turns:
                problems.append(f"line {number}: text before the first speaker label; start "
                                "it with Counsellor: or Client:")
                continue
            turns[-1].text += "\n" + line.strip()  # the turn above goes on
            continue
        said = found.group(2).strip() if found else ""
        if not said:
            # "Client:" alone on its line: the words follow on the next lines.
            turns.append(PlainTurn(line=number, speaker=speaker, text=""))
            continue
        turns.append(PlainTurn(line=number, speaker=speaker, text=said))
    for turn in turns:
        turn.text = turn.text.strip()
        if not turn.text:
            problems.append(f"line {turn.line}: the {turn.speaker}'s turn has no words")
    if len(turns) > MAX_PLAIN_TURNS:
        problems.append(f"line 1: at most {MAX_PLAIN_TURNS} turns; this has {len(turns)}")
    if turns and not any(t.speaker == "counsellor" for t in turns):
        problems.append("line 1: no counsellor turns: there is nothing to grade")
    if not turns and not problems:
        problems.append("line 1: nothing to import: paste the transcript first")
    return turns, problems
