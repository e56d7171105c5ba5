"""Migrating without Alembic in the worker: the head is read from the migration files, a
migrated database is left alone without importing Alembic, and `rapport serve`'s helper process
does the migration beside the worker's start-up (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from app.config import PROJECT_ROOT, Settings
from app.db import alembic_config, build_engine, current_revision, migrate, schema_head
from app.schema_upgrade import upgrade_beside
from tests.support import database_url


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=url)


def test_the_head_read_from_the_files_is_alembics_head() -> None:
    assert schema_head() == ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def test_a_fresh_database_has_no_revision_and_a_migrated_one_is_at_the_head(tmp_path: Path) -> None:
    with database_url(tmp_path) as url:
        engine = build_engine(_settings(tmp_path, url))
        with engine.connect() as conn:
            assert current_revision(conn) is None
        migrate(engine)
        with engine.connect() as conn:
            assert current_revision(conn) == schema_head()
        engine.dispose()


def _probe(url: str, data_dir: Path) -> dict:
    """In a fresh interpreter: migrate, and say whether Alembic had to be imported."""
    code = ("import json, sys\nfrom app.config import Settings\nfrom app.db import build_engine,"
            " migrate\nengine = build_engine(Settings())\nmigrate(engine)\n"
            "print(json.dumps({'alembic': 'alembic' in sys.modules}))\n")
    env = {**os.environ, "RAPPORT_DATABASE_URL": url, "RAPPORT_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_migrating_a_current_database_does_not_load_alembic(tmp_path: Path) -> None:
    with database_url(tmp_path) as url:
        assert _probe(url, tmp_path) == {"alembic": True}  # the first time it must
        assert _probe(url, tmp_path) == {"alembic": False}


def test_a_database_behind_the_head_is_still_upgraded(tmp_path: Path) -> None:
    with database_url(tmp_path) as url:
        engine = build_engine(_settings(tmp_path, url))
        migrate(engine, revision="0008")
        with engine.connect() as conn:
            assert current_revision(conn) == "0008"
            assert "test_drives" not in inspect(conn).get_table_names()
        migrate(engine)
        with engine.connect() as conn:
            assert current_revision(conn) == schema_head()
        engine.dispose()


def test_serves_helper_migrates_a_fresh_database_and_skips_a_current_one(tmp_path: Path) -> None:
    with database_url(tmp_path) as url:
        settings = _settings(tmp_path, url)
        env_backup = dict(os.environ)
        os.environ.update(RAPPORT_DATABASE_URL=url, RAPPORT_DATA_DIR=str(tmp_path))
        try:
            helper = upgrade_beside(settings)
            assert helper is not None
            assert helper.wait(timeout=120) == 0
            engine = build_engine(settings)
            with engine.connect() as conn:
                assert current_revision(conn) == schema_head()
                assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
            engine.dispose()
            assert upgrade_beside(settings) is None
        finally:
            os.environ.clear()
            os.environ.update(env_backup)


def test_serves_helper_leaves_a_memory_database_to_the_worker(tmp_path: Path) -> None:
    assert upgrade_beside(_settings(tmp_path, "sqlite://")) is None
