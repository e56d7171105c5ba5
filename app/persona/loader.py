"""Load persona YAML files safely, reporting every problem as file:line: field: message."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .messages import explain_error
from .schema import Persona

__all__ = [
    "MAX_FILE_BYTES",
    "PersonaLibraryError",
    "PersonaProblem",
    "format_problems",
    "load_library",
    "load_persona_file",
    "validate_paths",
]

MAX_FILE_BYTES = 256 * 1024
# Expanded size cap: YAML aliases can make a small file explode into a huge structure.
_MAX_NODES = 50_000
_SAFE_TAGS = frozenset(tag for tag in SafeConstructor.yaml_constructors if tag is not None)
_YAML_HINTS = {
    "mapping values are not allowed here": (
        "a line of text containing ': ' needs quotes around it, or the indentation is off"
    ),
    "found character '\\t' that cannot start any token": "use spaces, not tabs, to indent",
    "could not find expected ':'": "a 'key: value' line is missing its ':' or is mis-indented",
    "found undefined alias": "an '*alias' refers to an '&anchor' that is not defined above it",
}


@dataclass(frozen=True)
class PersonaProblem:
    """One problem in one persona file, located by line (1-based) and field path."""

    path: Path
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class PersonaLibraryError(Exception):
    """Raised when persona files are invalid; .problems lists every one found."""

    def __init__(self, problems: Sequence[PersonaProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in persona files:"
        super().__init__("\n".join([head, *(str(p) for p in self.problems)]))


def format_problems(problems: Sequence[PersonaProblem]) -> str:
    """One problem per line, as the validate command prints them."""
    return "\n".join(str(p) for p in problems)


@dataclass
class _Loaded:
    persona: Persona | None
    problems: list[PersonaProblem]
    id_line: int = 1


def _tag_name(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!", 1)


class _NodeLimit(Exception):
    """Stops the node walk at a node that loops or expands too far."""

    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def _check_nodes(path: Path, root: Node) -> list[PersonaProblem]:
    """Reject unsafe tags, duplicate keys and alias bombs before anything is constructed."""
    problems: list[PersonaProblem] = []
    state: dict[int, int] = {}  # node id -> 1 while being walked, 2 when done
    size: dict[int, int] = {}

    def walk(node: Node, where: str) -> int:
        if state.get(id(node)) == 1:
            raise _NodeLimit(node, "an alias refers to itself (loop)")
        if state.get(id(node)) == 2:
            return size[id(node)]  # shared by an alias: counted again, checked once
        state[id(node)] = 1
        if node.tag not in _SAFE_TAGS:
            msg = f"unsafe or unknown YAML tag '{_tag_name(node.tag)}'"
            problems.append(PersonaProblem(path, node.start_mark.line + 1, "-", msg))
        total = 1
        if isinstance(node, MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                name = str(key.value) if isinstance(key, ScalarNode) else "?"
                field = f"{where}.{name}" if where else name
                key_line = key.start_mark.line + 1
                if isinstance(key, ScalarNode) and name in seen:
                    msg = f"key '{name}' appears twice here (first at line {seen[name]})"
                    problems.append(PersonaProblem(path, key_line, field, msg))
                seen.setdefault(name, key_line)
                total += walk(key, field) + walk(value, field)
        elif isinstance(node, SequenceNode):
            total += sum(walk(item, f"{where}[{i}]") for i, item in enumerate(node.value))
        if total > _MAX_NODES:
            raise _NodeLimit(node, "too many repeated aliases: the file expands too far")
        state[id(node)] = 2
        size[id(node)] = total
        return total

    try:
        walk(root, "")
    except _NodeLimit as exc:
        problems.append(PersonaProblem(path, exc.node.start_mark.line + 1, "-", exc.message))
    return problems


# _compose, _locate and _error_loc are shared with app/rubric/loader.py: keep their signatures.


def _mapping_get(node: MappingNode, part: Any) -> tuple[Node, Node] | None:
    """The (key, value) nodes whose key matches a pydantic loc part."""
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.value == str(part):
            return key, value
    return None


def _locate(root: Node, loc: Sequence[Any]) -> tuple[int, str]:
    """Walk the YAML node tree along an error loc: (1-based line, dotted field path)."""
    node: Node = root
    line = root.start_mark.line + 1
    path = ""
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if part == "[key]":
            continue  # the key itself is at fault: already pointing at it
        if isinstance(node, SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            path += f"[{part}]"
            continue
        found = _mapping_get(node, part) if isinstance(node, MappingNode) else None
        if found is not None:
            key, node = found
            # The key's line: for a block section that is the 'name:' line a trainer looks at.
            line = key.start_mark.line + 1
        elif not last:
            continue  # a pydantic union tag, not a field: skip it
        path += f".{part}" if path else str(part)
    return line, path or "-"


def _error_loc(error: dict[str, Any]) -> tuple[Any, ...]:
    """The error's loc, extended by our validators' 'at' so it points at the exact item."""
    loc = tuple(error["loc"])
    at = (error.get("ctx") or {}).get("at")
    return loc + tuple(at) if at else loc


def _yaml_error(path: Path, exc: yaml.YAMLError) -> PersonaProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(exc, "problem", None) or str(exc)
    message = f"YAML syntax error: {problem}"
    for known, hint in _YAML_HINTS.items():
        if problem.startswith(known):
            message += f" ({hint})"
    return PersonaProblem(path, line, "-", message)


def _read_text(path: Path) -> tuple[str | None, list[PersonaProblem]]:
    if not path.exists():
        return None, [PersonaProblem(path, 1, "-", "file not found")]
    if not path.is_file():
        return None, [PersonaProblem(path, 1, "-", "not a file")]
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        kib = MAX_FILE_BYTES // 1024
        msg = f"file is too large ({size // 1024} KiB; a persona may be at most {kib} KiB)"
        return None, [PersonaProblem(path, 1, "-", msg)]
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        msg = "file is not UTF-8 text (save it as UTF-8)"
        return None, [PersonaProblem(path, line, "-", msg)]


def _compose(path: Path, text: str) -> tuple[Node | None, Any, list[PersonaProblem]]:
    """Parse with SafeLoader: (node tree, plain data, problems). Never builds Python objects."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None, [PersonaProblem(path, 1, "-", "file is empty")]
        problems = _check_nodes(path, root)
        if problems:
            return root, None, problems
        return root, loader.construct_document(root), []
    except yaml.YAMLError as exc:
        return None, None, [_yaml_error(path, exc)]
    except RecursionError:
        return None, None, [PersonaProblem(path, 1, "-", "the file is nested too deeply")]
    finally:
        loader.dispose()


