"""`rapport grade FILE|-`: one JSON grade line per transcript on stdout, progress on stderr."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import typer

from app.command_settings import settings_or_exit
from app.grading.analytic import grade_analytic
from app.grading.inputs import input_from_transcript
from app.grading.judge import Judge, JudgeNotConfigured, judge_from_settings
from app.grading.model import GradeResult
from app.grading.service import UnknownRubric, pick_rubric
from app.rubric import Rubric, RubricLibraryError, load_rubrics
from app.transcripts import Transcript, TranscriptError, read_transcripts

__all__ = ["ENGINES", "grade_command"]

ENGINES = ("analytic", "llm")
# Exit codes: 2 for input the command cannot use (as `rapport analyze` does), 1 when a
# transcript's LLM grade failed (its FAILED line is still printed).
EXIT_BAD_INPUT = 2
EXIT_GRADE_FAILED = 1


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _emit(result: GradeResult) -> None:
    sys.stdout.write(json.dumps(result.model_dump(mode="json"), ensure_ascii=False) + "\n")
    sys.stdout.flush()


@contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr for many transcripts (or any, on a terminal); else nothing."""
    if total <= 1 and not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    columns = (TextColumn("grading"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=console.is_terminal) as bar:
        task = bar.add_task("grading", total=total)
        yield lambda: bar.advance(task)


def _load(file: str, rubric_id: str | None, engine: str) -> tuple[Rubric, list[Transcript]]:
    """Everything the command needs, checked before any line is printed."""
    if engine not in ENGINES:
        raise _fail(f"--engine must be one of: {', '.join(ENGINES)} (got '{engine}')")
    settings = settings_or_exit()
    try:
        rubrics = load_rubrics(settings.rubrics_dir)
        rubric = pick_rubric(rubrics, rubric_id)
    except RubricLibraryError as exc:
        raise _fail(f"the rubric library is invalid:\n{exc}") from exc
    except UnknownRubric as exc:
        raise _fail(str(exc)) from exc
    try:
        # Read every transcript first: bad input stops the command before any output.
        transcripts = list(read_transcripts(file))
    except TranscriptError as exc:
        raise _fail(str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise _fail(f"{file}: not UTF-8 text") from exc
    return rubric, transcripts


async def _judge_all(
    judge: Judge, rubric: Rubric, transcripts: Sequence[Transcript], tick: Callable[[], None]
) -> int:
    failed = 0
    try:
        for transcript in transcripts:
            result = await judge.grade(input_from_transcript(transcript), rubric)
            failed += result.status == "failed"
            if result.status == "failed":
                typer.echo(f"warning: {transcript.id}: {result.reason}", err=True)
            _emit(result)
            tick()
    finally:
        await judge.aclose()
    return failed


def grade_command(file: str, rubric: str | None, engine: str) -> None:
    """Grade each transcript in FILE (or stdin) and print one JSON grade line per transcript."""
    chosen, transcripts = _load(file, rubric, engine)
    with _progress(len(transcripts)) as tick:
        if engine == "analytic":
            for transcript in transcripts:
                _emit(grade_analytic(input_from_transcript(transcript), chosen))
                tick()
            return
        try:
            judge = judge_from_settings(settings_or_exit())
        except JudgeNotConfigured as exc:
            raise _fail(str(exc)) from exc
        failed = asyncio.run(_judge_all(judge, chosen, transcripts, tick))
    if failed:
        typer.echo(f"error: {failed} of {len(transcripts)} grades failed", err=True)
        raise typer.Exit(EXIT_GRADE_FAILED)
