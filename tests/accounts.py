"""Test support for accounts: settings with auth on, users and cohorts, signed-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.audit import Actor
from app.auth.accounts import create_user
from app.cohorts import add_member, create_cohort
from app.config import Settings
from app.models import Cohort, User, utcnow
from app.services import services_of
from tests.support import ServerProcess

SECRET = "test-only-secret-key-for-rapport-accounts-0123456789"
PASSWORD = "correct horse battery staple"
TEST_ACTOR = Actor(user_id=None, label="test")
PERSONA = "sam-work-stress"
LINES = [
    "It sounds like you've been carrying a lot on your own lately.",
    "What has it been like for you, lying awake at night?",
    "You should just talk to your boss tomorrow.",
    "You feel worn out, and part of you wonders whether this is even worth talking about.",
]


class FakeClock:
    """An injectable "now" for sign-ins (create_app(clock=...)) that tests move by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def auth_settings(tmp_path: Path, db_url: str, **extra: object) -> Settings:
    """Settings with accounts on, on this test's database."""
    return Settings(
        data_dir=tmp_path, database_url=db_url, stream_delay=0.0, auth="on", secret_key=SECRET,
        **extra,
    )


def add_cohort(app: FastAPI, name: str, **settings: object) -> Cohort:
    """A cohort, created as the command line would."""
    with Session(services_of(app).db_engine, expire_on_commit=False) as db:
        return create_cohort(db=db, name=name, actor=TEST_ACTOR, **settings)  # type: ignore[arg-type]


def add_user(
    app: FastAPI,
    email: str,
    *,
    role: str = "student",
    cohorts: tuple[Cohort, ...] = (),
    password: str | None = PASSWORD,
) -> User:
    """An account in the given cohorts."""
    with Session(services_of(app).db_engine, expire_on_commit=False) as db:
        user = create_user(db=db, email=email, name=email.split("@")[0].title(), role=role,
                           password=password, actor=TEST_ACTOR)
        for cohort in cohorts:
            add_member(db=db, cohort=cohort, user=user, actor=TEST_ACTOR)
        return user


def sign_in(app: FastAPI, email: str, password: str = PASSWORD) -> TestClient:
    """A client of the (already started) app, signed in, sending the CSRF header."""
    client = TestClient(app)
    answer = client.post("/api/auth/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def hold_session(client: TestClient, *, end: bool = True, lines: list[str] = LINES) -> str:
    """A short practice session through the API; ended (and so gradeable) by default."""
    answer = client.post("/api/sessions", json={"persona_id": PERSONA})
    assert answer.status_code == 201, answer.text
    sid = answer.json()["id"]
    for line in lines:
        reply = client.post(f"/api/sessions/{sid}/turns", json={"text": line})
        assert reply.status_code == 200, reply.text
    if end:
        assert client.post(f"/api/sessions/{sid}/end").status_code == 200
    return sid


def seed_people(
    data_dir: str | Path, db_url: str, people: tuple[tuple[str, str], ...], *,
    cohort: str = "Evening", auto_grades: str = "after_release",
) -> None:
    """Before a real server starts: migrate its database and put `people` (email, role) in one
    cohort, each with PASSWORD."""
    from app.db import build_engine, migrate

    engine = build_engine(Settings(data_dir=Path(data_dir), database_url=db_url))
    migrate(engine)
    with Session(engine) as db:
        group = create_cohort(db=db, name=cohort, actor=TEST_ACTOR, auto_grades=auto_grades)
        for email, role in people:
            user = create_user(db=db, email=email, name=email.split("@")[0].title(), role=role,
                               password=PASSWORD, actor=TEST_ACTOR)
            add_member(db=db, cohort=group, user=user, actor=TEST_ACTOR)
    engine.dispose()


@contextmanager
def accounts_server(
    server_env: dict[str, str], people: tuple[tuple[str, str], ...], *, workers: int = 1,
    auto_grades: str = "after_release",
) -> Iterator[ServerProcess]:
    """A real server with accounts on, `people` (email, role) seeded in one cohort first."""
    seed_people(server_env["RAPPORT_DATA_DIR"], server_env["RAPPORT_DATABASE_URL"], people,
                auto_grades=auto_grades)
    env = {**server_env, "RAPPORT_AUTH": "on", "RAPPORT_SECRET_KEY": SECRET}
    process = ServerProcess(env=env, workers=workers).start()
    try:
        yield process
    finally:
        process.stop()
