"""Turn pydantic validation errors into sentences a trainer can act on."""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel

from .schema import ANALYZER_CODES, Persona

__all__ = ["describe_value", "explain_error", "model_at"]

_MAX_SHOWN = 40


def describe_value(value: Any) -> str:
    """Show a YAML value the way the trainer typed it, shortened."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, dict):
        return "a section of 'key: value' lines"
    if isinstance(value, list):
        return "a list"
    text = str(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return repr(text)


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """Strip Annotated and Optional, returning the bare type and its constraints."""
    metadata: list[Any] = []
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp, *extra = get_args(tp)
            for item in extra:
                # Field(...) inside Annotated arrives as a FieldInfo carrying its own metadata.
                metadata.extend(getattr(item, "metadata", None) or [item])
            continue
        if origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp, metadata


def _resolve(loc: tuple[Any, ...]) -> tuple[Any, list[Any]]:
    """Follow an error location through the Persona type tree: (type, constraints) or (None, [])."""
    tp: Any = Persona
    metadata: list[Any] = []
    for part in loc:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None, []
            tp, metadata = _unwrap(field.annotation)
            metadata = [*field.metadata, *metadata]
            continue
        origin = get_origin(tp)
        if origin is list and isinstance(part, int):
            tp, metadata = _unwrap(get_args(tp)[0])
        elif origin is dict and isinstance(part, str) and part != "[key]":
            tp, metadata = _unwrap(get_args(tp)[1])
        else:
            return None, []
    return tp, metadata


def model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class found at an error location, if any."""
    tp, _ = _resolve(loc)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _bounds(loc: tuple[Any, ...]) -> tuple[Any, Any, bool]:
    """(lowest, highest, lowest-is-exclusive) allowed at loc, from the schema constraints."""
    _, metadata = _resolve(loc)
    low = high = None
    exclusive = False
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Gt):
            low, exclusive = item.gt, True
        elif isinstance(item, annotated_types.Le):
            high = item.le
        elif isinstance(item, annotated_types.Lt):
            high = item.lt
    return low, high, exclusive


def _range_message(loc: tuple[Any, ...], got: Any) -> str:
    low, high, exclusive = _bounds(loc)
    shown = describe_value(got)
    if low is not None and high is not None:
        if exclusive:
            return f"must be more than {_num(low)} and at most {_num(high)} (got {shown})"
        return f"must be between {_num(low)} and {_num(high)} (got {shown})"
    if low is not None:
        word = "more than" if exclusive else "at least"
        return f"must be {word} {_num(low)} (got {shown})"
    return f"must be at most {_num(high)} (got {shown})"


def _suggest(word: Any, choices: list[str]) -> str:
    match = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else ""


def _unknown_field(loc: tuple[Any, ...]) -> str:
    model = model_at(loc[:-1])
    if model is None:
        return "unknown field"
    allowed = list(model.model_fields)
    hint = _suggest(loc[-1], allowed)
    if hint:
        return f"unknown field ({hint})"
    return "unknown field (allowed here: " + ", ".join(allowed) + ")"


def _not_one_of(loc: tuple[Any, ...], got: Any, expected: str) -> str:
    if loc and loc[-1] == "[key]":
        # Only trust.weights has restricted keys: name the analyzer codes.
        choices = list(ANALYZER_CODES)
        hint = _suggest(got, choices)
        head = f"'{got}' is not an analyzer skill code"
        head += f" ({hint})" if hint else ""
        return head + "; allowed: " + ", ".join(choices)
    if loc == ("schema_version",):
        return f"this version of Rapport reads persona schema version 1 (got {describe_value(got)})"
    choices = [c.strip().strip("'") for c in expected.replace(" or ", ", ").split(",")]
    hint = _suggest(got, choices)
    tail = f"; {hint}" if hint else ""
    return f"must be one of: {', '.join(choices)} (got {describe_value(got)}){tail}"


_TEXT_HINT = {
    True: " — YAML reads yes/no/on/off/true/false as true or false: put the text in quotes",
    False: " — put the text in quotes",
}


def explain_error(error: dict[str, Any]) -> str:
    """One plain-English sentence for one pydantic error (loc, type, input, ctx)."""
    kind = error["type"]
    loc = tuple(error.get("loc", ()))
    got = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required field missing"
    if kind == "extra_forbidden":
        return _unknown_field(loc)
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return _range_message(loc, got)
    if kind in {"float_parsing", "float_type"}:
        return f"expected a number (got {describe_value(got)})"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"expected a whole number (got {describe_value(got)})"
    if kind == "string_type":
        hint = _TEXT_HINT[isinstance(got, bool)] if got is not None else ""
        return f"expected text (got {describe_value(got)}){hint}"
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
        return _not_one_of(loc, got, str(ctx.get("expected", "")))
    if kind in {"bool_parsing", "bool_type"}:
        return f"expected true or false (got {describe_value(got)})"
    if kind == "list_type":
        return f"expected a list, one '- ' item per line (got {describe_value(got)})"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"expected a section of 'key: value' lines (got {describe_value(got)})"
    if kind == "invalid_key":
        return f"field names must be text (got {describe_value(got)})"
    # Our own validators (schema.py) already speak the trainer's language.
    return str(error.get("msg", kind))
