"""Load persona YAML files safely, reporting every problem as file:line: field: message.

The YAML machinery is app.yamldoc's; this module names the persona library's parts.
"""

from __future__ import annotations

from app.yamldoc import MAX_FILE_BYTES, DocumentKind, LibraryError, format_problems
from app.yamldoc import Problem as PersonaProblem

from .messages import persona_wording
from .schema import Persona

__all__ = [
    "MAX_FILE_BYTES",
    "PERSONAS",
    "PersonaLibraryError",
    "PersonaProblem",
    "format_problems",
    "load_library",
    "load_persona_file",
    "validate_paths",
]


class PersonaLibraryError(LibraryError, noun="persona"):
    """Raised when persona files are invalid; .problems lists every one found."""


def _library_order(persona: Persona) -> tuple[int, str, str]:
    """The library is shown easiest first, then by title."""
    return persona.difficulty, persona.title.casefold(), persona.id


PERSONAS = DocumentKind(
    Persona, PersonaLibraryError, persona_wording, _library_order, keys="id:, title:, client:, ..."
)

# load_persona_file(path) -> Persona: one file; raises PersonaLibraryError listing its problems.
load_persona_file = PERSONAS.load_file
# validate_paths(paths) -> (personas, problems): files and folders; collects every problem.
validate_paths = PERSONAS.validate
# load_library(folder) -> {id: Persona} in library order; raises PersonaLibraryError.
load_library = PERSONAS.load_folder
