"""What an operator and a student each read when the server is set up wrong (#12, items 12-14)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.models import LOCAL_USER_EMAIL
from tests.accounts import add_user, auth_settings, sign_in
from tests.support import ROOT, START_TIMEOUT, ServerProcess

NO_KEY_ENV = {"RAPPORT_AUTH": "on", "RAPPORT_SECRET_KEY": ""}
RAPPORT = str(Path(sys.executable).parent / "rapport")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "OPENAI_"))}
    return {**env, "RAPPORT_DATA_DIR": str(tmp_path), **extra}


@pytest.mark.parametrize(
    "command",
    [
        [RAPPORT, "serve"],
        [RAPPORT, "users", "list"],
        # What the container image runs: uvicorn straight at the ASGI app.
        [sys.executable, "-m", "uvicorn", "app.asgi:app", "--port", "1"],
    ],
    ids=["serve", "users", "uvicorn"],
)
def test_accounts_on_without_a_secret_key_is_one_line_with_the_fix(
    tmp_path: Path, command: list[str]
) -> None:
    done = subprocess.run(command, cwd=ROOT, env=_env(tmp_path, **NO_KEY_ENV),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert lines[0].startswith("error: RAPPORT_AUTH=on needs a secret key")
    assert "RAPPORT_SECRET_KEY" in lines[0] and "secrets.token_urlsafe" in lines[0]


def test_a_bad_value_names_its_variable(tmp_path: Path) -> None:
    done = subprocess.run([RAPPORT, "users", "list"], cwd=ROOT,
                          env=_env(tmp_path, RAPPORT_MAX_TURN_CHARS="lots"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "RAPPORT_MAX_TURN_CHARS (got 'lots')" in done.stderr


def _llm_without_key(tmp_path: Path, db_url: str) -> Settings:
    # RAPPORT_LLM_BASE_URL unset: OpenAI itself, which needs a key.
    return Settings(data_dir=tmp_path, database_url=db_url, stream_delay=0, engine="llm",
                    llm_api_key=None, llm_base_url=None)


def test_llm_without_a_key_tells_the_student_plainly_and_the_operator_the_fix(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("RAPPORT_LLM_API_KEY", raising=False)
    caplog.set_level(logging.WARNING, logger="rapport")
    with TestClient(create_app(_llm_without_key(tmp_path, db_url))) as client:
        sid = client.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()["id"]
        answer = client.post(f"/api/sessions/{sid}/turns", json={"text": "How are you?"},
                             headers={"Accept": "text/event-stream"})
        events = [block for block in answer.text.split("\n\n") if block.startswith("event: error")]
        assert events, answer.text
        error = json.loads(events[0].split("data: ", 1)[1])
        # The student: a plain sentence, no setting names, no server addresses.
        assert "course team" in error["message"]
        assert "RAPPORT_" not in error["message"] and "API key" not in error["message"]
        assert error["retryable"] is False
        # The page: the same plain words (the session page renders nothing else).
        plain = client.post(f"/api/sessions/{sid}/retry").json()
        assert "RAPPORT_" not in plain["detail"]
        # The operator: the fix in the log ...
        logged = " ".join(r.getMessage() for r in caplog.records)
        assert "RAPPORT_LLM_API_KEY" in logged
        # ... and on the readiness probe.
        ready = client.get("/healthz/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert "RAPPORT_LLM_API_KEY" in ready.json()["checks"]["models"]["llm"]["detail"]


def test_fresh_accounts_on_admin_list_has_no_local_student(tmp_path: Path, db_url: str) -> None:
    with TestClient(create_app(auth_settings(tmp_path, db_url))) as started:
        add_user(started.app, "root@example.org", role="admin")
        admin = sign_in(started.app, "root@example.org")
        page = admin.get("/admin/users")
        assert page.status_code == 200
        assert "root@example.org" in page.text
        assert "Local student" not in page.text and LOCAL_USER_EMAIL not in page.text


def test_a_test_server_keeps_its_start_up_log(server_env: dict[str, str]) -> None:
    server = ServerProcess(env=server_env).start()
    try:
        log = server.log_path.read_text()
    finally:
        server.stop()
    assert "Application startup complete" in log
    assert START_TIMEOUT >= 90
