"""Libraries of YAML documents a trainer writes (personas, rubrics): the shared machinery.

Loading is safe (PyYAML's SafeLoader only, with size, duplicate-key and alias-bomb limits;
unsafe tags are reported, never executed), and every problem is reported as
`file:line: field: message` in words a trainer can act on. A library (app/persona,
app/rubric) supplies its pydantic model, its own error wording and a `DocumentKind`;
this module does the rest, including writing the model's JSON Schema for editors.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_FLOW_DEPTH",
    "MAX_NODES",
    "DocumentKind",
    "JsonSchemaFile",
    "LibraryDocument",
    "LibraryError",
    "Loaded",
    "Problem",
    "Slug",
    "Wording",
    "compose",
    "describe_value",
    "did_you_mean",
    "document_config",
    "document_files",
    "error_loc",
    "explain",
    "format_number",
    "format_problems",
    "literal_choices",
    "locate",
    "one_of",
    "read_text",
    "revision_field",
    "schema_main",
    "unknown_field",
    "validation_report",
    "wrong_schema_version",
]

MAX_FILE_BYTES = 256 * 1024
# Expanded size cap: YAML aliases can make a small file explode into a huge structure.
MAX_NODES = 50_000
# Deeper flow nesting than any persona or rubric needs; refused before parsing.
MAX_FLOW_DEPTH = 64
_MAX_SHOWN = 40
_SAFE_TAGS = frozenset(tag for tag in SafeConstructor.yaml_constructors if tag is not None)
_YAML_HINTS = {
    "mapping values are not allowed here": (
        "a line of text containing ': ' needs quotes around it, or the indentation is off"
    ),
    "found character '\\t' that cannot start any token": "use spaces, not tabs, to indent",
    "could not find expected ':'": "a 'key: value' line is missing its ':' or is mis-indented",
    "found undefined alias": "an '*alias' refers to an '&anchor' that is not defined above it",
}

Model = TypeVar("Model", bound="LibraryDocument")

# ---------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Problem:
    """One problem in one library file, located by line (1-based) and field path."""

    path: Path
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class LibraryError(Exception):
    """Raised when library files are invalid; .problems lists every one found.

    Each library subclasses it, naming its documents for the headline:
    `class RubricLibraryError(LibraryError, noun="rubric")`.
    """

    noun: ClassVar[str] = "library"

    def __init_subclass__(cls, *, noun: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if noun is not None:
            cls.noun = noun

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in {self.noun} files:"
        super().__init__("\n".join([head, *(str(p) for p in self.problems)]))


def format_problems(problems: Sequence[Problem]) -> str:
    """One problem per line, as the validate commands print them."""
    return "\n".join(str(p) for p in problems)


# ---------------------------------------------------------------------------------------------
# Wording shared by the libraries' explanations of pydantic errors


def validation_report(
    paths: Sequence[Path],
    validate: Callable[[Sequence[Path]], tuple[list, list[Problem]]],
    *,
    noun: str,
) -> tuple[list[str], bool]:
    """The lines `rapport <library> validate` prints, and whether everything was valid."""
    lines = [f"{path}:0: -: no such file or folder" for path in paths if not path.exists()]
    documents, problems = validate([path for path in paths if path.exists()])
    lines += [str(problem) for problem in problems]
    if lines:
        return lines, False
    return [f"ok: {len(documents)} {noun}{'s' if len(documents) != 1 else ''}"], True


def format_number(value: Any) -> str:
    """A number as a trainer would write it: 2, 0.5 (not 2.0, 0.50000)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe_value(value: Any) -> str:
    """Show a YAML value the way the trainer typed it, shortened."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, dict):
        return "a section of 'key: value' lines"
    if isinstance(value, list):
        return "a list"
    text = str(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return repr(text)


def did_you_mean(word: Any, choices: list[str]) -> str:
    """The hint "did you mean 'x'?" for the closest choice, or "" when none is close."""
    match = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else ""


def unknown_field(name: Any, allowed: list[str]) -> str:
    """The message for a key the model does not have, suggesting or listing the allowed ones."""
    hint = did_you_mean(name, allowed)
    if hint:
        return f"unknown field ({hint})"
    return "unknown field (allowed here: " + ", ".join(allowed) + ")"


def literal_choices(expected: str) -> list[str]:
    """The choices in a pydantic literal_error's ctx['expected'] ("'a', 'b' or 'c'")."""
    return [c.strip().strip("'") for c in expected.replace(" or ", ", ").split(",") if c.strip()]


