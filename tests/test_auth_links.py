"""Set-password links, first-run setup, the `rapport users`/`admin` commands, and proof that
passwords are never stored or logged in clear."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import app as cli
from app.db import build_engine
from app.main import create_app
from app.models import AuditEvent, User
from app.services import services_of
from tests.accounts import PASSWORD, SECRET, add_user, auth_settings, sign_in
from tests.support import ROOT, ServerProcess

NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
def app(tmp_path: Path, db_url: str):
    application = create_app(auth_settings(tmp_path, db_url))
    with TestClient(application):
        yield application


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found
    return found.group(1)


def test_an_admin_reset_link_sets_a_new_password_once_and_signs_out_the_old_sessions(app):
    add_user(app, "admin@example.org", role="admin")
    student = add_user(app, "ana@example.org")
    old = sign_in(app, "ana@example.org")
    admin = sign_in(app, "admin@example.org")
    page = admin.post(f"/admin/users/{student.id}/reset")
    assert page.status_code == 200
    link = re.search(r'data-testid="one-time-link">([^<]+)<', page.text).group(1)
    path = "/" + link.split("/", 3)[3]
    visitor = TestClient(app)
    form = visitor.get(path)
    assert form.status_code == 200 and "ana@example.org" in form.text
    weak = visitor.post(path, data={"password": "short", "csrf_token": _csrf(form.text)})
    assert weak.status_code == 422 and "at least 10" in weak.text
    done = visitor.post(path, data={"password": NEW_PASSWORD, "csrf_token": _csrf(form.text)},
                        follow_redirects=False)
    assert done.status_code == 303
    assert visitor.get("/api/auth/me").json()["user"]["email"] == "ana@example.org"
    assert old.get("/api/sessions").status_code == 401  # the old sign-in ended
    assert TestClient(app).get(path).status_code == 404  # the link worked once
    fresh = TestClient(app)
    assert fresh.post("/api/auth/login", json={"email": "ana@example.org",
                                               "password": PASSWORD}).status_code == 401
    sign_in(app, "ana@example.org", NEW_PASSWORD)
    with Session(services_of(app).db_engine) as db:
        actions = [e.action for e in db.exec(select(AuditEvent)).all()]
    assert "user.reset_link" in actions and "user.password" in actions


def test_admins_create_accounts_and_hand_over_a_set_password_link(app):
    add_user(app, "admin@example.org", role="admin")
    admin = sign_in(app, "admin@example.org")
    page = admin.post("/admin/users", data={"email": "New@Example.org", "name": "New Person",
                                            "role": "assessor", "cohort_id": ""})
    assert page.status_code == 200
    assert "new@example.org" in page.text and 'data-testid="one-time-link"' in page.text
    duplicate = admin.post("/admin/users", data={"email": "new@example.org", "name": "Again",
                                                 "role": "student"})
    assert duplicate.status_code == 422 and "already an account" in duplicate.text


def test_role_changes_sign_the_user_out_and_are_audited(app):
    add_user(app, "admin@example.org", role="admin")
    user = add_user(app, "ana@example.org")
    ana = sign_in(app, "ana@example.org")
    admin = sign_in(app, "admin@example.org")
    assert admin.post(f"/admin/users/{user.id}/role", data={"role": "assessor"},
                      follow_redirects=False).status_code == 303
    assert ana.get("/api/sessions").status_code == 401
    assert sign_in(app, "ana@example.org").get("/api/auth/me").json()["user"]["role"] == "assessor"
    audit = admin.get("/admin/audit?action=user.").text
    assert "user.role" in audit and "assessor" in audit


def test_the_last_admin_cannot_demote_or_deactivate_themselves(app):
    me = add_user(app, "admin@example.org", role="admin")
    admin = sign_in(app, "admin@example.org")
    answer = admin.post(f"/admin/users/{me.id}/role", data={"role": "student"})
    assert answer.status_code == 422 and "last active admin" in answer.text


def test_the_first_start_offers_a_one_time_setup_link(tmp_path, db_url, capfd):
    app = create_app(auth_settings(tmp_path, db_url))
    with TestClient(app) as client:
        printed = capfd.readouterr().err
        token = re.search(r"/setup/([A-Za-z0-9_-]+)", printed).group(1)
        form = client.get(f"/setup/{token}")
        assert form.status_code == 200
        done = client.post(f"/setup/{token}",
                           data={"email": "boss@example.org", "name": "Boss",
                                 "password": NEW_PASSWORD, "csrf_token": _csrf(form.text)},
                           follow_redirects=False)
        assert done.status_code == 303
        assert client.get("/api/auth/me").json()["user"]["role"] == "admin"
        assert TestClient(app).get(f"/setup/{token}").status_code == 404
    # With an admin in place, the next start prints no link.
    with TestClient(create_app(auth_settings(tmp_path, db_url))):
        assert "/setup/" not in capfd.readouterr().err


# ---- the command line ----------------------------------------------------------------------


def _env(tmp_path: Path, db_url: str) -> dict[str, str]:
    return {"RAPPORT_DATA_DIR": str(tmp_path), "RAPPORT_DATABASE_URL": db_url,
            "RAPPORT_AUTH": "on", "RAPPORT_SECRET_KEY": SECRET,
            "RAPPORT_PUBLIC_URL": "https://rapport.example.ac.uk"}


def test_users_create_prepares_the_database_and_reads_the_password_from_stdin(tmp_path, db_url):
    runner = CliRunner()
    env = _env(tmp_path, db_url)
    made = runner.invoke(cli, ["users", "create", "--email", "Ana@Example.org", "--name", "Ana",
                               "--role", "student", "--cohort", "MSc 2026", "--password-stdin"],
                         input=PASSWORD + "\n", env=env)
    assert made.exit_code == 0, made.output
    assert "created student ana@example.org" in made.output and "MSc 2026" in made.output
    assert PASSWORD not in made.output
    linked = runner.invoke(cli, ["users", "create", "--email", "ben@example.org", "--name",
                                 "Ben", "--role", "assessor", "--cohort", "MSc 2026"], env=env)
    assert linked.exit_code == 0
    assert "https://rapport.example.ac.uk/reset/" in linked.output
    bad = runner.invoke(cli, ["users", "create", "--email", "x@example.org", "--name", "X",
                              "--role", "wizard", "--password", "whatever-long"], env=env)
    assert bad.exit_code == 1 and "Unknown role" in bad.output
    listed = runner.invoke(cli, ["users", "list"], env=env)
    assert "ana@example.org\tstudent\tactive\tMSc 2026" in listed.output
    app = create_app(auth_settings(tmp_path, db_url))
    with TestClient(app):
        sign_in(app, "ana@example.org")
    reset = runner.invoke(cli, ["users", "reset-password", "--email", "ana@example.org",
                                "--password-stdin"], input=NEW_PASSWORD + "\n", env=env)
    assert reset.exit_code == 0 and "password changed" in reset.output
    with TestClient(app):
        sign_in(app, "ana@example.org", NEW_PASSWORD)


def test_admin_bootstrap_makes_the_first_admin_once(tmp_path, db_url):
    runner = CliRunner()
    env = _env(tmp_path, db_url)
    link = runner.invoke(cli, ["admin", "bootstrap"], env=env)
    assert link.exit_code == 0 and "https://rapport.example.ac.uk/setup/" in link.output
    made = runner.invoke(cli, ["admin", "bootstrap", "--email", "boss@example.org",
                               "--password-stdin"], input=NEW_PASSWORD + "\n", env=env)
    assert made.exit_code == 0 and "created admin boss@example.org" in made.output
    again = runner.invoke(cli, ["admin", "bootstrap", "--email", "two@example.org"], env=env)
    assert again.exit_code == 1 and "admin exists already" in again.output


# ---- passwords never in clear ---------------------------------------------------------------


def _database_text(db_url: str, data_dir: Path) -> str:
    """Every row of every table as text, plus the SQLite files' raw bytes."""
    from app.config import Settings

    engine = build_engine(Settings(data_dir=data_dir, database_url=db_url))
    parts: list[str] = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                parts.append(repr(tuple(row)))
    engine.dispose()
    if db_url.startswith("sqlite"):
        for path in data_dir.glob("rapport.db*"):
            parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)


