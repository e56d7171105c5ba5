"""The transcript interchange format: read, validate and write `.json` / `.jsonl`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.analysis import ContextTurn

__all__ = [
    "Transcript",
    "TranscriptError",
    "TranscriptTurn",
    "parse_transcript",
    "read_transcripts",
]

MAX_INPUT_BYTES = 64 * 1024 * 1024


class TranscriptError(ValueError):
    """A transcript file that cannot be read; the message says where and why."""


class TranscriptTurn(BaseModel):
    """One utterance in the interchange format."""

    model_config = ConfigDict(extra="ignore")

    speaker: Literal["counsellor", "client"]
    text: str = Field(max_length=100_000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        return value


class Transcript(BaseModel):
    """A whole session in the interchange format."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=200)
    persona_id: str | None = None
    # Optional: the course of sessions with one client this transcript belongs to, and its
    # place in it (files without them are single sessions, as before).
    course_id: str | None = Field(default=None, min_length=1, max_length=200)
    session_number: int | None = Field(default=None, ge=1, le=1000)
    turns: list[TranscriptTurn] = Field(min_length=1)

    def context_turns(self) -> list[ContextTurn]:
        """The turns as the analyzer takes them."""
        return [ContextTurn(speaker=t.speaker, text=t.text) for t in self.turns]


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "transcript"
        if error["type"] == "literal_error":
            parts.append(f"{where}: unknown speaker {error['input']!r} (use counsellor or client)")
        elif error["type"] == "too_short" and error["loc"] == ("turns",):
            parts.append("turns: a transcript needs at least one turn")
        else:
            parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def parse_transcript(data: object, *, where: str) -> Transcript:
    """Validate one decoded transcript object."""
    if not isinstance(data, dict):
        raise TranscriptError(f"{where}: expected a JSON object with 'id' and 'turns'")
    try:
        return Transcript.model_validate(data)
    except ValidationError as exc:
        raise TranscriptError(f"{where}: {_describe(exc)}") from exc


def _read_text(source: str) -> tuple[str, str]:
    if source == "-":
        text = sys.stdin.read(MAX_INPUT_BYTES + 1)
        name = "<stdin>"
    else:
        path = Path(source)
        if not path.is_file():
            raise TranscriptError(f"{source}: no such file")
        if path.stat().st_size > MAX_INPUT_BYTES:
            raise TranscriptError(f"{source}: larger than {MAX_INPUT_BYTES // 2**20} MiB")
        text = path.read_text(encoding="utf-8")
        name = source
    if len(text) > MAX_INPUT_BYTES:
        raise TranscriptError(f"{name}: larger than {MAX_INPUT_BYTES // 2**20} MiB")
    return name, text


def read_transcripts(source: str) -> Iterator[Transcript]:
    """Transcripts from a .json (object or list) or .jsonl file, or `-` for stdin."""
    name, text = _read_text(source)
    stripped = text.strip()
    if not stripped:
        raise TranscriptError(f"{name}: empty input")
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None
        lines = stripped.splitlines()
        if len(lines) < 2:
            raise TranscriptError(f"{name}: not JSON or JSON Lines") from None
    if whole is not None:
        items = whole if isinstance(whole, list) else [whole]
        for i, item in enumerate(items):
            yield parse_transcript(item, where=f"{name}[{i}]" if isinstance(whole, list) else name)
        return
    for number, line in enumerate(stripped.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"{name}:{number}: not JSON ({exc.msg})") from None
        yield parse_transcript(item, where=f"{name}:{number}")
