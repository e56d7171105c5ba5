"""`rapport db backup` and `rapport db restore`: the database as one portable file, and back.

A backup is gzip-compressed JSON lines: a header (format, the schema's migration, row counts),
then one line per row, table by table in foreign-key order. It reads one consistent snapshot
while the app keeps serving: on PostgreSQL a read-only REPEATABLE READ transaction, on SQLite a
copy made by SQLite's online backup API. So a backup taken mid-load holds every turn committed
before it started, and no half of anything. The same file restores into SQLite or PostgreSQL.

Sign-ins, failed sign-in counts and one-time links are left out: they are short-lived, and a
restored copy should not let anyone in on a cookie or a link issued before the backup.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import DateTime, Integer, Table, create_engine, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import app.grading.records
import app.models  # noqa: F401  (both register their tables on SQLModel.metadata)
from app.db import migrate

__all__ = ["FORMAT", "BackupError", "BackupSummary", "backup", "restore"]

FORMAT = "rapport-backup"
VERSION = 1
SKIPPED = frozenset({"auth_sessions", "login_attempts", "one_time_tokens"})
_BATCH = 500


class BackupError(ValueError):
    """A backup file Rapport cannot restore, or a target it will not overwrite."""


@dataclass(frozen=True, slots=True)
class BackupSummary:
    """What a backup holds: the migration it was taken at and the rows per table."""

    revision: str | None
    rows: dict[str, int]
    created_at: str


def _tables() -> list[Table]:
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in SKIPPED]


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _is_time(kind: Any) -> bool:
    # SQLModel wraps DateTime in a TypeDecorator; look through it.
    return isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime)


def _decode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in row.items():
        column = table.columns.get(name)
        if column is None:
            continue  # a column a later migration dropped
        if value is not None and _is_time(column.type):
            value = datetime.fromisoformat(value)
        out[name] = value
    return out


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that sees one moment of the database, however busy it is."""
    if engine.dialect.name == "sqlite":
        source = engine.url.database
        if not source or source == ":memory:":
            raise BackupError("an in-memory SQLite database has nothing to back up")
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / "snapshot.db"
            live, target = sqlite3.connect(source, timeout=30), sqlite3.connect(copy)
            try:
                live.backup(target)  # in one step: a consistent copy; WAL writers carry on
            finally:
                target.close()
                live.close()
            snapshot = create_engine(f"sqlite:///{copy}")
            try:
                with snapshot.connect() as conn:
                    yield conn
            finally:
                snapshot.dispose()
        return
    with engine.connect().execution_options(
        isolation_level="REPEATABLE READ", postgresql_readonly=True
    ) as conn, conn.begin():
        yield conn


def backup(*, engine: Engine, out: Path) -> BackupSummary:
    """Write a consistent backup of the database to `out` (gzip JSON lines)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    rows: dict[str, int] = {}
    with _snapshot(engine) as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
        tables = _tables()
        for table in tables:
            rows[table.name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
        summary = BackupSummary(revision=revision, rows=rows,
                                created_at=datetime.now(UTC).isoformat())
        with gzip.open(partial, "wt", encoding="utf-8") as file:
            header = {"format": FORMAT, "version": VERSION, "revision": revision,
                      "created_at": summary.created_at, "rows": rows}
            file.write(json.dumps(header) + "\n")
            for table in tables:
                order = [c for c in table.primary_key.columns]
                for row in conn.execute(select(table).order_by(*order)).mappings():
                    line = {"t": table.name, "r": {k: _encode(v) for k, v in row.items()}}
                    file.write(json.dumps(line, ensure_ascii=False) + "\n")
    partial.replace(out)  # a crash mid-backup never leaves a truncated file under the name
    return summary


def _read_header(path: Path) -> dict[str, Any]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as file:
            header = json.loads(file.readline())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path} is not a Rapport backup: {exc}") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError(f"{path} is not a Rapport backup (no {FORMAT} header).")
    if header.get("version") != VERSION:
        raise BackupError(f"{path} is backup format {header.get('version')}; this Rapport "
                          f"reads format {VERSION}.")
    return header


def _is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        names = set(engine.dialect.get_table_names(conn))
        for table in ("users", "practice_sessions"):
            if table in names and conn.execute(
                select(func.count()).select_from(SQLModel.metadata.tables[table])
            ).scalar_one():
                return False
    return True


def _drop_everything(engine: Engine) -> None:
    with engine.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: make each id sequence continue after the restored rows."""
    for table in _tables():
        column = table.columns.get("id")
        if column is None or not column.primary_key or not isinstance(column.type, Integer):
            continue
        # Table names come from our own metadata, never from the backup file.
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
            f"COALESCE((SELECT MAX(id) FROM \"{table.name}\"), 0) + 1, false)"
        ))


def restore(*, engine: Engine, source: Path, replace: bool = False) -> BackupSummary:
    """Load a backup into an empty database (or, with `replace`, over an existing one)."""
    header = _read_header(source)
    if not _is_empty(engine):
        if not replace:
            raise BackupError(
                "the database already holds accounts or sessions: restore into an empty "
                "database, or pass --replace to delete what is there first"
            )
        _drop_everything(engine)
    revision = header.get("revision")
    # The schema the backup was taken at, then its rows, then any later migrations on top.
    migrate(engine, revision=revision or "head")
    tables = {t.name: t for t in _tables()}
    counts: dict[str, int] = {}
    with engine.begin() as conn, gzip.open(source, "rt", encoding="utf-8") as file:
        file.readline()
        batch: list[dict[str, Any]] = []
        current: Table | None = None
        for raw in file:
            line = json.loads(raw)
            table = tables.get(line["t"])
            if table is None:
                continue
            if table is not current and batch and current is not None:
                conn.execute(insert(current), batch)
                batch = []
            current = table
            batch.append(_decode(table, line["r"]))
            counts[table.name] = counts.get(table.name, 0) + 1
            if len(batch) >= _BATCH:
                conn.execute(insert(current), batch)
                batch = []
        if batch and current is not None:
            conn.execute(insert(current), batch)
        if engine.dialect.name == "postgresql":
            _reset_sequences(conn)
    expected = {k: v for k, v in header.get("rows", {}).items() if k in tables}
    if {k: counts.get(k, 0) for k in expected} != expected:
        raise BackupError(f"{source} is incomplete: expected rows {expected}, found {counts}")
    migrate(engine)
    return BackupSummary(revision=revision, rows=counts, created_at=header.get("created_at", ""))

