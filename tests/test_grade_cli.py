"""`rapport grade` (and `rapport analyze`) on JSONL files, stdin and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from tests.counsellors import GOOD_LINES, POOR_LINES
from tests.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent
KEYS = ("transcript_id", "rubric_id", "rubric_version", "engine", "overall", "criteria")


def transcript(ident: str, lines: list[str], client: str = "I can't sleep. Work is a lot.") -> dict:
    turns = [{"speaker": "client", "text": client}]
    for line in lines:
        turns += [{"speaker": "counsellor", "text": line}, {"speaker": "client", "text": "Mm."}]
    return {"id": ident, "persona_id": "sam-work-stress", "turns": turns}


TRANSCRIPTS = [
    transcript("skilled", GOOD_LINES[:8]),
    transcript("poor", POOR_LINES[:8]),
    transcript("tiny", ["Hello."]),
]


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.jsonl"
    path.write_text("\n".join(json.dumps(t) for t in TRANSCRIPTS) + "\n", encoding="utf-8")
    return path


def lines_of(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def check_quotes(grade: dict, source: dict) -> None:
    for criterion in grade["criteria"]:
        for item in criterion["evidence"]:
            turn = source["turns"][item["turn"]]
            assert turn["speaker"] == "counsellor"
            assert item["quote"] in turn["text"]


def test_grade_prints_one_documented_line_per_transcript(jsonl: Path) -> None:
    result = CliRunner().invoke(app, ["grade", str(jsonl)])
    assert result.exit_code == 0, result.output
    grades = lines_of(result.stdout)
    assert [g["transcript_id"] for g in grades] == ["skilled", "poor", "tiny"]
    for grade, source in zip(grades, TRANSCRIPTS, strict=True):
        assert all(key in grade for key in KEYS)
        assert grade["rubric_id"] == "core-conditions" and grade["engine"] == "analytic"
        assert isinstance(grade["rubric_version"], int)
        for criterion in grade["criteria"]:
            assert {"id", "score", "evidence", "feedback"} <= set(criterion)
        check_quotes(grade, source)
    skilled, poor, tiny = grades
    assert skilled["overall"] > poor["overall"] + 1.5
    assert tiny["overall"] is None and tiny["status"] == "insufficient_evidence"
    assert "grading" in result.stderr  # the progress bar, on stderr only


def test_grade_with_another_rubric(jsonl: Path) -> None:
    result = CliRunner().invoke(app, ["grade", str(jsonl), "--rubric", "first-session-engagement"])
    assert result.exit_code == 0, result.output
    grades = lines_of(result.stdout)
    assert {g["rubric_id"] for g in grades} == {"first-session-engagement"}
    assert [c["id"] for c in grades[0]["criteria"]] == [
        "inviting_the_story",
        "following_the_client",
        "safety_and_limits",
    ]


def test_grade_and_analyze_read_stdin_in_a_real_process(jsonl: Path) -> None:
    data = jsonl.read_text(encoding="utf-8")
    for command in ("grade", "analyze"):
        done = subprocess.run(
            [sys.executable, "-c", "from app.cli import main; main()", command, "-"],
            input=data,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        out = lines_of(done.stdout)
        assert [line["transcript_id"] for line in out] == ["skilled", "poor", "tiny"]
        if command == "analyze":
            assert all(t["turn"] % 2 == 1 for line in out for t in line["turns"])


def test_a_single_transcript_json_file_needs_no_progress_bar(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(TRANSCRIPTS[0]), encoding="utf-8")
    result = CliRunner().invoke(app, ["grade", str(path)])
    assert result.exit_code == 0, result.output
    assert len(lines_of(result.stdout)) == 1
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"id": "x", "turns": [{"speaker": "therapist", "text": "Hi"}]}',
            "unknown speaker 'therapist'",
        ),
        ('{"id": "x", "turns": []}', "a transcript needs at least one turn"),
        ("this is not json", "not JSON"),
        ('{"id": "a", "turns": [{"speaker": "client", "text": "hi"}]}\n{oops\n', ":2: not JSON"),
        ('{"id": "x", "turns": [{"speaker": "client", "text": "   "}]}', "text is empty"),
        ("", "empty input"),
    ],
)
def test_bad_input_exits_non_zero_with_a_message(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["grade", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""  # nothing half-printed: input is checked before grading
    assert result.stderr.startswith("error: ") and message in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rubric", "nope"], "No rubric with id 'nope'"),
        (["--engine", "magic"], "--engine must be one of: analytic, llm"),
    ],
)
def test_bad_options_exit_non_zero(jsonl: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["grade", str(jsonl), *args])
    assert result.exit_code == 2 and message in result.stderr
    assert result.stdout == ""


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["grade", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "no such file" in result.stderr


# ---- the LLM engine from the command line ----------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def _env(fake: FakeOpenAI) -> dict[str, str | None]:
    # None removes a variable, so a developer's own OPENAI_* settings cannot leak in.
    return {
        "RAPPORT_LLM_BASE_URL": fake.base_url,
        "RAPPORT_LLM_API_KEY": "test",
        "RAPPORT_LLM_RETRIES": "0",
        "OPENAI_API_KEY": None,
        "OPENAI_BASE_URL": None,
    }


def test_llm_engine_without_a_server_says_how_to_configure_one(jsonl: Path) -> None:
    unset = ("RAPPORT_LLM_BASE_URL", "RAPPORT_LLM_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL")
    result = CliRunner().invoke(
        app, ["grade", str(jsonl), "--engine", "llm"], env=dict.fromkeys(unset)
    )
    assert result.exit_code == 2
    assert "RAPPORT_LLM_BASE_URL" in result.stderr
    assert result.stdout == ""


def test_llm_engine_grades_each_transcript_and_reports_failures(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join(json.dumps(t) for t in TRANSCRIPTS[:2]), encoding="utf-8")
    quote = GOOD_LINES[0]
    good = json.dumps(
        {
            "criteria": [
                {
                    "id": "inviting_the_story",
                    "score": 4.0,
                    "feedback": "Good.",
                    "evidence": [
                        {"turn": 1, "quote": quote, "effect": "+", "code": "question_open"}
                    ],
                },
                {"id": "following_the_client", "score": None, "evidence": [], "feedback": "-"},
                {"id": "safety_and_limits", "score": None, "evidence": [], "feedback": "-"},
            ]
        }
    )
    fake.enqueue(good, "not json", "still not json")
    result = CliRunner().invoke(
        app,
        ["grade", str(path), "--engine", "llm", "--rubric", "first-session-engagement"],
        env=_env(fake),
    )
    assert result.exit_code == 1
    first, second = lines_of(result.stdout)
    assert first["engine"] == "llm" and first["overall"] == 4.0 and first["model"] == "fake-model"
    assert second["status"] == "failed" and second["overall"] is None and second["criteria"] == []
    assert "1 of 2 grades failed" in result.stderr
