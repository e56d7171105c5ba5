"""Failed sign-ins: limits per email and address, per account, per address; trusted proxies.

Each guess that gets a 401 had its password checked; a 429 was refused before any check.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import anyio
import httpx
import pytest
from anyio import to_thread
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from app.auth.accounts import create_user
from app.auth.passwords import PasswordHashing
from app.auth.signin import Limits, RateLimited, _keys, begin_attempt
from app.config import Settings
from app.db import build_engine, migrate
from app.main import create_app
from app.models import LoginAttempt, utcnow
from app.web.deps import Database
from tests.accounts import PASSWORD, SECRET, TEST_ACTOR, FakeClock, add_user, auth_settings
from tests.support import ServerProcess

ANA = "ana@example.org"


def guess(client: TestClient, email: str = ANA, password: str = "wrong password"):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def from_address(app, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000))


def test_an_account_is_capped_from_any_address_then_each_try_waits_longer(
    tmp_path: Path, db_url: str
) -> None:
    clock = FakeClock()
    app = create_app(auth_settings(tmp_path, db_url, login_account_limit=6), clock=clock)
    with TestClient(app):
        add_user(app, ANA)
        # Six addresses, one guess each: no address reaches its own limit.
        for i in range(6):
            assert guess(from_address(app, f"198.51.100.{i}")).status_code == 401
        fresh = from_address(app, "203.0.113.9")
        refused = guess(fresh)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 2
        # Even the right password waits: the cap is on the account, not on the guesser.
        assert guess(fresh, password=PASSWORD).status_code == 429
        waits = []
        for _ in range(3):
            clock.advance(int(guess(fresh).headers["retry-after"]))
            assert guess(fresh).status_code == 401  # one more guess is let through...
            waits.append(int(guess(fresh).headers["retry-after"]))  # ...then a longer wait
        assert waits == sorted(waits) and waits[-1] > waits[0]
        clock.advance(waits[-1])
        assert guess(fresh, password=PASSWORD).status_code == 200


def test_one_address_is_capped_across_many_emails(tmp_path: Path, db_url: str) -> None:
    app = create_app(auth_settings(tmp_path, db_url, login_address_limit=4))
    with TestClient(app):
        add_user(app, ANA)
        sprayer = from_address(app, "192.0.2.50")
        for i in range(4):
            assert guess(sprayer, email=f"user{i}@example.org").status_code == 401
        assert guess(sprayer, email="someone-else@example.org").status_code == 429
        assert guess(sprayer, password=PASSWORD).status_code == 429
        # Another address is not held back by this one.
        assert guess(from_address(app, "192.0.2.51"), password=PASSWORD).status_code == 200


def _serve(tmp_path: Path, db_url: str, **env: str) -> ServerProcess:
    server_env = {"RAPPORT_DATA_DIR": str(tmp_path), "RAPPORT_DATABASE_URL": db_url,
                  "RAPPORT_AUTH": "on", "RAPPORT_SECRET_KEY": SECRET, **env}
    server = ServerProcess(env=server_env, cli=True).start()
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    engine = build_engine(settings)
    with Session(engine) as db:
        create_user(db=db, email=ANA, name="Ana", role="student", password=PASSWORD,
                    actor=TEST_ACTOR)
    engine.dispose()
    return server


@pytest.mark.slow
def test_parallel_guesses_are_counted_one_at_a_time(tmp_path: Path, db_url: str) -> None:
    server = _serve(tmp_path, db_url, RAPPORT_PASSWORD_HASH_THREADS="2")
    barrier = threading.Barrier(20)
    codes: list[int] = []

    def attempt() -> None:
        barrier.wait()
        answer = httpx.post(f"{server.url}/api/auth/login", timeout=60,
                            json={"email": ANA, "password": "wrong password"})
        codes.append(answer.status_code)

    try:
        threads = [threading.Thread(target=attempt) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    finally:
        server.stop()
    assert sorted(codes) == [401] * 5 + [429] * 15


def rotate(server: ServerProcess, n: int) -> list[int]:
    """n wrong guesses, each claiming a different client address in X-Forwarded-For."""
    return [
        httpx.post(f"{server.url}/api/auth/login", timeout=30,
                   headers={"X-Forwarded-For": f"203.0.113.{i}"},
                   json={"email": ANA, "password": "wrong password"}).status_code
        for i in range(n)
    ]


@pytest.mark.slow
def test_forwarded_addresses_count_only_from_trusted_proxies(tmp_path: Path, db_url: str) -> None:
    # No proxy configured: the header is ignored, so every guess comes from 127.0.0.1.
    server = _serve(tmp_path, db_url)
    try:
        assert rotate(server, 8) == [401] * 5 + [429] * 3
    finally:
        server.stop()


@pytest.mark.slow
def test_behind_a_trusted_proxy_the_account_cap_still_holds(tmp_path: Path, db_url: str) -> None:
    server = _serve(tmp_path, db_url, RAPPORT_TRUSTED_PROXIES="127.0.0.1",
                    RAPPORT_LOGIN_ACCOUNT_LIMIT="8")
    try:
        codes = rotate(server, 12)
    finally:
        server.stop()
    # Each forwarded address is its own (email, address) pair, so only the account cap stops it.
    assert codes == [401] * 8 + [429] * 4


def test_a_flood_of_failures_costs_each_guess_the_same_bounded_work(
    tmp_path: Path, db_url: str
) -> None:
    # 400 failures from one address in the window: counting them reads no rows into Python.
    engine = build_engine(Settings(data_dir=tmp_path, database_url=db_url))
    migrate(engine)
    now = utcnow()
    keys = [_keys(f"user{i}@example.org", "192.0.2.7") for i in range(400)]
    with Session(engine) as db:
        db.add_all(LoginAttempt(key=k[0], account_key=k[1], address_key=k[2], created_at=now)
                   for k in keys)
        db.commit()
    loaded = []

    def on_load(row, _context) -> None:
        loaded.append(row)

    event.listen(LoginAttempt, "load", on_load)
    try:
        with Session(engine) as db:
            begin_attempt(db=db, email="ana@example.org", address="192.0.2.7", now=now,
                          limits=Limits(pair=5, account=5, address=1000, window=900))
        assert loaded == []  # counted in SQL: not one of the window's rows came back
        with Session(engine) as db, pytest.raises(RateLimited) as refused:
            begin_attempt(db=db, email="ana@example.org", address="192.0.2.7", now=now,
                          limits=Limits(pair=5, account=5, address=300, window=900))
        # The 301st newest failure is as old as the newest (all at `now`): a whole window.
        assert refused.value.retry_after == 901
    finally:
        event.remove(LoginAttempt, "load", on_load)
        engine.dispose()


def test_hashing_threads_yield_the_cpu_and_rest_between_hashes() -> None:
    hashing = PasswordHashing(threads=1)
    try:
        if sys.platform == "linux":  # a thread's own niceness, below the server's threads
            assert hashing._submit(os.getpriority, os.PRIO_PROCESS, 0).result() == 10 + (
                os.getpriority(os.PRIO_PROCESS, 0))
        started = time.monotonic()
        jobs = [hashing._submit(time.sleep, 0.05) for _ in range(3)]
        for job in jobs:
            job.result()
        # Each job after the first waits as long as the one before took: half a core at most.
        assert time.monotonic() - started >= 0.25
    finally:
        hashing.close()


def test_sign_in_bookkeeping_neither_waits_for_nor_takes_the_shared_threads(
    tmp_path: Path, db_url: str
) -> None:
    engine = build_engine(Settings(data_dir=tmp_path, database_url=db_url))
    database = Database(engine)
    busy, most = 0, 0

    def bookkeeping(*, db: Session) -> None:
        nonlocal busy, most
        busy += 1
        most = max(most, busy)
        time.sleep(0.02)
        busy -= 1

    async def main() -> None:
        shared = to_thread.current_default_thread_limiter()
        shared.total_tokens = 1
        release = threading.Event()
        async with anyio.create_task_group() as tasks:
            # Every shared thread token is taken by a slow call...
            tasks.start_soon(lambda: to_thread.run_sync(release.wait))
            await anyio.sleep(0.05)
            # ...and sign-ins still go through, one at a time.
            try:
                with anyio.fail_after(10):
                    async with anyio.create_task_group() as sign_ins:
                        for _ in range(4):
                            sign_ins.start_soon(lambda: database.run_sign_in(bookkeeping))
            finally:
                release.set()

    try:
        anyio.run(main)
    finally:
        engine.dispose()
    assert most == 1
