"""The `rapport` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from app.analysis.cli import analyzer_app
from app.command_settings import settings_or_exit
from app.config import PROJECT_ROOT, Settings
from app.rubric.cli import rubrics_app

app = typer.Typer(help="Rapport: a practice studio for counselling students.", no_args_is_help=True)
personas_app = typer.Typer(help="Work with persona YAML files.", no_args_is_help=True)
db_app = typer.Typer(help="Database housekeeping.", no_args_is_help=True)
app.add_typer(personas_app, name="personas")
app.add_typer(db_app, name="db")
users_app = typer.Typer(help="Accounts (for RAPPORT_AUTH=on).", no_args_is_help=True)
admin_app = typer.Typer(help="First-run administration.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(admin_app, name="admin")
app.add_typer(rubrics_app, name="rubrics")
app.add_typer(analyzer_app, name="analyzer")

__all__ = ["app", "main"]


def _fail(exc: Exception) -> NoReturn:
    """Say what went wrong the way every command does, and exit 1."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1) from exc


def main() -> None:
    """Entry point of the `rapport` console script."""
    app()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL for > 1).")] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Serve the web app (settings come from RAPPORT_* environment variables)."""
    import uvicorn

    from app.logs import log_config
    from app.persona import PersonaLibraryError
    from app.schema_upgrade import upgrade_beside

    settings = settings_or_exit()
    # Alembic's memory would stay in the worker: a process of its own migrates meanwhile.
    upgrading = upgrade_beside(settings)
    try:
        from app.persona import load_library

        load_library(settings.personas_dir)
    except PersonaLibraryError as exc:
        typer.echo(f"error: the persona library is invalid:\n{exc}", err=True)
        if upgrading is not None:
            upgrading.wait()
        raise typer.Exit(1) from exc
    if workers > 1 and settings.resolved_database_url.startswith("sqlite"):
        typer.echo("note: several workers share one SQLite file; use PostgreSQL for real load.")
    if workers > 1 and settings.prometheus_multiproc_dir is None:
        _pool_metrics(settings)
    typer.echo(f"Rapport on http://{host}:{port} (engine: {settings.engine})")
    # Forwarded headers are believed only from RAPPORT_TRUSTED_PROXIES, by the app itself
    # (app.main); uvicorn's own handling would believe any client on 127.0.0.1.
    try:
        uvicorn.run(
            "app.asgi:app", host=host, port=port, workers=workers, reload=reload,
            log_config=log_config(settings), log_level=settings.log_level, proxy_headers=False,
        )
    finally:
        if upgrading is not None:
            upgrading.wait()


def _pool_metrics(settings: Settings) -> None:
    """Give worker processes one folder to pool their metrics in (prometheus multiprocess)."""
    import os
    import shutil

    folder = settings.data_dir / "metrics"
    shutil.rmtree(folder, ignore_errors=True)  # counts from a previous run would add up
    folder.mkdir(parents=True, exist_ok=True)
    # Read by prometheus_client in each worker, and by Settings there (not here again).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder.resolve())


@personas_app.command("validate")
def personas_validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the library).")
    ] = None,
) -> None:
    """Check persona files; print `file:line: field: message` per problem."""
    from app.persona import validate_paths
    from app.yamldoc import validation_report

    lines, ok = validation_report(
        paths or [settings_or_exit().personas_dir], validate_paths, noun="persona"
    )
    typer.echo("\n".join(lines))
    if not ok:
        raise typer.Exit(1)


@personas_app.command("upgrade")
def personas_upgrade(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the library).")
    ] = None,
    check: Annotated[bool, typer.Option(help="Report only; write nothing.")] = False,
) -> None:
    """Rewrite version-1 persona files as version 2 and list what each still needs."""
    from app.persona.upgrade import upgrade_file

    files: list[Path] = []
    for given in paths or [Settings().personas_dir]:
        files.extend(sorted(given.glob("*.yaml")) if given.is_dir() else [given])
    failed = False
    for file in files:
        result = upgrade_file(file, write=not check)
        if result.problems:
            failed = True
            typer.echo(f"{file}: not upgraded:")
            typer.echo("\n".join(f"  {p}" for p in result.problems))
            continue
        verb = ("would upgrade" if check else "upgraded") if result.changed else "already v2"
        typer.echo(f"{file}: {verb}")
        typer.echo("\n".join(f"  to do: {item}" for item in result.todo))
    if failed:
        raise typer.Exit(1)


