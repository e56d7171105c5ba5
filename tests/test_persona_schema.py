"""Persona schema, loader error reporting, and the quality bar of the shipped persona library."""

from __future__ import annotations

import difflib
import json
import os
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.persona import (
    ANALYZER_CODES,
    MAX_FILE_BYTES,
    STYLES,
    Persona,
    PersonaLibraryError,
    PersonaProblem,
    format_problems,
    load_library,
    load_persona_file,
    persona_json_schema,
    validate_paths,
    write_json_schema,
)

ROOT = Path(__file__).resolve().parents[1]
PERSONAS = ROOT / "personas"
SCHEMA_FILE = PERSONAS / "persona.schema.json"
BAD = ROOT / "tests" / "fixtures" / "bad_personas"
SHIPPED = sorted(PERSONAS.glob("*.yaml"))

# The small valid persona every file in tests/fixtures/bad_personas copies, with one fault.
BASE = """\
# yaml-language-server: $schema=../../../personas/persona.schema.json
schema_version: 1
id: ID
title: Alex — a small test client
difficulty: 1
brief: A small, valid persona that each broken fixture copies with one fault.
client:
  name: Alex
  age: 30
  pronouns: they/them
  background: Works weekends at a garden centre.
  presenting_problem: Feeling low since moving to a new city.
style:
  conversational_style: plain
  opening_line: "Hi. I'm not sure where to start."
trust:
  initial: 2
  weights:
    judgement: -2
disclosures:
  - id: surface
    min_trust: 1
    says: "Things have been hard since the move."
    more: ["I don't know anyone here yet.", "Weekends are the worst."]
  - id: deeper
    min_trust: 4
    says: "I haven't told my family how low I feel."
  - id: dark
    min_trust: 6
    risk: true
    says: "Some nights I wish I just wouldn't wake up."
    after_safety: ["No, I don't have a plan. I'm glad you asked."]
    after_missed: ["Forget I said that."]
boundary_tests:
  - id: coffee
    at_turn: 3
    says: "Do you want to grab a coffee after this?"
    if_held: "Fair enough. I figured."
    if_crossed: "Great. There's a place downstairs."
reactions:
  heard: ["Yeah, that's it."]
  questioned_closed: ["Yes."]
  advised: ["Maybe."]
  judged: ["Right. Okay."]
"""


