"""Load rubric YAML files, reporting every problem as file:line: field: message.

The YAML machinery is app.yamldoc's; this module names the rubric library's parts.
"""

from __future__ import annotations

from app.yamldoc import MAX_FILE_BYTES, DocumentKind, LibraryError
from app.yamldoc import Problem as RubricProblem

from .messages import rubric_wording
from .schema import Rubric

__all__ = [
    "MAX_FILE_BYTES",
    "RUBRICS",
    "RubricLibraryError",
    "RubricProblem",
    "load_rubric_file",
    "load_rubrics",
    "validate_rubric_paths",
]


class RubricLibraryError(LibraryError, noun="rubric"):
    """Raised when rubric files are invalid; .problems lists every one found."""


def _by_title(rubric: Rubric) -> tuple[str, str]:
    """Rubrics are listed by title."""
    return rubric.title.casefold(), rubric.id


RUBRICS = DocumentKind(
    Rubric,
    RubricLibraryError,
    rubric_wording,
    _by_title,
    keys="id:, title:, criteria:, ...",
    allow_empty=False,  # grading needs at least one rubric
)

# load_rubric_file(path) -> Rubric: one file; raises RubricLibraryError listing its problems.
load_rubric_file = RUBRICS.load_file
# validate_rubric_paths(paths) -> (rubrics, problems): files and folders; every problem found.
validate_rubric_paths = RUBRICS.validate
# load_rubrics(folder) -> {id: Rubric} by title; raises RubricLibraryError on any problem.
load_rubrics = RUBRICS.load_folder