@pytest.mark.slow
def test_passwords_are_never_stored_or_logged_in_clear(tmp_path, db_url, caplog):
    secret_one, secret_two, wrong = "Pw-one-never-logged-9", "Pw-two-never-logged-8", "Pw-wrong-7"
    caplog.set_level(logging.DEBUG)
    env = {**_env(tmp_path, db_url)}
    created = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", "users", "create", "--email",
         "ana@example.org", "--name", "Ana", "--role", "admin", "--password-stdin"],
        input=secret_one + "\n", capture_output=True, text=True, cwd=ROOT,
        env={**__import__("os").environ, **env}, check=True,
    )
    server = ServerProcess(env={**env, "RAPPORT_STREAM_DELAY": "0"}).start()
    try:
        with httpx.Client(base_url=server.url) as browser:
            assert browser.post("/api/auth/login", json={"email": "ana@example.org",
                                                         "password": wrong}).status_code == 401
            answer = browser.post("/api/auth/login", json={"email": "ana@example.org",
                                                           "password": secret_one})
            assert answer.status_code == 200
            browser.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
            form = browser.get("/account").text
            changed = browser.post("/account/password",
                                   data={"current": secret_one, "password": secret_two,
                                         "csrf_token": _csrf(form)})
            assert changed.status_code in (200, 303)
    finally:
        server.stop()
    # In-process too, so Python logging at DEBUG level is captured.
    app = create_app(auth_settings(tmp_path, db_url))
    with TestClient(app):
        client = TestClient(app)
        client.post("/api/auth/login", json={"email": "ana@example.org", "password": wrong})
        sign_in(app, "ana@example.org", secret_two)
    logs = server.log_path.read_text() + created.stdout + created.stderr + caplog.text
    stored = _database_text(db_url, tmp_path)
    for secret in (secret_one, secret_two, wrong):
        assert secret not in logs
        assert secret not in stored
    with Session(build_engine(services_of(app).settings)) as db:
        user = db.exec(select(User).where(User.email == "ana@example.org")).one()
    assert user.password_hash.startswith("$argon2id$")


def test_changing_your_own_password_needs_the_current_one_and_ends_other_sign_ins(app):
    add_user(app, "ana@example.org")
    here, elsewhere = sign_in(app, "ana@example.org"), sign_in(app, "ana@example.org")
    wrong = here.post("/account/password", data={"current": "not it at all",
                                                  "password": NEW_PASSWORD})
    assert wrong.status_code == 422 and "current password is not right" in wrong.text
    done = here.post("/account/password", data={"current": PASSWORD, "password": NEW_PASSWORD},
                     follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/account?changed=1"
    assert "Your password was changed." in here.get(done.headers["location"]).text
    assert elsewhere.get("/api/sessions").status_code == 401
    sign_in(app, "ana@example.org", NEW_PASSWORD)