def write_persona(directory: Path, ident: str, text: str | None = None) -> Path:
    """Write BASE (or text) as directory/ident.yaml with its id set to ident."""
    path = directory / f"{ident}.yaml"
    path.write_text((text or BASE).replace("id: ID", f"id: {ident}"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def library() -> list[Persona]:
    personas, problems = validate_paths([PERSONAS])
    assert problems == [], format_problems(problems)
    return personas


# --- the shipped library ------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_each_shipped_persona_loads(path: Path) -> None:
    persona = load_persona_file(path)
    assert persona.id == path.stem
    assert path.read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=./persona.schema.json\n"
    )


def test_library_breadth(library: list[Persona]) -> None:
    assert len(library) >= 9
    assert len(library) == len(SHIPPED)
    styles = {p.style.conversational_style for p in library}
    assert styles == set(STYLES), f"unused styles: {set(STYLES) - styles}"
    assert {p.difficulty for p in library} == {1, 2, 3, 4, 5}
    with_risk = [p.id for p in library if any(d.risk for d in p.disclosures)]
    assert len(with_risk) >= 3, with_risk


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_persona_quality_bar(path: Path) -> None:
    p = load_persona_file(path)
    assert p.brief and p.learning_objectives and p.client.background
    assert 1.0 <= p.trust.max_step <= 2.0
    assert len(p.disclosures) >= 3
    # The first layer must be reachable at once, the deepest within ~20 skilled turns.
    assert p.disclosures[0].min_trust <= p.trust.initial
    assert p.disclosures[-1].min_trust <= 8.0
    for layer in p.disclosures:
        assert len(layer.more) >= 2, f"{layer.id}: needs 2+ elaborations"
        if layer.risk:
            assert layer.after_safety and layer.after_missed, layer.id
    assert p.boundary_tests
    for test in p.boundary_tests:
        assert 3 <= test.at_turn <= 14, test.id
        assert test.if_held != test.if_crossed
        assert test.title and test.if_unaddressed, test.id
    r = p.reactions
    for kind in ("heard", "judged", "advised", "questioned_closed"):
        assert len(getattr(r, kind)) >= 3, kind
    for kind in ("validated", "questioned_open", "reassured", "dismissed", "boundary_slip",
                 "contracted", "confused", "repaired"):
        assert len(getattr(r, kind)) >= 2, kind
    if p.style.conversational_style not in ("silent", "interpreted"):
        assert len(p.style.phrases) >= 3  # a near-silent or interpreted client has none
    # Version 2: what the client needs to listen and to be taught with.
    assert p.schema_version == 2
    assert len(p.facts) >= 15, "write at least 15 facts"
    assert p.client.culture and p.jurisdiction and p.jurisdiction.services
    assert p.jurisdiction.reporting_duties and p.when_asked_about_risk
    for layer in p.disclosures:
        assert layer.title and layer.topics and layer.feelings, layer.id
        assert all(e.topics for e in layer.elaborations), f"{layer.id}: elaboration topics"
        if layer.risk:
            assert layer.risk_type and layer.safety, layer.id
    lines = [line for kind in type(r).model_fields for line in getattr(r, kind)]
    repeated = [line for line, n in Counter(lines).items() if n > 1]
    assert not repeated, f"reaction lines used twice: {repeated}"


def test_risk_personas_have_warnings(library: list[Persona]) -> None:
    for p in library:
        if any(d.risk for d in p.disclosures):
            assert p.content_warnings, p.id


# --- JSON Schema --------------------------------------------------------------------------


def test_schema_file_is_current() -> None:
    on_disk = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert on_disk == persona_json_schema(), (
        "personas/persona.schema.json is stale: regenerate it with `rapport personas schema` "
        "(or `python -m app.persona`)"
    )


def test_write_json_schema_is_stable(tmp_path: Path) -> None:
    target = tmp_path / "s.json"
    write_json_schema(target)
    text = target.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert text == SCHEMA_FILE.read_text(encoding="utf-8")


def test_schema_describes_every_field() -> None:
    schema = persona_json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["$id"] and "persona" in schema["title"].lower()
    assert schema["additionalProperties"] is False
    models = {"Persona": schema, **schema["$defs"]}
    for name, model in models.items():
        if "properties" not in model:
            continue  # an enum or other non-object definition
        for field, spec in model["properties"].items():
            assert spec.get("description"), f"{name}.{field} has no description"
    weights = schema["$defs"]["Trust"]["properties"]["weights"]
    assert weights["propertyNames"]["enum"] == list(ANALYZER_CODES)


# --- schema validators on their own ----------------------------------------------------------


def base_data() -> dict:
    import yaml

    return yaml.safe_load(BASE.replace("id: ID", "id: base"))


def test_models_are_frozen_and_strict() -> None:
    persona = Persona.model_validate(base_data())
    with pytest.raises(ValidationError):
        persona.title = "changed"  # type: ignore[misc]
    data = base_data()
    data["client"]["star_sign"] = "Leo"
    with pytest.raises(ValidationError, match="star_sign"):
        Persona.model_validate(data)


def test_duplicate_boundary_test_id_is_named() -> None:
    data = base_data()
    data["boundary_tests"].append(dict(data["boundary_tests"][0], at_turn=5))
    with pytest.raises(ValidationError) as caught:
        Persona.model_validate(data)
    message = str(caught.value)
    assert "'coffee'" in message and "boundary_tests[1]" in message


def test_risk_layer_without_after_safety_is_rejected() -> None:
    data = base_data()
    del data["disclosures"][2]["after_safety"]
    with pytest.raises(ValidationError, match="after_safety"):
        Persona.model_validate(data)
    data["disclosures"][2]["risk"] = False  # the same layer without risk is fine
    Persona.model_validate(data)


def test_equal_min_trust_is_allowed() -> None:
    data = base_data()
    data["disclosures"][1]["min_trust"] = 1
    Persona.model_validate(data)


# --- broken fixtures: exact file, line, field, message -----------------------------------------

EXPECTED = {
    "syntax-error": [
        "11: -: YAML syntax error: mapping values are not allowed here (a line of text "
        "containing ': ' needs quotes around it, or the indentation is off)"
    ],
    "unknown-key": [
        "7: client.age: required field missing",
        "9: client.agee: unknown field (did you mean 'age'?)",
    ],
    "missing-field": ["13: style.opening_line: required field missing"],
    "wrong-type": ["26: disclosures[1].min_trust: expected a number (got 'high')"],
    "trust-out-of-range": ["17: trust.initial: must be between 0 and 10 (got 12)"],
    "duplicate-layer": [
        "25: disclosures[1].id: id 'surface' is used twice, at disclosures[0] and "
        "disclosures[1]; each id must be unique"
    ],
    "unsafe-tag": ["9: -: unsafe or unknown YAML tag '!!python/object/apply:os.system'"],
    "id-mismatch": [
        "3: id: must match the file name: id is 'alex-test' but the file is "
        "'id-mismatch.yaml' (rename the file or change the id)"
    ],
    "risk-without-safety": [
        "28: disclosures[2].after_safety: a risk layer needs 'after_safety' lines: what the "
        "client says when the counsellor responds to the risk"
    ],
    "unknown-weight": [
        "19: trust.weights.judgment: 'judgment' is not an analyzer skill code (did you mean "
        "'judgement'?); allowed: " + ", ".join(ANALYZER_CODES)
    ],
    "layers-out-of-order": [
        "29: disclosures[2].min_trust: layers go from shallow to deep, so min_trust must not "
        "go down: disclosures[2] needs 3 but the layer before it needs 4"
    ],
}


def test_base_persona_is_valid(tmp_path: Path) -> None:
    persona = load_persona_file(write_persona(tmp_path, "alex"))
    assert persona.id == "alex"


def test_every_fixture_is_covered() -> None:
    assert {p.stem for p in BAD.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_has_exactly_one_fault(name: str) -> None:
    text = (BAD / f"{name}.yaml").read_text(encoding="utf-8")
    base = BASE.replace("id: ID", f"id: {name}").splitlines()
    changed = [d for d in difflib.ndiff(base, text.splitlines()) if d.startswith(("+ ", "- "))]
    assert 1 <= len(changed) <= 2, changed


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_problem_lines(name: str) -> None:
    path = BAD / f"{name}.yaml"
    personas, problems = validate_paths([path])
    assert personas == []
    assert [str(p) for p in problems] == [f"{path}:{line}" for line in EXPECTED[name]]
    with pytest.raises(PersonaLibraryError) as caught:
        load_persona_file(path)
    assert caught.value.problems == problems


def test_unsafe_tag_executes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd) or 0)
    monkeypatch.chdir(tmp_path)
    _, problems = validate_paths([BAD / "unsafe-tag.yaml"])
    assert problems and calls == []
    assert not (tmp_path / "rapport-yaml-was-executed").exists()