def one_of(got: Any, choices: list[str]) -> str:
    """The message for a value outside a fixed set of choices."""
    hint = did_you_mean(got, choices)
    tail = f"; {hint}" if hint else ""
    return f"must be one of: {', '.join(choices)} (got {describe_value(got)}){tail}"


def wrong_schema_version(noun: str, got: Any, readable: tuple[int, ...] = (1,)) -> str:
    """The message for a schema_version this Rapport cannot read."""
    versions = " or ".join(str(v) for v in readable)
    return (
        f"this version of Rapport reads {noun} schema version {versions} "
        f"(got {describe_value(got)})"
    )


# A library's own sentence for a pydantic error (kind, loc, input, ctx), or None for the common one.
Wording = Callable[[str, tuple[Any, ...], Any, dict[str, Any]], str | None]


def explain(error: dict[str, Any], wording: Wording) -> str:
    """One plain-English sentence for one pydantic error: the library's wording, else the common.

    Unknown kinds fall back to the error's own message: the schemas' validators already speak
    the trainer's language.
    """
    kind = error["type"]
    got = error.get("input")
    ctx = error.get("ctx") or {}
    own = wording(kind, tuple(error.get("loc", ())), got, ctx)
    if own is not None:
        return own
    if kind == "missing":
        return "required field missing"
    if kind in {"float_parsing", "float_type"}:
        return f"expected a number (got {describe_value(got)})"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"expected a whole number (got {describe_value(got)})"
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
    if kind == "list_type":
        return f"expected a list, one '- ' item per line (got {describe_value(got)})"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"expected a section of 'key: value' lines (got {describe_value(got)})"
    return str(error.get("msg", kind))


# ---------------------------------------------------------------------------------------------
# Reading and composing YAML safely