def _load(path: Path) -> _Loaded:
    text, problems = _read_text(path)
    if text is None:
        return _Loaded(None, problems)
    root, data, problems = _compose(path, text)
    if root is None or problems:
        return _Loaded(None, problems)
    if not isinstance(data, dict):
        line = root.start_mark.line + 1
        msg = "the file must be a set of 'key: value' lines (id:, title:, client:, ...)"
        return _Loaded(None, [PersonaProblem(path, line, "-", msg)])
    id_line, _ = _locate(root, ("id",))
    problems = []
    ident = data.get("id")
    if isinstance(ident, str) and ident != path.stem:
        msg = (
            f"must match the file name: id is '{ident}' but the file is '{path.name}' "
            "(rename the file or change the id)"
        )
        problems.append(PersonaProblem(path, id_line, "id", msg))
    try:
        persona = Persona.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = _error_loc(error)
            line, field = _locate(root, loc)
            problems.append(PersonaProblem(path, line, field, explain_error({**error, "loc": loc})))
        persona = None
    problems.sort(key=lambda p: p.line)
    return _Loaded(None if problems else persona, problems, id_line)


def load_persona_file(path: Path) -> Persona:
    """Load and validate one persona file; raise PersonaLibraryError listing its problems."""
    loaded = _load(Path(path))
    if loaded.persona is None:
        raise PersonaLibraryError(loaded.problems)
    return loaded.persona


def _persona_files(paths: Sequence[Path]) -> Iterator[Path]:
    seen: set[Path] = set()
    for given in paths:
        given = Path(given)
        if given.is_dir():
            found = [
                p
                for p in given.iterdir()
                if p.suffix in {".yaml", ".yml"}
                and p.is_file()
                and not p.name.endswith(".schema.json")
            ]
            candidates = sorted(found)
        else:
            candidates = [given]
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:  # the same file named twice is checked once
                seen.add(key)
                yield candidate


def validate_paths(paths: Sequence[Path]) -> tuple[list[Persona], list[PersonaProblem]]:
    """Validate files and directories (their *.yaml/*.yml); collect every problem found."""
    personas: list[Persona] = []
    problems: list[PersonaProblem] = []
    owners: dict[str, Path] = {}
    for path in _persona_files(paths):
        loaded = _load(path)
        problems.extend(loaded.problems)
        persona = loaded.persona
        if persona is None:
            continue
        if persona.id in owners:
            msg = f"id '{persona.id}' is already used by {owners[persona.id]}"
            problems.append(PersonaProblem(path, loaded.id_line, "id", msg))
            continue
        owners[persona.id] = path
        personas.append(persona)
    return personas, problems


def load_library(directory: Path) -> dict[str, Persona]:
    """Load every persona in a directory, ordered by (difficulty, title); raise on any problem."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PersonaLibraryError([PersonaProblem(directory, 1, "-", "persona folder not found")])
    personas, problems = validate_paths([directory])
    if problems:
        raise PersonaLibraryError(problems)
    ordered = sorted(personas, key=lambda p: (p.difficulty, p.title.casefold(), p.id))
    return {p.id: p for p in ordered}
