"""Checks on untrusted text before it goes anywhere: NUL bytes, lone surrogates, deep nesting.

PostgreSQL cannot store a NUL character, no database can store half of a UTF-16 surrogate pair
(JSON's `\\ud800` escape decodes to one), and a JSON document nested thousands deep exhausts
the parser's recursion. Each is refused with the field it was found in, before parsing where
that costs less.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

__all__ = [
    "MAX_NESTING",
    "InputProblem",
    "field_label",
    "find_bad_text",
    "load_json",
    "nesting_depth",
    "text_problem",
]

# Deeper than any document Rapport reads (a transcript is 4 levels); far below recursion limits.
MAX_NESTING = 64

_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class InputProblem(ValueError):
    """Untrusted input that cannot be accepted; `field` says where, the message what."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def text_problem(value: str) -> str | None:
    """What makes `value` unstorable, or None."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which is not allowed"
    if _SURROGATE.search(value):
        return "contains a lone UTF-16 surrogate, which is not valid Unicode text"
    return None


def _walk(data: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, str(key)
            yield from _walk(value, where)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _walk(value, f"{path}.{i}" if path else str(i))


def find_bad_text(data: object, *, root: str = "") -> InputProblem | None:
    """The first string in a decoded JSON value that cannot be stored, as a problem."""
    for where, value in _walk(data, root):
        problem = text_problem(value)
        if problem:
            return InputProblem(field_label(where), problem)
    return None


def field_label(where: str) -> str:
    """A field path fit to repeat in an error (its own bad characters made visible)."""
    shown = where.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    return shown.replace("\x00", "\\u0000")[:200] or "body"


def nesting_depth(raw: bytes) -> int:
    """How deeply a JSON text nests arrays and objects, found without parsing it."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def load_json(raw: bytes, *, where: str = "body") -> object:
    """Decode untrusted JSON: ValueError if malformed, InputProblem if too deep or unstorable."""
    if raw.count(b"[") + raw.count(b"{") > MAX_NESTING and nesting_depth(raw) > MAX_NESTING:
        raise InputProblem(where, f"nested more than {MAX_NESTING} levels deep")
    data = json.loads(raw)
    problem = find_bad_text(data)
    if problem is not None:
        raise problem
    return data
