"""Turn pydantic validation errors into sentences a trainer can act on."""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel

from app.yamldoc import (
    describe_value,
    did_you_mean,
    format_number,
    literal_choices,
    one_of,
    unknown_field,
    wrong_schema_version,
)

from .schema import ANALYZER_CODES, READABLE_VERSIONS, Persona

__all__ = ["model_at", "persona_wording"]


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
            return (
                f"must be more than {format_number(low)} and at most {format_number(high)} "
                f"(got {shown})"
            )
        return f"must be between {format_number(low)} and {format_number(high)} (got {shown})"
    if low is not None:
        word = "more than" if exclusive else "at least"
        return f"must be {word} {format_number(low)} (got {shown})"
    return f"must be at most {format_number(high)} (got {shown})"


def _unknown_field(loc: tuple[Any, ...]) -> str:
    model = model_at(loc[:-1])
    if model is None:
        return "unknown field"
    return unknown_field(loc[-1], list(model.model_fields))


def _not_one_of(loc: tuple[Any, ...], got: Any, expected: str) -> str:
    if loc and loc[-1] == "[key]":
        # Only trust.weights has restricted keys: name the analyzer codes.
        choices = list(ANALYZER_CODES)
        hint = did_you_mean(got, choices)
        head = f"'{got}' is not an analyzer skill code"
        head += f" ({hint})" if hint else ""
        return head + "; allowed: " + ", ".join(choices)
    if loc == ("schema_version",):
        return wrong_schema_version("persona", got, READABLE_VERSIONS)
    return one_of(got, literal_choices(expected))


_TEXT_HINT = {
    True: " — YAML reads yes/no/on/off/true/false as true or false: put the text in quotes",
    False: " — put the text in quotes",
}


def persona_wording(kind: str, loc: tuple[Any, ...], got: Any, ctx: dict[str, Any]) -> str | None:
    """The persona library's sentence for a pydantic error; None for app.yamldoc's common one."""
    if kind == "extra_forbidden":
        return _unknown_field(loc)
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return _range_message(loc, got)
    if kind == "string_type":
        hint = _TEXT_HINT[isinstance(got, bool)] if got is not None else ""
        return f"expected text (got {describe_value(got)}){hint}"
    if kind == "literal_error":
        return _not_one_of(loc, got, str(ctx.get("expected", "")))
    if kind in {"bool_parsing", "bool_type"}:
        return f"expected true or false (got {describe_value(got)})"
    if kind == "invalid_key":
        return f"field names must be text (got {describe_value(got)})"
    return None
