"""`rapport db backup` and `rapport db restore` round trips, on the suite's database (SQLite or
PostgreSQL), and a backup taken while students are mid-session."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.backup import SKIPPED
from app.cli import app as cli
from app.config import Settings
from app.db import build_engine
from app.main import create_app
from app.models import PracticeSession, Turn
from tests.accounts import (
    LINES,
    PASSWORD,
    add_cohort,
    add_user,
    auth_settings,
    hold_session,
    sign_in,
)
from tests.support import ROOT, ServerProcess, database_url

runner = CliRunner()
RAPPORT = str(Path(sys.executable).parent / "rapport")


def _rows(path: Path) -> dict[str, list[dict]]:
    """Every row in a backup file, by table."""
    found: dict[str, list[dict]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as file:
        file.readline()
        for line in file:
            item = json.loads(line)
            found.setdefault(item["t"], []).append(item["r"])
    return found


def _cli(args: list[str], url: str, tmp: Path) -> str:
    result = runner.invoke(cli, args, env={"RAPPORT_DATABASE_URL": url,
                                           "RAPPORT_DATA_DIR": str(tmp)})
    assert result.exit_code == 0, result.output
    return result.output


def test_backup_and_restore_round_trip(tmp_path: Path, db_url: str) -> None:
    settings = auth_settings(tmp_path, db_url)
    with TestClient(create_app(settings)) as started:
        cohort = add_cohort(started.app, "Evening")
        add_user(started.app, "ana@example.org", cohorts=(cohort,))
        add_user(started.app, "mo@example.org", role="assessor", cohorts=(cohort,))
        ana = sign_in(started.app, "ana@example.org")
        mo = sign_in(started.app, "mo@example.org")
        sid = hold_session(ana)
        marks = [{"criterion": c["id"], "decision": "accept"}
                 for c in mo.get(f"/api/desk/sessions/{sid}").json()["grade"]["criteria"]]
        mo.put(f"/api/desk/sessions/{sid}/review", json={"marks": marks, "comment": "Warm."})
        mo.post(f"/api/desk/sessions/{sid}/notes", json={"turn": 1, "text": "Good start."})
        assert mo.post(f"/api/desk/sessions/{sid}/release").status_code == 200

    taken = tmp_path / "rapport.jsonl.gz"
    output = _cli(["db", "backup", str(taken)], db_url, tmp_path)
    assert "backed up" in output and taken.is_file()
    original = _rows(taken)
    for table in ("users", "cohorts", "practice_sessions", "turns", "grades", "reviews",
                  "review_marks", "turn_notes", "audit_events"):
        assert original.get(table), f"nothing backed up from {table}"
    assert not set(original) & SKIPPED  # no sign-ins or links travel in a backup

    restored_dir = tmp_path / "restored"
    with database_url(restored_dir) as fresh:
        output = _cli(["db", "restore", str(taken)], fresh, restored_dir)
        assert "restored" in output
        again = tmp_path / "again.jsonl.gz"
        _cli(["db", "backup", str(again)], fresh, restored_dir)
        assert _rows(again) == original
        # The restored database serves: Ana signs in with her password and reads her feedback.
        with TestClient(create_app(auth_settings(restored_dir, fresh))) as restored:
            ana = sign_in(restored.app, "ana@example.org", PASSWORD)
            feedback = ana.get(f"/api/sessions/{sid}/feedback").json()
            assert feedback["comment"] == "Warm."
            # New rows get new ids after the restored ones (sequences moved on).
            assert ana.post("/api/sessions", json={"persona_id": "sam-work-stress"}).status_code \
                == 201
        # Restoring over data is refused unless asked for.
        refused = runner.invoke(cli, ["db", "restore", str(taken)],
                                env={"RAPPORT_DATABASE_URL": fresh,
                                     "RAPPORT_DATA_DIR": str(restored_dir)})
        assert refused.exit_code == 1 and "--replace" in refused.output
        _cli(["db", "restore", "--replace", str(taken)], fresh, restored_dir)


def test_a_backup_taken_mid_load_restores_every_committed_turn(
    tmp_path: Path, db_url: str, server_env: dict[str, str]
) -> None:
    server = ServerProcess(env={**server_env, "RAPPORT_STREAM_DELAY": "0"}).start()
    stop = threading.Event()
    errors: list[str] = []

    def student(number: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            deadline = time.monotonic() + 60  # bounded, whatever happens
            while not stop.is_set() and time.monotonic() < deadline:
                sid = api.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()["id"]
                for line in LINES:
                    if stop.is_set():
                        return
                    answer = api.post(f"/api/sessions/{sid}/turns", json={"text": line})
                    if answer.status_code != 200:
                        errors.append(answer.text)
                        return

    threads = [threading.Thread(target=student, args=(n,)) for n in range(3)]
    engine = build_engine(Settings(data_dir=tmp_path, database_url=db_url))
    try:
        for thread in threads:
            thread.start()
        time.sleep(2)  # load is flowing
        with Session(engine) as db:
            committed = set(db.exec(select(Turn.id)).all())
        assert len(committed) > 10, "the load never got going"
        taken = tmp_path / "mid-load.jsonl.gz"
        done = subprocess.run([RAPPORT, "db", "backup", str(taken)], cwd=ROOT,
                              env={**os.environ, "RAPPORT_DATABASE_URL": db_url,
                                   "RAPPORT_DATA_DIR": str(tmp_path)},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        time.sleep(1)  # and it kept flowing after the backup
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        server.stop()
    assert not errors, errors
    with Session(engine) as db:
        final = set(db.exec(select(Turn.id)).all())
    engine.dispose()
    assert len(final) > len(committed)

    restored_dir = tmp_path / "restored"
    with database_url(restored_dir) as fresh:
        _cli(["db", "restore", str(taken)], fresh, restored_dir)
        again = build_engine(Settings(data_dir=restored_dir, database_url=fresh))
        with Session(again) as db:
            restored = set(db.exec(select(Turn.id)).all())
            sessions = set(db.exec(select(PracticeSession.id)).all())
            owners = set(db.exec(select(Turn.session_id).where(col(Turn.id).in_(restored))))
        again.dispose()
    assert committed <= restored, f"lost {len(committed - restored)} committed turns"
    assert restored <= final
    assert owners <= sessions  # every restored turn's session came too