def _tag_name(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!", 1)


class _NodeLimit(Exception):
    """Stops the node walk at a node that loops or expands too far."""

    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def _check_nodes(path: Path, root: Node) -> list[Problem]:
    """Reject unsafe tags, duplicate keys and alias bombs before anything is constructed."""
    problems: list[Problem] = []
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
            problems.append(Problem(path, node.start_mark.line + 1, "-", msg))
        total = 1
        if isinstance(node, MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                name = str(key.value) if isinstance(key, ScalarNode) else "?"
                field = f"{where}.{name}" if where else name
                key_line = key.start_mark.line + 1
                if isinstance(key, ScalarNode) and name in seen:
                    msg = f"key '{name}' appears twice here (first at line {seen[name]})"
                    problems.append(Problem(path, key_line, field, msg))
                seen.setdefault(name, key_line)
                total += walk(key, field) + walk(value, field)
        elif isinstance(node, SequenceNode):
            total += sum(walk(item, f"{where}[{i}]") for i, item in enumerate(node.value))
        if total > MAX_NODES:
            raise _NodeLimit(node, "too many repeated aliases: the file expands too far")
        state[id(node)] = 2
        size[id(node)] = total
        return total

    try:
        walk(root, "")
    except _NodeLimit as exc:
        problems.append(Problem(path, exc.node.start_mark.line + 1, "-", exc.message))
    return problems


def _yaml_error(path: Path, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(exc, "problem", None) or str(exc)
    message = f"YAML syntax error: {problem}"
    for known, hint in _YAML_HINTS.items():
        if problem.startswith(known):
            message += f" ({hint})"
    return Problem(path, line, "-", message)


def read_text(path: Path, noun: str) -> tuple[str | None, list[Problem]]:
    """The file's text (UTF-8, BOM allowed, at most MAX_FILE_BYTES), or the problems reading it."""
    if not path.exists():
        return None, [Problem(path, 1, "-", "file not found")]
    if not path.is_file():
        return None, [Problem(path, 1, "-", "not a file")]
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        kib = MAX_FILE_BYTES // 1024
        msg = f"file is too large ({size // 1024} KiB; a {noun} may be at most {kib} KiB)"
        return None, [Problem(path, 1, "-", msg)]
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        msg = "file is not UTF-8 text (save it as UTF-8)"
        return None, [Problem(path, line, "-", msg)]


# What the flow-nesting scan skips: quoted scalars and comments (brackets there mean nothing).
_QUOTED_OR_COMMENT = re.compile(r"""'(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|(?:^|(?<=\s))#[^\n]*""",
                                re.MULTILINE)
_FLOW = re.compile(r"[\[\]{}]")


def _flow_depth(text: str) -> int:
    """How deeply `[`/`{` collections nest, found by a linear scan without parsing.

    PyYAML's pure-Python scanner slows down quadratically with flow depth, so a small file of
    nested brackets would cost seconds of CPU before the parser gave up on it.
    """
    depth = deepest = 0
    for match in _FLOW.finditer(_QUOTED_OR_COMMENT.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_FLOW_DEPTH:
                break  # deep enough to refuse: the rest need not be read
        else:
            depth = max(0, depth - 1)
    return deepest


# libyaml's safe loader, when PyYAML was built with it: the persona library takes seconds to
# parse in pure Python and milliseconds in C, which is most of a server's start-up.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def _compose_with(
    loader_class: type, path: Path, text: str
) -> tuple[Node | None, Any, list[Problem]] | None:
    """Parse with the C safe loader; None when the file has a syntax error.

    Broken files go to the pure-Python loader instead, whose messages (and positions) the
    problem reports were written for.
    """
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None, [Problem(path, 1, "-", "file is empty")]
        problems = _check_nodes(path, root)
        if problems:
            return root, None, problems
        return root, loader.construct_document(root), []
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()


def compose(path: Path, text: str) -> tuple[Node | None, Any, list[Problem]]:
    """Parse with SafeLoader: (node tree, plain data, problems). Never builds Python objects."""
    if (text.count("[") + text.count("{") > MAX_FLOW_DEPTH
            and _flow_depth(text) > MAX_FLOW_DEPTH):
        msg = f"the file nests [ ] or {{ }} more than {MAX_FLOW_DEPTH} levels deep"
        return None, None, [Problem(path, 1, "-", msg)]
    if _FAST_LOADER is not None:
        fast = _compose_with(_FAST_LOADER, path, text)
        if fast is not None:
            return fast
    try:
        loader = yaml.SafeLoader(text)  # reads (and may refuse) the first characters at once
    except yaml.YAMLError as exc:
        return None, None, [_yaml_error(path, exc)]
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None, [Problem(path, 1, "-", "file is empty")]
        problems = _check_nodes(path, root)
        if problems:
            return root, None, problems
        return root, loader.construct_document(root), []
    except yaml.YAMLError as exc:
        return None, None, [_yaml_error(path, exc)]
    except RecursionError:
        return None, None, [Problem(path, 1, "-", "the file is nested too deeply")]
    finally:
        loader.dispose()


# ---------------------------------------------------------------------------------------------
# Mapping a pydantic error location to a line of the file


def _mapping_get(node: MappingNode, part: Any) -> tuple[Node, Node] | None:
    """The (key, value) nodes whose key matches a pydantic loc part."""
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.value == str(part):
            return key, value
    return None


def locate(root: Node, loc: Sequence[Any]) -> tuple[int, str]:
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


def error_loc(error: dict[str, Any]) -> tuple[Any, ...]:
    """The error's loc, extended by our validators' 'at' so it points at the exact item."""
    loc = tuple(error["loc"])
    at = (error.get("ctx") or {}).get("at")
    return loc + tuple(at) if at else loc


# ---------------------------------------------------------------------------------------------
# Loading documents and folders of them


@dataclass
class Loaded(Generic[Model]):
    """One file's outcome: the document when it has no problems, and the line of its id."""

    document: Model | None
    problems: list[Problem] = field(default_factory=list)
    id_line: int = 1


def document_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Files as given, folders as their *.yaml/*.yml files (sorted); each file once."""
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
            if key not in seen:  # the same file named twice is checked once
                seen.add(key)
                yield candidate


@dataclass(frozen=True)
class DocumentKind(Generic[Model]):
    """One library's kind of document: its model, error class, wording and folder order."""

    model: type[Model]
    error: type[LibraryError]
    wording: Wording
    # The order of a loaded folder (its dict of documents by id): a sort key.
    order: Callable[[Model], Any]
    # The top-level keys named when a file is not a mapping, e.g. "id:, title:, client:, ...".
    keys: str
    # Whether a folder with no documents is a problem.
    allow_empty: bool = True

    @property
    def noun(self) -> str:
        """The library's word for one document, e.g. "persona"."""
        return self.error.noun

    def load(self, path: Path) -> Loaded[Model]:
        """Read, compose and validate one file, collecting every problem in line order."""
        text, problems = read_text(path, self.noun)
        if text is None:
            return Loaded(None, problems)
        root, data, problems = compose(path, text)
        if root is None or problems:
            return Loaded(None, problems)
        if not isinstance(data, dict):
            line = root.start_mark.line + 1
            msg = f"the file must be a set of 'key: value' lines ({self.keys})"
            return Loaded(None, [Problem(path, line, "-", msg)])
        id_line, _ = locate(root, ("id",))
        problems = []
        ident = data.get("id")
        if isinstance(ident, str) and ident != path.stem:
            msg = (
                f"must match the file name: id is '{ident}' but the file is '{path.name}' "
                "(rename the file or change the id)"
            )
            problems.append(Problem(path, id_line, "id", msg))
        document = None
        try:
            document = self.model.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                loc = error_loc(error)
                line, where = locate(root, loc)
                message = explain({**error, "loc": loc}, self.wording)
                problems.append(Problem(path, line, where, message))
        problems.sort(key=lambda p: p.line)
        return Loaded(None if problems else document, problems, id_line)

    def load_file(self, path: Path) -> Model:
        """Load and validate one file; raise the library's error listing its problems."""
        loaded = self.load(Path(path))
        if loaded.document is None:
            raise self.error(loaded.problems)
        return loaded.document

    def validate(self, paths: Sequence[Path]) -> tuple[list[Model], list[Problem]]:
        """Validate files and folders (their *.yaml/*.yml); collect every problem found."""
        documents: list[Model] = []
        problems: list[Problem] = []
        owners: dict[str, Path] = {}
        for path in document_files(paths):
            loaded = self.load(path)
            problems.extend(loaded.problems)
            document = loaded.document
            if document is None:
                continue
            ident = document.id
            if ident in owners:
                msg = f"id '{ident}' is already used by {owners[ident]}"
                problems.append(Problem(path, loaded.id_line, "id", msg))
                continue
            owners[ident] = path
            documents.append(document)
        return documents, problems

    def load_folder(self, directory: Path) -> dict[str, Model]:
        """Every document in a folder by id, in the kind's order; raise on any problem."""
        directory = Path(directory)
        if not directory.is_dir():
            raise self.error([Problem(directory, 1, "-", f"{self.noun} folder not found")])
        documents, problems = self.validate([directory])
        if problems:
            raise self.error(problems)
        if not documents and not self.allow_empty:
            raise self.error([Problem(directory, 1, "-", f"no {self.noun} files (*.yaml)")])
        return {d.id: d for d in sorted(documents, key=self.order)}


# ---------------------------------------------------------------------------------------------
# The fields every library document starts with, and its JSON Schema

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$")]


class LibraryDocument(BaseModel):
    """The fields every library document starts with; a library's model extends it.

    The subclass adds `version: int = revision_field(noun)` first, so fields keep this order:
    schema_version, id, version, then the library's own.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = Field(
        default=1, description="Version of this file format. Always 1 for now."
    )
    id: Slug = Field(description="Unique id; must equal the file name without '.yaml'.")


def document_config(noun: str, schema_id: str, *, schema_version: int = 1) -> ConfigDict:
    """The document model's config: strict and frozen, titled and identified for the schema."""
    return ConfigDict(
        extra="forbid",
        frozen=True,
        title=f"Rapport {noun} (schema v{schema_version})",
        json_schema_extra={"$id": schema_id},
    )


def revision_field(noun: str) -> Any:
    """The `version:` field: the document's own revision number."""
    return Field(
        default=1, ge=1, description=f"This {noun}'s revision; bump it when the content changes."
    )


@dataclass(frozen=True)
class JsonSchemaFile:
    """A library model's JSON Schema (draft 2020-12), as published for editors."""

    model: type[BaseModel]
    # The schema's `$comment`: where it comes from and how to regenerate it.
    comment: str

    def build(self) -> dict[str, Any]:
        """Return the JSON Schema (draft 2020-12) of a library file."""
        schema = self.model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$comment"] = self.comment
        return schema

    def write(self, path: Path) -> None:
        """Write the JSON Schema to path: pretty, sorted keys, trailing newline."""
        text = json.dumps(self.build(), indent=2, sort_keys=True, ensure_ascii=False)
        Path(path).write_text(text + "\n", encoding="utf-8")


def schema_main(argv: list[str], write: Callable[[Path], None], default: Path) -> int:
    """`python -m app.<library> [PATH]`: write the schema to argv[0] or the default path."""
    target = Path(argv[0]) if argv else default
    write(target)
    print(f"wrote {target}")
    return 0
