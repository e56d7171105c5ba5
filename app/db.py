"""Database engine, sessions and migrations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

try:
    import fcntl
except ImportError:  # Windows: workers there are one process (uvicorn has no fork)
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from app.config import Settings

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "build_engine", "build_inline_engine", "current_revision", "memory_database", "migrate",
    "schema_head", "session_scope",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any fixed number works; it only has to be the same for every worker that migrates.
_MIGRATION_LOCK_ID = 727_270_001


def memory_database(url: str | URL) -> bool:
    """Whether `url` is an in-memory SQLite database (one process's own, unreachable by others)."""
    url = make_url(url)
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def build_engine(settings: Settings, *, busy_timeout: float = 30.0,
                 pool_size: int | None = None) -> Engine:
    """Create the SQLAlchemy engine for the configured database.

    `busy_timeout`: seconds a SQLite connection waits for another writer's lock before it
    gives up; `pool_size`: connections kept (default the setting).
    """
    pool_size = pool_size or settings.db_pool_size
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        if url in {"sqlite://", "sqlite:///:memory:"}:
            engine = create_engine(
                url, connect_args={"check_same_thread": False}, poolclass=StaticPool
            )
        else:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            # Keep connections open: closing the last one to a WAL database checkpoints and
            # removes the WAL file, which costs milliseconds on every request.
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": busy_timeout},
                pool_size=pool_size,
                max_overflow=pool_size * 3,
            )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            # WAL lets readers carry on while a turn commits; foreign keys are off by default.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(
        url, pool_size=settings.db_pool_size, max_overflow=settings.db_pool_size, pool_pre_ping=True
    )


def build_inline_engine(settings: Settings, engine: Engine) -> Engine | None:
    """The engine for SQLite calls made on the event loop: one that never waits for a lock.

    None for PostgreSQL (its calls go to worker threads); `engine` itself for a memory
    database, which has one connection and no other writer to wait for.
    """
    if engine.dialect.name != "sqlite":
        return None
    if memory_database(engine.url):
        return engine
    # The loop makes one call at a time, so two kept connections are plenty.
    return build_engine(settings, busy_timeout=0, pool_size=2)


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs our migrations on the given engine."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


# Alembic writes these two lines at the top of every migration it generates.
_REVISION = re.compile(r"""^revision\b[^=]*=\s*["']([^"']+)["']""", re.M)
_DOWN_REVISION = re.compile(r"""^down_revision\b[^=]*=\s*["']([^"']+)["']""", re.M)


@lru_cache(maxsize=1)
def schema_head() -> str:
    """The latest migration's revision id, read from the migration files without Alembic.

    A worker whose database is already migrated then never imports Alembic (with Mako and
    Pygments behind it, about 11 MB of every worker's memory).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for file in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = file.read_text(encoding="utf-8")
        if found := _REVISION.search(source):
            revisions.add(found[1])
        if found := _DOWN_REVISION.search(source):
            parents.add(found[1])
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations must have one head, not {sorted(heads)}")
    return heads.pop()


def current_revision(conn: Connection) -> str | None:
    """The migration the database is at (None if it was never migrated or has branches)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return found[0] if len(found) == 1 else None


def migrate(engine: Engine, *, revision: str = "head") -> None:
    """Bring the schema up to `revision` (the latest); safe when several workers start at once.

    Under the migration lock the database is asked where it stands first: `rapport serve`
    migrates in a process of its own beside the worker's start-up, and a worker that finds the
    work done loads nothing of Alembic.
    """
    wanted = schema_head() if revision == "head" else None
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            try:
                if wanted is None or current_revision(conn) != wanted:
                    _upgrade(engine, conn, revision)
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID})
                conn.commit()
    else:
        with _sqlite_migration_lock(engine):
            if wanted is not None:
                with engine.connect() as conn:
                    if current_revision(conn) == wanted:
                        return
            with engine.begin() as conn:
                _upgrade(engine, conn, revision)


def _upgrade(engine: Engine, conn: Connection, revision: str) -> None:
    from alembic import command

    config = alembic_config(engine)
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


@contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive lock file beside a SQLite database while migrating it.

    Workers started together each migrate: SQLite's deferred transactions let two of them read
    an empty schema before either writes, and the second then fails on "table already exists".
    """
    database = engine.url.database
    if not database or database == ":memory:" or fcntl is None:
        yield
        return
    with open(f"{database}.migrate-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield a database session (FastAPI dependency body)."""
    with Session(engine) as session:
        yield session
