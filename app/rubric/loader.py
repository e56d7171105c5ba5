"""Load rubric YAML files, reporting every problem as file:line: field: message.

The YAML safety checks and the error-to-line mapping are the persona loader's; only the
messages and the file discovery are rubric-specific.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.persona.loader import PersonaProblem as RubricProblem
from app.persona.loader import _compose, _error_loc, _locate
from app.persona.messages import describe_value

from .schema import EVENTS, MECHANISMS, Criterion, Framework, Indicator, Rubric, Scale, Scoring

__all__ = [
    "MAX_FILE_BYTES",
    "RubricLibraryError",
    "RubricProblem",
    "load_rubric_file",
    "load_rubrics",
    "validate_rubric_paths",
]

MAX_FILE_BYTES = 256 * 1024
_FIELDS: dict[str, list[str]] = {
    model.__name__: list(model.model_fields)
    for model in (Rubric, Scale, Scoring, Framework, Criterion, Indicator)
}
_ALL_FIELDS = sorted({name for names in _FIELDS.values() for name in names})


class RubricLibraryError(Exception):
    """Raised when rubric files are invalid; .problems lists every one found."""

    def __init__(self, problems: Sequence[RubricProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in rubric files:"
        super().__init__("\n".join([head, *(str(p) for p in self.problems)]))


@dataclass
class _Loaded:
    rubric: Rubric | None
    problems: list[RubricProblem]
    id_line: int = 1


def _model_fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Allowed field names for the section an unknown key sits in."""
    parents = [p for p in loc[:-1] if isinstance(p, str)]
    section = parents[-1] if parents else ""
    owner = {
        "": "Rubric",
        "scale": "Scale",
        "scoring": "Scoring",
        "frameworks": "Framework",
        "criteria": "Criterion",
        "indicators": "Indicator",
    }.get(section)
    return _FIELDS.get(owner or "", _ALL_FIELDS)


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _choices(expected: str) -> list[str]:
    return [c.strip().strip("'") for c in expected.replace(" or ", ", ").split(",") if c.strip()]


def explain(error: dict[str, Any]) -> str:
    """One plain-English sentence for one pydantic error in a rubric file."""
    kind = error["type"]
    loc = tuple(error.get("loc", ()))
    got = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required field missing"
    if kind == "extra_forbidden":
        allowed = _model_fields_at(loc)
        match = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        if match:
            return f"unknown field (did you mean '{match[0]}'?)"
        return "unknown field (allowed here: " + ", ".join(allowed) + ")"
    if kind in {"greater_than_equal", "greater_than"}:
        bound = ctx.get("ge", ctx.get("gt"))
        return f"must be at least {_num(bound)} (got {describe_value(got)})"
    if kind in {"less_than_equal", "less_than"}:
        bound = ctx.get("le", ctx.get("lt"))
        return f"must be at most {_num(bound)} (got {describe_value(got)})"
    if kind in {"float_parsing", "float_type"}:
        return f"expected a number (got {describe_value(got)})"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        if loc and loc[-1] == "[key]":
            return f"level names are whole numbers on the scale (got {describe_value(got)})"
        return f"expected a whole number (got {describe_value(got)})"
    if kind == "string_type":
        return f"expected text (got {describe_value(got)}) — put the text in quotes"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        need = ctx.get("min_length", 1)
        return f"needs at least {need} item{'s' if need != 1 else ''}"
    if kind == "string_pattern_mismatch":
        return (
            "must be a short lowercase name: a letter first, then letters, digits, "
            f"'-' or '_' (got {describe_value(got)})"
        )
    if kind == "literal_error":
        if loc == ("schema_version",):
            return (
                f"this version of Rapport reads rubric schema version 1 (got {describe_value(got)})"
            )
        choices = _choices(str(ctx.get("expected", "")))
        if loc and loc[-1] == "event":
            choices = list(EVENTS)
        elif loc and loc[-1] == "mechanism":
            choices = list(MECHANISMS)
        match = difflib.get_close_matches(str(got), choices, n=1, cutoff=0.6)
        hint = f"; did you mean '{match[0]}'?" if match else ""
        return f"must be one of: {', '.join(choices)} (got {describe_value(got)}){hint}"
    if kind == "list_type":
        return f"expected a list, one '- ' item per line (got {describe_value(got)})"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"expected a section of 'key: value' lines (got {describe_value(got)})"
    return str(error.get("msg", kind))