@personas_app.command("selftest")
def personas_selftest(
    ids: Annotated[list[str] | None, typer.Argument(help="Persona ids (default: all).")] = None,
) -> None:
    """Play the team's good, poor and mixed counsellor scripts against personas and judge."""
    from app.client.selftest import format_report, selftest
    from app.persona import PersonaLibraryError, load_library

    try:
        library = load_library(Settings().personas_dir)
    except PersonaLibraryError as exc:
        _fail(exc)
    unknown = [i for i in ids or [] if i not in library]
    if unknown:
        typer.echo(f"error: no persona {', '.join(unknown)} (have: {', '.join(library)})",
                   err=True)
        raise typer.Exit(2)
    failed = 0
    for ident in ids or list(library):
        report = selftest(library[ident])
        typer.echo("\n".join(format_report(report)))
        failed += not report.passed
    typer.echo(f"{'ok' if not failed else 'FAIL'}: {len(ids or library) - failed} of "
               f"{len(ids or library)} personas pass the self-test")
    if failed:
        raise typer.Exit(1)


@personas_app.command("schema")
def personas_schema(
    out: Annotated[Path, typer.Option(help="Where to write it.")] = PROJECT_ROOT
    / "personas"
    / "persona.schema.json",
) -> None:
    """Regenerate the persona JSON Schema for editor autocompletion."""
    from app.persona import write_json_schema

    write_json_schema(out)
    typer.echo(f"wrote {out}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the latest migration."""
    from sqlalchemy.exc import OperationalError

    from app.db import build_engine, migrate

    settings = settings_or_exit()
    engine = build_engine(settings)
    where = engine.url.render_as_string(hide_password=True)
    try:
        migrate(engine)
    except OperationalError as exc:
        # One line: the entrypoint calls this in a loop while the database starts.
        reason = str(exc.orig or exc).strip().splitlines()[0][:200]
        _fail(ConnectionError(f"cannot reach the database at {where}: {reason}"))
    finally:
        engine.dispose()
    typer.echo(f"database up to date: {where}")


@db_app.command("backup")
def db_backup(
    out: Annotated[Path, typer.Argument(help="The backup file to write (e.g. rapport.jsonl.gz).")],
) -> None:
    """Write a consistent backup of the database while it serves (gzip JSON lines)."""
    from app.backup import BackupError, backup
    from app.db import build_engine

    engine = build_engine(settings_or_exit())
    try:
        summary = backup(engine=engine, out=out)
    except BackupError as exc:
        _fail(exc)
    finally:
        engine.dispose()
    typer.echo(f"backed up {sum(summary.rows.values())} rows (migration {summary.revision}) "
               f"to {out}: " + ", ".join(f"{k} {v}" for k, v in summary.rows.items() if v))


@db_app.command("restore")
def db_restore(
    source: Annotated[Path, typer.Argument(help="A file written by `rapport db backup`.")],
    replace: Annotated[
        bool, typer.Option(help="Delete everything in the database first (it must be empty).")
    ] = False,
) -> None:
    """Load a backup into an empty database (SQLite or PostgreSQL, whichever it came from)."""
    from app.backup import BackupError, restore
    from app.db import build_engine

    engine = build_engine(settings_or_exit())
    try:
        summary = restore(engine=engine, source=source, replace=replace)
    except BackupError as exc:
        _fail(exc)
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    typer.echo(f"restored {sum(summary.rows.values())} rows from {source} "
               f"(taken {summary.created_at}) into {where}")


@app.command()
def analyze(
    file: Annotated[str, typer.Argument(help="Transcript .json/.jsonl file, or - for stdin.")],
) -> None:
    """Print each transcript's counsellor-turn codes and empathy levels as one JSON line."""
    from app.analysis import analysis_to_json, analyze_transcript
    from app.transcripts import TranscriptError, read_transcripts

    try:
        for transcript in read_transcripts(file):
            results = analyze_transcript(transcript.context_turns())
            line = {
                "transcript_id": transcript.id,
                "turns": [analysis_to_json(i, a) for i, a in results],
            }
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    except TranscriptError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def grade(
    file: Annotated[str, typer.Argument(help="Transcript .json/.jsonl file, or - for stdin.")],
    rubric: Annotated[str | None, typer.Option(help="Rubric id (default core-conditions).")] = None,
    engine: Annotated[str, typer.Option(help="analytic (offline) or llm.")] = "analytic",
) -> None:
    """Grade each transcript against a rubric; print one JSON grade line per transcript."""
    from app.grading.cli import grade_command

    grade_command(file, rubric, engine)


if __name__ == "__main__":
    main()


# ---- accounts ---------------------------------------------------------------------------


def _password_from(password: str | None, password_stdin: bool) -> str | None:
    if password is not None and password_stdin:
        typer.echo("error: give --password or --password-stdin, not both.", err=True)
        raise typer.Exit(2)
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return password


def _link(settings: Settings, kind: str, token: str) -> str:
    base = (settings.public_url or "").rstrip("/")
    return f"{base}/{kind}/{token}" if base else f"/{kind}/{token} (on your Rapport server)"


PasswordOpt = Annotated[
    str | None,
    typer.Option(help="The password (visible in shell history: prefer --password-stdin)."),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Sign-in email.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[str, typer.Option(help="student, trainer, assessor or admin.")] = "student",
    cohort: Annotated[
        str | None, typer.Option(help="Cohort name (created if it does not exist).")
    ] = None,
    password: PasswordOpt = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an account; without a password, print a one-time set-password link."""
    from app.accounts_cli import create_account

    settings = settings_or_exit()
    secret = _password_from(password, password_stdin)
    try:
        user, token = create_account(
            settings=settings, email=email, name=name, role=role, cohort=cohort, password=secret
        )
    except ValueError as exc:
        _fail(exc)
    typer.echo(
        f"created {user.role} {user.email} (id {user.id})"
        + (f" in cohort {cohort}" if cohort else "")
    )
    if token:
        typer.echo(f"set-password link (one use): {_link(settings, 'reset', token)}")


@users_app.command("reset-password")
def users_reset_password(
    email: Annotated[str, typer.Option(help="The account's email.")],
    password: PasswordOpt = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password (or print a one-time link); every sign-in of the account ends."""
    from app.accounts_cli import reset_account

    settings = settings_or_exit()
    secret = _password_from(password, password_stdin)
    try:
        token = reset_account(settings=settings, email=email, password=secret)
    except ValueError as exc:
        _fail(exc)
    if token:
        typer.echo(f"set-password link (one use): {_link(settings, 'reset', token)}")
    else:
        typer.echo(f"password changed for {email.strip().lower()}")


@users_app.command("list")
def users_list() -> None:
    """Print every account: email, role, active, cohorts."""
    from app.accounts_cli import account_lines

    for line in account_lines(settings=settings_or_exit()):
        typer.echo(line)


@users_app.command("erase")
def users_erase(
    email: Annotated[str, typer.Option(help="The account whose data is to be deleted.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do it (without: say what would go).")] = False,
) -> None:
    """Delete a person and everything of theirs (a data-deletion request); audited."""
    from app.accounts_cli import erase_account

    try:
        report = erase_account(settings=settings_or_exit(), email=email, really=yes)
    except ValueError as exc:
        _fail(exc)
    typer.echo(report)


@db_app.command("prune")
def db_prune(
    older_than_days: Annotated[
        int, typer.Option(min=1, help="Delete sessions with no turn for this many days.")
    ],
) -> None:
    """Delete practice sessions past the retention period, with their grades and reviews."""
    from datetime import timedelta

    from app.accounts_cli import CLI, database
    from app.retention import prune_sessions

    with database(settings_or_exit()) as db:
        count = prune_sessions(db=db, older_than=timedelta(days=older_than_days), actor=CLI)
    typer.echo(f"deleted {count} session{'s' if count != 1 else ''} with no turn in "
               f"{older_than_days} days")


@admin_app.command("bootstrap")
def admin_bootstrap(
    email: Annotated[str | None, typer.Option(help="Create this admin now.")] = None,
    name: Annotated[str, typer.Option(help="The admin's name.")] = "Administrator",
    password: PasswordOpt = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create the first admin: with --email directly, else print a one-time setup link."""
    from app.accounts_cli import bootstrap

    settings = settings_or_exit()
    secret = _password_from(password, password_stdin)
    try:
        message, kind, token = bootstrap(settings=settings, email=email, name=name, password=secret)
    except ValueError as exc:
        _fail(exc)
    typer.echo(message)
    if kind and token:
        typer.echo(f"{kind} link (one use): {_link(settings, kind, token)}")
