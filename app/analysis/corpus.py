"""The team's labelled corpus of counsellor utterances (corpus/analyzer, see CODEBOOK.md)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.analysis.model import CODES, MECHANISMS, ContextTurn

__all__ = ["CorpusError", "Row", "Segment", "label_counts", "load_corpus", "read_rows"]

REGISTERS = ("spoken", "written")
VARIETIES = ("en-GB", "en-AU", "en-US")
_KEYS = {"id", "context", "segments", "empathy", "register", "variety", "topic", "note"}
_MAX_CONTEXT = 3
_MAX_SEGMENTS = 6


class CorpusError(ValueError):
    """A corpus file breaks the codebook's row format; the message names file and line."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the utterance that does one thing, with its code."""

    text: str
    code: str


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled counsellor utterance in context."""

    id: str
    context: tuple[ContextTurn, ...]
    segments: tuple[Segment, ...]
    empathy: dict[str, int]
    register: str
    variety: str
    topic: str
    note: str
    source: str  # file name, for per-batch figures

    @property
    def text(self) -> str:
        """The utterance as said: the segments joined with single spaces."""
        return " ".join(s.text for s in self.segments)

    @property
    def codes(self) -> tuple[str, ...]:
        """The distinct codes of the utterance, in order of first appearance."""
        return tuple(dict.fromkeys(s.code for s in self.segments))


def _fail(where: str, message: str) -> CorpusError:
    return CorpusError(f"{where}: {message}")


def _row(data: object, *, where: str, source: str) -> Row:
    """Validate one decoded JSON line into a Row."""
    if not isinstance(data, dict):
        raise _fail(where, "a row must be a JSON object")
    unknown = set(data) - _KEYS
    if unknown:
        raise _fail(where, f"unknown keys {sorted(unknown)}")
    missing = {"id", "context", "segments", "empathy", "register", "variety"} - set(data)
    if missing:
        raise _fail(where, f"missing keys {sorted(missing)}")
    ident = data["id"]
    if not isinstance(ident, str) or not ident:
        raise _fail(where, "id must be a non-empty string")
    context = data["context"]
    if not isinstance(context, list) or len(context) > _MAX_CONTEXT:
        raise _fail(where, f"context must be a list of at most {_MAX_CONTEXT} turns")
    turns = []
    for turn in context:
        if (
            not isinstance(turn, dict)
            or set(turn) != {"speaker", "text"}
            or turn["speaker"] not in ("client", "counsellor")
            or not isinstance(turn["text"], str)
            or not turn["text"].strip()
        ):
            raise _fail(where, 'each context turn is {"speaker": client|counsellor, "text": ...}')
        turns.append(ContextTurn(speaker=turn["speaker"], text=turn["text"]))
    segments = data["segments"]
    if not isinstance(segments, list) or not 1 <= len(segments) <= _MAX_SEGMENTS:
        raise _fail(where, f"segments must be a list of 1 to {_MAX_SEGMENTS}")
    parts = []
    for segment in segments:
        if not isinstance(segment, dict) or set(segment) != {"text", "code"}:
            raise _fail(where, 'each segment is {"text": ..., "code": ...}')
        text, code = segment["text"], segment["code"]
        if not isinstance(text, str) or not text.strip() or text != text.strip():
            raise _fail(where, "segment text must be non-empty, without outer spaces")
        if code not in CODES:
            raise _fail(where, f"unknown code {code!r}")
        parts.append(Segment(text=text, code=code))
    empathy = data["empathy"]
    if (
        not isinstance(empathy, dict)
        or set(empathy) != set(MECHANISMS)
        or any(empathy[m] not in (0, 1, 2) or isinstance(empathy[m], bool) for m in MECHANISMS)
    ):
        raise _fail(where, f"empathy must give each of {list(MECHANISMS)} as 0, 1 or 2")
    if data["register"] not in REGISTERS:
        raise _fail(where, f"register must be one of {list(REGISTERS)}")
    if data["variety"] not in VARIETIES:
        raise _fail(where, f"variety must be one of {list(VARIETIES)}")
    topic, note = data.get("topic", ""), data.get("note", "")
    if not isinstance(topic, str) or not isinstance(note, str):
        raise _fail(where, "topic and note are strings")
    return Row(
        id=ident,
        context=tuple(turns),
        segments=tuple(parts),
        empathy={m: int(empathy[m]) for m in MECHANISMS},
        register=data["register"],
        variety=data["variety"],
        topic=topic,
        note=note,
        source=source,
    )


def read_rows(path: Path) -> list[Row]:
    """Every row of one JSONL file, validated; raises CorpusError naming file:line."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _fail(where, f"not JSON ({exc.msg})") from exc
            rows.append(_row(data, where=where, source=path.name))
    return rows


def load_corpus(paths: Iterable[Path]) -> list[Row]:
    """Rows of every file (a folder means its *.jsonl), ids unique across files."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.jsonl")) if path.is_dir() else [path])
    rows: list[Row] = []
    seen: dict[str, str] = {}
    for file in files:
        for row in read_rows(file):
            if row.id in seen:
                raise CorpusError(f"{file.name}: id {row.id!r} also in {seen[row.id]}")
            seen[row.id] = file.name
            rows.append(row)
    return rows


def label_counts(rows: Sequence[Row]) -> dict[str, Counter]:
    """Counts per segment code, per empathy level, per register and variety."""
    counts: dict[str, Counter] = {
        "code": Counter(s.code for r in rows for s in r.segments),
        "register": Counter(r.register for r in rows),
        "variety": Counter(r.variety for r in rows),
    }
    for mechanism in MECHANISMS:
        counts[mechanism] = Counter(r.empathy[mechanism] for r in rows)
    return counts