def test_fixture_directory_reports_every_file() -> None:
    personas, problems = validate_paths([BAD])
    assert personas == []
    assert {p.path.stem for p in problems} == set(EXPECTED)


# --- other file-level problems ---------------------------------------------------------------


def only_problem(path: Path) -> str:
    _, problems = validate_paths([path])
    assert len(problems) == 1, format_problems(problems)
    return str(problems[0])


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# just a comment\n")
    assert only_problem(path) == f"{path}:1: -: file is empty"


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "listy.yaml"
    path.write_text("\n- id: listy\n- title: x\n")
    assert only_problem(path).startswith(f"{path}:2: -: the file must be a set of 'key: value'")


def test_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    assert only_problem(path).startswith(f"{path}:1: -: file is too large")


def test_not_utf8(tmp_path: Path) -> None:
    path = write_persona(tmp_path, "latin")
    path.write_bytes(path.read_bytes().replace(b"Feeling low", b"Caf\xe9 low"))
    assert only_problem(path) == f"{path}:12: -: file is not UTF-8 text (save it as UTF-8)"


def test_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert only_problem(path) == f"{path}:1: -: file not found"


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    path = write_persona(tmp_path, "twice", BASE.replace("  age: 30\n", "  age: 30\n  age: 31\n"))
    assert only_problem(path) == (
        f"{path}:10: client.age: key 'age' appears twice here (first at line 9)"
    )


