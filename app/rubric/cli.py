"""`rapport rubrics ...`: check rubric files and publish their JSON Schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.command_settings import settings_or_exit
from app.config import PROJECT_ROOT

__all__ = ["rubrics_app"]

rubrics_app = typer.Typer(help="Work with rubric YAML files.", no_args_is_help=True)


@rubrics_app.command("validate")
def rubrics_validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the library).")
    ] = None,
) -> None:
    """Check rubric files; print `file:line: field: message` per problem."""
    from app.rubric import validate_rubric_paths
    from app.yamldoc import validation_report

    lines, ok = validation_report(
        paths or [settings_or_exit().rubrics_dir], validate_rubric_paths, noun="rubric"
    )
    typer.echo("\n".join(lines))
    if not ok:
        raise typer.Exit(1)


@rubrics_app.command("schema")
def rubrics_schema(
    out: Annotated[Path, typer.Option(help="Where to write it.")] = PROJECT_ROOT
    / "rubrics"
    / "rubric.schema.json",
) -> None:
    """Regenerate the rubric JSON Schema for editor autocompletion."""
    from app.rubric import write_json_schema

    write_json_schema(out)
    typer.echo(f"wrote {out}")
