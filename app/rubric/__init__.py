"""Rubrics: the schema of a grading rubric and the loader for the YAML library."""

from .loader import (
    MAX_FILE_BYTES,
    RubricLibraryError,
    RubricProblem,
    load_rubric_file,
    load_rubrics,
    validate_rubric_paths,
)
from .schema import (
    EVENTS,
    MECHANISMS,
    SCHEMA_ID,
    SCHEMA_VERSION,
    Criterion,
    EventName,
    Framework,
    Indicator,
    Rubric,
    Scale,
    Scoring,
    rubric_json_schema,
    write_json_schema,
)

# The rubric used when none is named (a setting would be better; see the grading note).
DEFAULT_RUBRIC_ID = "core-conditions"

__all__ = [
    "DEFAULT_RUBRIC_ID",
    "EVENTS",
    "MAX_FILE_BYTES",
    "MECHANISMS",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "Criterion",
    "EventName",
    "Framework",
    "Indicator",
    "Rubric",
    "RubricLibraryError",
    "RubricProblem",
    "Scale",
    "Scoring",
    "load_rubric_file",
    "load_rubrics",
    "rubric_json_schema",
    "validate_rubric_paths",
    "write_json_schema",
]