def test_yes_no_pitfall_is_explained(tmp_path: Path) -> None:
    path = write_persona(tmp_path, "yesno", BASE.replace("pronouns: they/them", "pronouns: no"))
    assert only_problem(path) == (
        f"{path}:10: client.pronouns: expected text (got false) — YAML reads "
        "yes/no/on/off/true/false as true or false: put the text in quotes"
    )


def test_bad_choice_suggests_a_fix(tmp_path: Path) -> None:
    path = write_persona(tmp_path, "choice", BASE.replace("style: plain", "style: reservd"))
    assert only_problem(path) == (
        f"{path}:14: style.conversational_style: must be one of: plain, upset, verbose, "
        "reserved, tangent, pleasing, hostile, silent, interpreted (got 'reservd'); did you "
        "mean 'reserved'?"
    )


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcde", "bcdef", strict=True):
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(rows) + "\n")
    assert "expands too far" in only_problem(path)


def test_problem_and_error_formatting() -> None:
    problem = PersonaProblem(Path("personas/x.yaml"), 14, "trust.initial", "must be ...")
    assert str(problem) == "personas/x.yaml:14: trust.initial: must be ..."
    error = PersonaLibraryError([problem, problem])
    assert str(error).splitlines() == ["2 problems in persona files:", str(problem), str(problem)]
    assert format_problems([problem]) == str(problem)


# --- libraries --------------------------------------------------------------------------------


def test_load_library_names_the_bad_file(tmp_path: Path) -> None:
    write_persona(tmp_path, "good")
    bad = write_persona(tmp_path, "bad", BASE.replace("initial: 2", "initial: 12"))
    (tmp_path / "notes.txt").write_text("not a persona")
    with pytest.raises(PersonaLibraryError) as caught:
        load_library(tmp_path)
    assert [p.path for p in caught.value.problems] == [bad]
    assert f"{bad}:17: trust.initial:" in str(caught.value)
    assert "good.yaml" not in str(caught.value)


def test_load_library_orders_by_difficulty_then_title(tmp_path: Path) -> None:
    write_persona(tmp_path, "zed", BASE.replace("difficulty: 1", "difficulty: 2"))
    write_persona(tmp_path, "beta", BASE.replace("Alex — a small", "Beta — a small"))
    write_persona(tmp_path, "alpha", BASE)
    assert list(load_library(tmp_path)) == ["alpha", "beta", "zed"]


def test_shipped_library_loads_in_order() -> None:
    library = load_library(PERSONAS)
    keys = [(p.difficulty, p.title.casefold()) for p in library.values()]
    assert keys == sorted(keys) and len(library) == len(SHIPPED)


def test_load_library_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(PersonaLibraryError, match="persona folder not found"):
        load_library(tmp_path / "missing")


def test_duplicate_ids_across_folders(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    one = write_persona(first, "same")
    two = write_persona(second, "same")
    personas, problems = validate_paths([first, second, one])  # `one` twice: checked once
    assert [p.id for p in personas] == ["same"]
    assert [str(p) for p in problems] == [f"{two}:3: id: id 'same' is already used by {one}"]


def test_yml_files_are_included_and_schema_skipped(tmp_path: Path) -> None:
    write_persona(tmp_path, "one")
    (tmp_path / "two.yml").write_text(BASE.replace("id: ID", "id: two"))
    write_json_schema(tmp_path / "persona.schema.json")
    personas, problems = validate_paths([tmp_path])
    assert problems == [] and sorted(p.id for p in personas) == ["one", "two"]
