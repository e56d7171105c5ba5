"""Rewrite a version-1 persona file as version 2, keeping its comments, order and wording.

The rewrite is mechanical and safe: `schema_version: 2`, a `title` for every layer and boundary
test (from its id, for the trainer to improve), and nothing else changes. What version 2 adds
that only a writer can supply (facts, topics, feelings, safety answers, `if_unaddressed`,
`when_asked_about_risk`, jurisdiction, culture) is listed as a to-do for the file. The result is
validated before it is written, and written atomically.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from app.persona.loader import PersonaLibraryError, load_persona_file
from app.persona.schema import SCHEMA_VERSION, Persona, humanise

__all__ = ["Upgrade", "todo_for", "upgrade_file"]


@dataclass
class Upgrade:
    """What upgrading one file did and what is left for its writer."""

    path: Path
    changed: bool
    todo: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def todo_for(persona: Persona) -> list[str]:
    """What a version-2 persona still lacks for the listening client."""
    todo = []
    if len(persona.facts) < 15:
        todo.append(f"facts: {len(persona.facts)} now; write at least 15 (topic, aliases, says)")
    bare = [d.id for d in persona.disclosures if not d.topics]
    if bare:
        todo.append("topics: add to layers " + ", ".join(bare))
    no_feel = [d.id for d in persona.disclosures if not d.feelings]
    if no_feel:
        todo.append("feelings: add to layers " + ", ".join(no_feel))
    plain = [d.id for d in persona.disclosures if any(isinstance(m, str) for m in d.more)]
    if plain:
        todo.append("more: give elaborations {says, topics} in " + ", ".join(plain))
    for layer in persona.disclosures:
        if layer.risk and layer.risk_type is None:
            todo.append(f"risk_type: say what kind of risk layer '{layer.id}' is")
        if layer.risk and layer.safety is None:
            todo.append(f"safety: write the client's answers to each safety step for '{layer.id}'")
    missing = [b.id for b in persona.boundary_tests if b.if_unaddressed is None]
    if missing:
        todo.append("if_unaddressed: add to boundary tests " + ", ".join(missing))
    if not persona.when_asked_about_risk:
        todo.append("when_asked_about_risk: what the client says to a direct question about "
                    "suicide or harm")
    if persona.jurisdiction is None:
        todo.append("jurisdiction: region, services and reporting duties")
    if not persona.client.culture:
        todo.append("client.culture: background, faith, languages, community")
    return todo


def _yaml():  # ruamel.yaml round-trips comments and layout; imported only when upgrading
    from ruamel.yaml import YAML

    handler = YAML(typ="rt")
    handler.preserve_quotes = True
    handler.width = 100
    handler.indent(mapping=2, sequence=4, offset=2)
    return handler


def _with_title(mapping, ident: str) -> None:
    """Insert `title:` right after `id:` in a ruamel mapping that has none."""
    if "title" in mapping:
        return
    keys = list(mapping.keys())
    position = keys.index("id") + 1 if "id" in keys else 0
    mapping.insert(position, "title", humanise(ident))


def upgrade_file(path: Path, *, write: bool = True) -> Upgrade:
    """Upgrade one persona file in place (or, with write=False, only report)."""
    try:
        load_persona_file(path)
    except PersonaLibraryError as exc:
        return Upgrade(path, changed=False, problems=[str(p) for p in exc.problems])
    handler = _yaml()
    text = path.read_text(encoding="utf-8")
    data = handler.load(text)
    changed = data.get("schema_version", 1) != SCHEMA_VERSION
    if changed:
        if "schema_version" in data:
            data["schema_version"] = SCHEMA_VERSION
        else:
            data.insert(0, "schema_version", SCHEMA_VERSION)
        for layer in data.get("disclosures") or []:
            _with_title(layer, str(layer.get("id", "")))
        for test in data.get("boundary_tests") or []:
            _with_title(test, str(test.get("id", "")))
    out = io.StringIO()
    handler.dump(data, out)
    new_text = out.getvalue()
    upgrade = Upgrade(path, changed=changed)
    with tempfile.TemporaryDirectory() as folder:
        # Checked under its own name (the loader matches the id to the file name).
        trial = Path(folder) / path.name
        trial.write_text(new_text, encoding="utf-8")
        try:
            persona = load_persona_file(trial)
        except PersonaLibraryError as exc:
            upgrade.problems = [str(p) for p in exc.problems]
            return upgrade
    if changed and write:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new_text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    upgrade.todo = todo_for(persona)
    return upgrade
