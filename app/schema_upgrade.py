"""`python -m app.schema_upgrade`: migrate the configured database, the way `rapport serve` does
beside its own start-up.

Migrating imports Alembic (with Mako and Pygments behind it, about 11 MB) and that memory would
stay in the worker for its whole life. `rapport serve` therefore runs the migration in this
short-lived process while the worker loads the library and the app; the worker's own
`migrate()` waits on the migration lock and finds the work done. Quiet on success; on failure
one line, and the worker then tries itself and reports the problem in full.
"""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy.exc import SQLAlchemyError

from app.config import Settings, SettingsError, load_settings
from app.db import build_engine, current_revision, memory_database, migrate, schema_head

__all__ = ["main", "upgrade_beside"]


def upgrade_beside(settings: Settings) -> subprocess.Popen | None:
    """Start migrating in a process of its own, or None when there is nothing to do here."""
    if memory_database(settings.resolved_database_url):
        return None  # a memory database is the worker's own: another process cannot reach it
    engine = build_engine(settings)
    try:
        with engine.connect() as conn:
            if current_revision(conn) == schema_head():
                return None
    except SQLAlchemyError:
        return None  # unreachable: the worker says so itself, with the fix
    finally:
        engine.dispose()
    return subprocess.Popen([sys.executable, "-m", "app.schema_upgrade"],
                            stdout=subprocess.DEVNULL)


def main() -> int:
    """Migrate; exit 0, or 1 with one line on stderr."""
    try:
        settings = load_settings()
        engine = build_engine(settings)
        try:
            migrate(engine)
        finally:
            engine.dispose()
    except (SettingsError, SQLAlchemyError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"note: migrating beside start-up failed ({reason}); the worker tries\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
