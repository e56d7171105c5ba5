"""A SQLite call made on the event loop never waits there for another writer's lock: it is made
again on a worker thread, so other students' requests go on meanwhile, and it still lands."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import text

from app.config import Settings
from app.db import build_engine, build_inline_engine, migrate
from app.metrics import DB_BUSY_RETRIES
from app.web.deps import Database


def _insert(*, db) -> int:
    db.execute(text("CREATE TABLE IF NOT EXISTS notes (n INTEGER)"))
    db.execute(text("INSERT INTO notes VALUES (1)"))
    db.commit()
    return 1


def _count(*, db) -> int:
    return db.execute(text("SELECT count(*) FROM notes")).scalar_one()


def test_a_write_behind_another_writer_waits_on_a_thread_not_on_the_loop(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'busy.db'}")
    engine = build_engine(settings)
    migrate(engine)
    inline = build_inline_engine(settings, engine)
    assert inline is not None and inline is not engine
    database = Database(engine, inline=inline)
    retries = DB_BUSY_RETRIES._value.get()

    async def main() -> None:
        await database.write(_insert)  # the table, and a warm connection
        other = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another worker holds the write lock
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        write = asyncio.create_task(database.write(_insert))
        await asyncio.sleep(0.3)
        # Had the write waited on the loop, neither the ticker nor this line would have run
        # until the busy timeout (30 s) ran out, and the write would then have failed.
        assert not write.done()
        assert ticks >= 10
        other.rollback()
        assert await asyncio.wait_for(write, 10) == 1
        ticker.cancel()
        other.close()
        assert await database.read(_count) == 2

    asyncio.run(main())
    assert DB_BUSY_RETRIES._value.get() == retries + 1
    inline.dispose()
    engine.dispose()


def test_a_memory_database_and_postgresql_need_no_second_engine() -> None:
    memory = build_engine(Settings(database_url="sqlite://"))
    assert build_inline_engine(Settings(database_url="sqlite://"), memory) is memory
    pg = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert build_inline_engine(pg, build_engine(pg)) is None  # its calls go to threads


def test_the_turn_reads_driver_errors_come_out_as_sqlalchemys(tmp_path: Path) -> None:
    """The busy retry above catches SQLAlchemy's errors: the plain-cursor reads must raise them."""
    import pytest
    from sqlalchemy.exc import OperationalError

    from app.turn_store import read_turn

    engine = build_engine(Settings(data_dir=tmp_path,
                                   database_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    with engine.connect() as conn, pytest.raises(OperationalError, match="no such table"):
        read_turn(conn=conn, session_id="x", user_id=1, user_role="student",
                  client_message_id=None, window=lambda _: 10)
    engine.dispose()
