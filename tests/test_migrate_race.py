"""Workers started together on a fresh SQLite file each migrate it: all must succeed."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
from pathlib import Path

from sqlalchemy import inspect

from app.config import Settings
from app.db import build_engine, migrate


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'fresh.db'}")


def _migrate(data_dir: Path, start: multiprocessing.synchronize.Barrier) -> None:
    engine = build_engine(_settings(data_dir))
    start.wait()
    migrate(engine)
    engine.dispose()


def test_four_processes_migrating_one_fresh_sqlite_file_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    workers = [context.Process(target=_migrate, args=(tmp_path, start)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert "users" in inspect(build_engine(_settings(tmp_path))).get_table_names()
