"""Shared fixtures: settings on a fresh database, an in-process client, a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.config import Settings
from app.db import build_engine, migrate
from app.main import create_app
from tests.support import ServerProcess, database_url


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database for this test: a SQLite file, or a PostgreSQL schema."""
    with database_url(tmp_path) as url:
        yield url


@pytest.fixture
def db_engine(tmp_path: Path, db_url: str) -> Iterator[Engine]:
    """An engine on this test's own database, migrated to the current schema."""
    built = build_engine(Settings(data_dir=tmp_path, database_url=db_url))
    migrate(built)
    yield built
    built.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings pointing at this test's own database, with no typing delay."""
    return Settings(data_dir=tmp_path, database_url=db_url, stream_delay=0.0)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An in-process client of a fully started app."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def server_env(tmp_path: Path, db_url: str) -> dict[str, str]:
    """Environment for a real server process on this test's database."""
    return {
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_DATABASE_URL": db_url,
        "RAPPORT_STREAM_DELAY": "0.01",
    }


@pytest.fixture
def live_server(server_env: dict[str, str]) -> Iterator[ServerProcess]:
    """A real uvicorn process serving the app on a free port."""
    server = ServerProcess(env=server_env).start()
    try:
        yield server
    finally:
        server.stop()