def _read_text(path: Path) -> tuple[str | None, list[RubricProblem]]:
    if not path.is_file():
        return None, [
            RubricProblem(path, 1, "-", "file not found" if not path.exists() else "not a file")
        ]
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        msg = f"file is too large ({size // 1024} KiB; a rubric may be at most 256 KiB)"
        return None, [RubricProblem(path, 1, "-", msg)]
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [RubricProblem(path, line, "-", "file is not UTF-8 text (save it as UTF-8)")]


def _load(path: Path) -> _Loaded:
    text, problems = _read_text(path)
    if text is None:
        return _Loaded(None, problems)
    root, data, problems = _compose(path, text)
    if root is None or problems:
        return _Loaded(None, problems)
    if not isinstance(data, dict):
        msg = "the file must be a set of 'key: value' lines (id:, title:, criteria:, ...)"
        return _Loaded(None, [RubricProblem(path, root.start_mark.line + 1, "-", msg)])
    id_line, _ = _locate(root, ("id",))
    problems = []
    ident = data.get("id")
    if isinstance(ident, str) and ident != path.stem:
        msg = (
            f"must match the file name: id is '{ident}' but the file is '{path.name}' "
            "(rename the file or change the id)"
        )
        problems.append(RubricProblem(path, id_line, "id", msg))
    rubric = None
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = _error_loc(error)
            line, field = _locate(root, loc)
            problems.append(RubricProblem(path, line, field, explain({**error, "loc": loc})))
    problems.sort(key=lambda p: p.line)
    return _Loaded(None if problems else rubric, problems, id_line)


def load_rubric_file(path: Path) -> Rubric:
    """Load and validate one rubric file; raise RubricLibraryError listing its problems."""
    loaded = _load(Path(path))
    if loaded.rubric is None:
        raise RubricLibraryError(loaded.problems)
    return loaded.rubric


def _rubric_files(paths: Sequence[Path]) -> Iterator[Path]:
    seen: set[Path] = set()
    for given in map(Path, paths):
        if given.is_dir():
            candidates = sorted(
                p for p in given.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file()
            )
        else:
            candidates = [given]
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                yield candidate


def validate_rubric_paths(paths: Sequence[Path]) -> tuple[list[Rubric], list[RubricProblem]]:
    """Validate rubric files and folders (their *.yaml/*.yml); collect every problem found."""
    rubrics: list[Rubric] = []
    problems: list[RubricProblem] = []
    owners: dict[str, Path] = {}
    for path in _rubric_files(paths):
        loaded = _load(path)
        problems.extend(loaded.problems)
        if loaded.rubric is None:
            continue
        if loaded.rubric.id in owners:
            msg = f"id '{loaded.rubric.id}' is already used by {owners[loaded.rubric.id]}"
            problems.append(RubricProblem(path, loaded.id_line, "id", msg))
            continue
        owners[loaded.rubric.id] = path
        rubrics.append(loaded.rubric)
    return rubrics, problems


def load_rubrics(directory: Path) -> dict[str, Rubric]:
    """Load every rubric in a folder, by title; raise RubricLibraryError on any problem."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RubricLibraryError([RubricProblem(directory, 1, "-", "rubric folder not found")])
    rubrics, problems = validate_rubric_paths([directory])
    if problems:
        raise RubricLibraryError(problems)
    if not rubrics:
        raise RubricLibraryError([RubricProblem(directory, 1, "-", "no rubric files (*.yaml)")])
    return {r.id: r for r in sorted(rubrics, key=lambda r: (r.title.casefold(), r.id))}
