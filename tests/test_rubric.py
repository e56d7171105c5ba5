"""Rubric files: the shipped library, the JSON Schema, and errors a trainer can act on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.persona import ANALYZER_CODES
from app.rubric import (
    EVENTS,
    RubricLibraryError,
    load_rubric_file,
    load_rubrics,
    rubric_json_schema,
    validate_rubric_paths,
)
from app.rubric.cli import rubrics_app

ROOT = Path(__file__).resolve().parent.parent
RUBRICS = ROOT / "rubrics"
LIBRARY = load_rubrics(RUBRICS)

GOOD = """\
schema_version: 1
id: {id}
title: Test rubric
description: A rubric for tests.
criteria:
  - id: listening
    title: Listening
    description: Reflecting what the client says.
    levels: {{1: a, 2: b, 3: c, 4: d, 5: e}}
    indicators:
      - {{code: reflection_complex, weight: 2, note: Reflections show listening.}}
      - {{event: risk_missed, weight: -2, note: Missing risk is not listening.}}
"""


def write(tmp_path: Path, text: str, name: str = "test-rubric") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_for(path: Path) -> list[str]:
    _, problems = validate_rubric_paths([path])
    return [str(p) for p in problems]


def test_the_shipped_library_loads() -> None:
    assert set(LIBRARY) >= {"core-conditions", "first-session-engagement"}
    for rubric in LIBRARY.values():
        assert rubric.frameworks, rubric.id
        for criterion in rubric.criteria:
            assert sorted(criterion.levels) == [1, 2, 3, 4, 5]
            assert any(i.weight > 0 for i in criterion.indicators)
            for indicator in criterion.indicators:
                assert indicator.code in (None, *ANALYZER_CODES)
                assert indicator.event in (None, *EVENTS)


def test_core_conditions_covers_the_six_conditions_and_the_boundary_topics() -> None:
    rubric = LIBRARY["core-conditions"]
    assert [c.id for c in rubric.criteria] == [
        "empathy",
        "respect",
        "sincerity",
        "trust_building",
        "positivity_hope",
        "boundaries",
        "contracting",
        "cultural_responsiveness",
    ]
    # Only a person can judge genuineness and cultural responsiveness (issue 10).
    assert {c.id for c in rubric.criteria if c.rated_by == "assessor"} == {
        "sincerity", "cultural_responsiveness"}
    boundaries = rubric.criterion("boundaries")
    assert boundaries is not None and boundaries.basis == "moments"
    text = boundaries.description.lower()
    for topic in ("confidentiality", "dual relationship", "self-disclosure", "safety"):
        assert topic in text, topic
    keys = {i.key for i in boundaries.indicators}
    assert {"boundary_held", "boundary_crossed", "risk_answered", "risk_missed"} <= keys
    names = {f.id for f in rubric.frameworks}
    assert {"person-centred", "miti", "epitome"} <= names


def test_the_second_rubric_is_shorter_and_differs() -> None:
    short = LIBRARY["first-session-engagement"]
    assert len(short.criteria) < len(LIBRARY["core-conditions"].criteria)
    assert {c.id for c in short.criteria}.isdisjoint({"empathy", "respect"})


def test_json_schema_file_is_in_sync() -> None:
    on_disk = json.loads((RUBRICS / "rubric.schema.json").read_text(encoding="utf-8"))
    assert on_disk == rubric_json_schema(), "run `python -m app.rubric` to regenerate it"


def test_a_valid_file_loads(tmp_path: Path) -> None:
    rubric = load_rubric_file(write(tmp_path, GOOD.format(id="test-rubric")))
    assert rubric.scale.min == 1 and rubric.scale.max == 5
    assert rubric.criteria[0].top_weight() == 2


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("    levels:", "    levls: {}\n    levels:"),
            ":9: criteria[0].levls: unknown field (did you mean 'levels'?)",
        ),
        (
            ("code: reflection_complex", "code: reflection_complx"),
            ":11: criteria[0].indicators[0].code: must be one of:",
        ),
        (("event: risk_missed", "event: risk_mised"), "did you mean 'risk_missed'?"),
        (
            ("5: e}", "6: e}"),
            ":9: criteria[0].levels: describe each level from 1 to 5 exactly once "
            "(missing 5; outside the scale: 6)",
        ),
        (
            ("weight: 2,", "weight: 0,"),
            ":11: criteria[0].indicators[0].weight: weight must not be 0",
        ),
        (
            ("weight: 2,", "weight: 9,"),
            ":11: criteria[0].indicators[0].weight: must be at most 5 (got 9)",
        ),
        (
            ("{code: reflection_complex,", "{code: reflection_complex, mechanism: explorations,"),
            "needs exactly one of 'code', 'event' or 'mechanism' (got code, mechanism)",
        ),
        (("weight: 2,", "weight: -1,"), "needs at least one indicator with a positive weight"),
        (
            ("schema_version: 1", "schema_version: 2"),
            ":1: schema_version: this version of Rapport reads rubric schema version 1",
        ),
        (("title: Test rubric\n", ""), ":1: title: required field missing"),
    ],
)
def test_errors_name_file_line_field(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    text = GOOD.format(id="test-rubric").replace(*change, 1)
    path = write(tmp_path, text)
    problems = problems_for(path)
    assert problems, text
    assert any(p.startswith(str(path)) and expected.lstrip(":") in p for p in problems), problems
    if expected.startswith(":"):
        assert any(p.startswith(f"{path}{expected}") for p in problems), problems


def test_duplicate_criterion_ids_are_located(tmp_path: Path) -> None:
    text = GOOD.format(id="test-rubric")
    criterion = text[text.index("  - id: listening") :]
    path = write(tmp_path, text + criterion)
    assert any("criteria[1].id: id 'listening' is used twice" in p for p in problems_for(path))


def test_duplicate_indicators_are_refused(tmp_path: Path) -> None:
    text = GOOD.format(id="test-rubric") + (
        "      - {code: reflection_complex, weight: 1, note: again.}\n"
    )
    assert any("listed twice" in p for p in problems_for(write(tmp_path, text)))


def test_id_must_match_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.format(id="other-name"))
    assert problems_for(path) == [
        f"{path}:2: id: must match the file name: id is 'other-name' but the file is "
        "'test-rubric.yaml' (rename the file or change the id)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id: x\n  title: [unclosed\n", "YAML syntax error"),
        ("id: !!python/object:os.system x\n", "unsafe or unknown YAML tag"),
        ("id: a\nid: b\n", "key 'id' appears twice"),
        ("", "file is empty"),
        ("- just\n- a list\n", "must be a set of 'key: value' lines"),
    ],
)
def test_broken_yaml_is_reported_not_raised(tmp_path: Path, text: str, expected: str) -> None:
    problems = problems_for(write(tmp_path, text))
    assert any(expected in p for p in problems), problems


def test_load_rubrics_raises_with_every_problem(tmp_path: Path) -> None:
    write(tmp_path, GOOD.format(id="nope"), name="a")
    write(tmp_path, "id: b\n", name="b")
    with pytest.raises(RubricLibraryError) as caught:
        load_rubrics(tmp_path)
    assert "2 problems" in str(caught.value) or len(caught.value.problems) >= 2


def test_validate_command_ok_and_failing(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(rubrics_app, ["validate", str(RUBRICS)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip() == f"ok: {len(LIBRARY)} rubrics"
    bad = write(tmp_path, GOOD.format(id="test-rubric").replace("weight: 2,", "weight: 0,"))
    failed = runner.invoke(rubrics_app, ["validate", str(bad), str(tmp_path / "missing.yaml")])
    assert failed.exit_code == 1
    lines = failed.stdout.strip().splitlines()
    assert f"{tmp_path / 'missing.yaml'}:0: -: no such file or folder" in lines
    assert any(line.startswith(f"{bad}:11: criteria[0].indicators[0].weight: ") for line in lines)


def test_schema_command_writes_the_schema(tmp_path: Path) -> None:
    out = tmp_path / "rubric.schema.json"
    result = CliRunner().invoke(rubrics_app, ["schema", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == rubric_json_schema()
