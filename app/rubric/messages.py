"""Turn pydantic validation errors in rubric files into sentences a trainer can act on."""

from __future__ import annotations

from typing import Any

from app.yamldoc import (
    describe_value,
    format_number,
    literal_choices,
    one_of,
    unknown_field,
    wrong_schema_version,
)

from .schema import EVENTS, MECHANISMS, Criterion, Framework, Indicator, Rubric, Scale, Scoring

__all__ = ["rubric_wording"]

_FIELDS: dict[str, list[str]] = {
    model.__name__: list(model.model_fields)
    for model in (Rubric, Scale, Scoring, Framework, Criterion, Indicator)
}
_ALL_FIELDS = sorted({name for names in _FIELDS.values() for name in names})


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


def _not_one_of(loc: tuple[Any, ...], got: Any, expected: str) -> str:
    if loc == ("schema_version",):
        return wrong_schema_version("rubric", got)
    choices = literal_choices(expected)
    if loc and loc[-1] == "event":
        choices = list(EVENTS)
    elif loc and loc[-1] == "mechanism":
        choices = list(MECHANISMS)
    return one_of(got, choices)


def rubric_wording(kind: str, loc: tuple[Any, ...], got: Any, ctx: dict[str, Any]) -> str | None:
    """The rubric library's sentence for a pydantic error; None for app.yamldoc's common one."""
    if kind == "extra_forbidden":
        return unknown_field(loc[-1], _model_fields_at(loc))
    if kind in {"greater_than_equal", "greater_than"}:
        bound = ctx.get("ge", ctx.get("gt"))
        return f"must be at least {format_number(bound)} (got {describe_value(got)})"
    if kind in {"less_than_equal", "less_than"}:
        bound = ctx.get("le", ctx.get("lt"))
        return f"must be at most {format_number(bound)} (got {describe_value(got)})"
    if kind in {"int_parsing", "int_type", "int_from_float"} and loc and loc[-1] == "[key]":
        return f"level names are whole numbers on the scale (got {describe_value(got)})"
    if kind == "string_type":
        return f"expected text (got {describe_value(got)}) — put the text in quotes"
    if kind == "literal_error":
        return _not_one_of(loc, got, str(ctx.get("expected", "")))
    return None
