"""The `rapport` command: persona validation, transcript analysis, refusing a broken library."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.config import Settings
from app.main import create_app
from app.persona import PersonaLibraryError

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "fixtures" / "bad_personas"
runner = CliRunner()


def test_validate_shipped_library_passes() -> None:
    result = runner.invoke(app, ["personas", "validate", str(ROOT / "personas")])
    assert result.exit_code == 0, result.output
    assert result.output.strip().startswith("ok: ")
    assert int(result.output.split()[1]) >= 8


def test_validate_reports_each_broken_file_with_its_line() -> None:
    result = runner.invoke(app, ["personas", "validate", str(BAD)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    broken = sorted(BAD.glob("*.yaml"))
    for path in broken:
        mine = [line for line in lines if line.startswith(f"{path}:")]
        assert mine, f"no problem reported for {path.name}"
        line_no = int(mine[0].split(":")[1])
        assert line_no >= 1


def test_validate_missing_path() -> None:
    result = runner.invoke(app, ["personas", "validate", "no/such/folder"])
    assert result.exit_code == 1
    assert "no/such/folder" in result.output


def test_app_refuses_to_start_on_an_invalid_library(tmp_path: Path) -> None:
    library = tmp_path / "personas"
    library.mkdir()
    shutil.copy(ROOT / "personas" / "sam-work-stress.yaml", library)
    bad = sorted(BAD.glob("*.yaml"))[0]
    shutil.copy(bad, library / bad.name)
    with pytest.raises(PersonaLibraryError) as caught:
        create_app(Settings(data_dir=tmp_path, personas_dir=library))
    assert bad.name in str(caught.value)


def test_serve_exits_with_the_file_named(tmp_path: Path) -> None:
    library = tmp_path / "personas"
    library.mkdir()
    bad = sorted(BAD.glob("*.yaml"))[0]
    shutil.copy(bad, library / bad.name)
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "1"],
        cwd=ROOT,
        env={"RAPPORT_PERSONAS_DIR": str(library), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert bad.name in result.stderr


TRANSCRIPTS = [
    {
        "id": "t-1",
        "persona_id": "sam-work-stress",
        "turns": [
            {"speaker": "client", "text": "I haven't been sleeping. Work is a lot."},
            {"speaker": "counsellor", "text": "What's been keeping you up at night?"},
            {"speaker": "client", "text": "Emails, mostly. I replay everything."},
            {"speaker": "counsellor", "text": "You should just turn your phone off."},
        ],
    },
    {
        "id": "t-2",
        "turns": [
            {"speaker": "client", "text": "My mum died in March."},
            {"speaker": "counsellor", "text": "It sounds like you're still reeling from it."},
        ],
    },
]


def test_analyze_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(t) for t in TRANSCRIPTS) + "\n")
    result = runner.invoke(app, ["analyze", str(path)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["transcript_id"] for line in lines] == ["t-1", "t-2"]
    first = lines[0]["turns"]
    assert [t["turn"] for t in first] == [1, 3]
    assert "question_open" in first[0]["codes"]
    assert "advice_without_permission" in first[1]["codes"]
    assert set(first[0]["empathy"]) == {"emotional_reactions", "interpretations", "explorations"}
    # Each code carries its probability; the stable fields are unchanged.
    for turn in first:
        assert set(turn) == {"turn", "codes", "empathy", "confidence"}
        assert set(turn["confidence"]) == set(turn["codes"])
        assert all(0 < p <= 1 for p in turn["confidence"].values())
    assert lines[1]["turns"][0]["turn"] == 1


def test_analyze_stdin_json() -> None:
    result = runner.invoke(app, ["analyze", "-"], input=json.dumps(TRANSCRIPTS[1]))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["transcript_id"] == "t-2"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("not json at all\nstill not", "not JSON"),
        ('{"id": "x", "turns": []}', "at least one turn"),
        ('{"id": "x", "turns": [{"speaker": "therapist", "text": "hi"}]}', "unknown speaker"),
        ('{"id": "x", "turns": [{"speaker": "client", "text": "  "}]}', "text is empty"),
        ("", "empty input"),
    ],
    ids=["not-json", "no-turns", "bad-speaker", "blank-text", "empty"],
)
def test_analyze_bad_input(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = runner.invoke(app, ["analyze", str(path)])
    assert result.exit_code == 2
    assert fragment in result.output
