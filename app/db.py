"""Database engine, sessions and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: workers there are one process (uvicorn has no fork)
    fcntl = None  # type: ignore[assignment]

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from app.config import Settings

__all__ = ["build_engine", "migrate", "session_scope"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any fixed number works; it only has to be the same for every worker that migrates.
_MIGRATION_LOCK_ID = 727_270_001


def build_engine(settings: Settings) -> Engine:
    """Create the SQLAlchemy engine for the configured database."""
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
                connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_pool_size * 3,
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


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs our migrations on the given engine."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, *, revision: str = "head") -> None:
    """Bring the schema up to `revision` (the latest); safe when several workers start at once."""
    config = alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            try:
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID})
                conn.commit()
    else:
        with _sqlite_migration_lock(engine), engine.begin() as conn:
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
