"""Deleting a student's data on request, and sessions past the retention period."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import app as cli
from app.grading.records import Grade
from app.main import create_app
from app.models import AuditEvent, PracticeSession, Turn, User, utcnow
from app.services import services_of
from tests.accounts import add_cohort, add_user, auth_settings, hold_session, sign_in

runner = CliRunner()


def _env(tmp_path: Path, db_url: str) -> dict[str, str]:
    return {"RAPPORT_DATABASE_URL": db_url, "RAPPORT_DATA_DIR": str(tmp_path)}


def test_erasing_a_student_deletes_everything_of_theirs_and_nothing_else(
    tmp_path: Path, db_url: str
) -> None:
    with TestClient(create_app(auth_settings(tmp_path, db_url))) as started:
        cohort = add_cohort(started.app, "Evening")
        add_user(started.app, "ana@example.org", cohorts=(cohort,))
        add_user(started.app, "ben@example.org", cohorts=(cohort,))
        ana = sign_in(started.app, "ana@example.org")
        ana_sid = hold_session(ana)
        ben_sid = hold_session(sign_in(started.app, "ben@example.org"))
        engine = services_of(started.app).db_engine

        dry = runner.invoke(cli, ["users", "erase", "--email", "ana@example.org"],
                            env=_env(tmp_path, db_url))
        assert dry.exit_code == 0 and "would delete ana@example.org" in dry.output
        with Session(engine) as db:
            assert db.get(PracticeSession, ana_sid) is not None  # a dry run deletes nothing

        done = runner.invoke(cli, ["users", "erase", "--email", "ana@example.org", "--yes"],
                             env=_env(tmp_path, db_url))
        assert done.exit_code == 0, done.output
        with Session(engine) as db:
            assert db.exec(select(User).where(User.email == "ana@example.org")).first() is None
            assert db.get(PracticeSession, ana_sid) is None
            assert not db.exec(select(Turn).where(Turn.session_id == ana_sid)).all()
            assert not db.exec(select(Grade).where(Grade.session_id == ana_sid)).all()
            assert db.get(PracticeSession, ben_sid) is not None  # Ben keeps his
            audit = json.dumps([e.details for e in db.exec(select(AuditEvent)).all()])
            actions = [e.action for e in db.exec(select(AuditEvent)).all()]
        assert "ana@example.org" not in audit and "Ana" not in audit
        assert "user.erase" in actions
        # Signed out everywhere: her old sign-in no longer works.
        assert ana.get("/api/auth/me").status_code == 401


def test_pruning_deletes_only_sessions_past_the_retention_period(
    tmp_path: Path, db_url: str
) -> None:
    with TestClient(create_app(auth_settings(tmp_path, db_url))) as started:
        add_user(started.app, "ana@example.org")
        ana = sign_in(started.app, "ana@example.org")
        old, recent = hold_session(ana), hold_session(ana)
        long_ago = utcnow() - timedelta(days=400)
        with Session(services_of(started.app).db_engine) as db:
            session = db.get(PracticeSession, old)
            session.created_at = long_ago
            for turn in db.exec(select(Turn).where(Turn.session_id == old)).all():
                turn.created_at = long_ago
                db.add(turn)
            db.add(session)
            db.commit()
        done = runner.invoke(cli, ["db", "prune", "--older-than-days", "365"],
                             env=_env(tmp_path, db_url))
        assert done.exit_code == 0 and "deleted 1 session " in done.output
        with Session(services_of(started.app).db_engine) as db:
            assert db.get(PracticeSession, old) is None
            assert db.get(PracticeSession, recent) is not None
