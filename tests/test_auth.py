"""Accounts: settings, sign-in and out, the cookie, CSRF, rate limiting, expiry and resets."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session, select

from app.config import Settings
from app.main import create_app
from app.models import AuthSession, User, utcnow
from app.services import services_of
from tests.accounts import (
    PASSWORD,
    PERSONA,
    SECRET,
    FakeClock,
    add_user,
    auth_settings,
    sign_in,
)


@pytest.fixture
def app(tmp_path: Path, db_url: str):
    """A started app with accounts on (the fixture's client keeps its lifespan running)."""
    application = create_app(auth_settings(tmp_path, db_url))
    with TestClient(application):
        yield application


@pytest.fixture
def anon(app) -> Iterator[TestClient]:
    yield TestClient(app)


def _csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, "the form has no CSRF field"
    return found.group(1)


# ---- settings ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "changethis", "short-key"])
def test_accounts_refuse_a_missing_or_placeholder_secret_and_say_how_to_set_one(key) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(auth="on", secret_key=key)
    assert "RAPPORT_SECRET_KEY" in str(caught.value)
    assert "secrets.token_urlsafe" in str(caught.value)


def test_accounts_are_off_by_default_and_a_secret_is_then_optional() -> None:
    assert Settings().auth == "off"
    assert Settings(auth="on", secret_key=SECRET).auth == "on"


def test_with_accounts_off_there_is_nothing_to_sign_in_to(client: TestClient) -> None:
    answer = client.post("/api/auth/login", json={"email": "a@b.c", "password": "x" * 12})
    assert answer.status_code == 404
    assert "RAPPORT_AUTH=on" in answer.json()["detail"]
    assert client.get("/api/auth/me").json()["accounts"] == "off"
    assert client.get("/desk").status_code == 403  # the desk needs accounts, and says so


# ---- signing in -------------------------------------------------------------------------


def test_signed_out_visitors_get_401_from_the_api_and_the_sign_in_page_for_pages(anon) -> None:
    assert anon.get("/api/sessions").status_code == 401
    page = anon.get("/history", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fhistory"
    assert anon.get("/healthz").status_code == 200
    assert anon.get("/login").status_code == 200
    assert anon.get("/static/app.css").status_code == 200


def test_json_sign_in_sets_an_httponly_samesite_cookie_and_returns_the_csrf_token(app) -> None:
    user = add_user(app, "ana@example.org")
    client = TestClient(app)
    wrong = client.post("/api/auth/login", json={"email": user.email, "password": "wrong" * 3})
    assert wrong.status_code == 401
    assert "do not match" in wrong.json()["detail"]
    answer = client.post("/api/auth/login",
                         json={"email": "ANA@example.org ", "password": PASSWORD})
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("rapport_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http, cookie_secure unset
    body = answer.json()
    assert body["user"] == {"id": user.id, "email": "ana@example.org", "name": "Ana",
                            "role": "student"}
    assert "password" not in str(body)
    client.headers["X-CSRF-Token"] = body["csrf_token"]
    me = client.get("/api/auth/me").json()
    assert me["user"]["email"] == "ana@example.org" and me["csrf_token"] == body["csrf_token"]
    assert client.post("/api/sessions", json={"persona_id": PERSONA}).status_code == 201


def test_the_cookie_is_secure_over_https_or_when_configured(app, tmp_path, db_url) -> None:
    add_user(app, "ana@example.org")
    https = TestClient(app, base_url="https://testserver")
    answer = https.post("/api/auth/login", json={"email": "ana@example.org", "password": PASSWORD})
    assert "Secure" in answer.headers["set-cookie"]
    forced = create_app(auth_settings(tmp_path, db_url, cookie_secure=True))
    with TestClient(forced) as client:
        answer = client.post("/api/auth/login",
                             json={"email": "ana@example.org", "password": PASSWORD})
        assert "Secure" in answer.headers["set-cookie"]


def test_the_sign_in_form_goes_where_the_visitor_was_heading_and_never_off_site(app) -> None:
    add_user(app, "ana@example.org")
    client = TestClient(app)
    page = client.get("/login?next=/progress")
    token = _csrf_from(page.text)
    done = client.post("/login", data={"email": "ana@example.org", "password": PASSWORD,
                                       "next": "/progress", "csrf_token": token},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/progress"
    assert client.get("/progress").status_code == 200
    other = TestClient(app)
    token = _csrf_from(other.get("/login").text)
    done = other.post("/login", data={"email": "ana@example.org", "password": PASSWORD,
                                      "next": "//evil.example/x", "csrf_token": token},
                      follow_redirects=False)
    assert done.headers["location"] == "/"


def test_a_wrong_password_on_the_form_shows_the_form_again(app) -> None:
    add_user(app, "ana@example.org")
    client = TestClient(app)
    token = _csrf_from(client.get("/login").text)
    again = client.post("/login", data={"email": "ana@example.org", "password": "nope" * 3,
                                        "csrf_token": token})
    assert again.status_code == 401
    assert "do not match" in again.text and 'value="ana@example.org"' in again.text


def test_deactivated_and_passwordless_accounts_cannot_sign_in(app) -> None:
    add_user(app, "nopass@example.org", password=None)
    client = TestClient(app)
    answer = client.post("/api/auth/login", json={"email": "nopass@example.org", "password": "x"})
    assert answer.status_code == 401
    user = add_user(app, "gone@example.org")
    admin = add_user(app, "admin@example.org", role="admin")
    assert admin.id
    session = sign_in(app, "gone@example.org")
    boss = sign_in(app, "admin@example.org")
    html = boss.get("/admin/users").text
    assert boss.post(f"/admin/users/{user.id}/active", data={"active": "0"}).status_code == 200
    assert session.get("/api/sessions").status_code == 401  # signed out at once
    answer = client.post("/api/auth/login", json={"email": "gone@example.org",
                                                   "password": PASSWORD})
    assert answer.status_code == 401
    assert "gone@example.org" in html


# ---- signing out and expiry -------------------------------------------------------------


def test_signing_out_ends_the_session_on_the_server_not_just_in_the_browser(app) -> None:
    add_user(app, "ana@example.org")
    client = sign_in(app, "ana@example.org")
    stolen = dict(client.cookies)
    assert client.post("/api/auth/logout").json() == {"status": "signed_out"}
    assert client.get("/api/sessions").status_code == 401
    replay = TestClient(app, cookies=stolen)
    assert replay.get("/api/sessions").status_code == 401


def test_the_sign_out_button_needs_the_csrf_token(app) -> None:
    add_user(app, "ana@example.org")
    client = sign_in(app, "ana@example.org")
    del client.headers["X-CSRF-Token"]
    assert client.post("/logout").status_code == 403
    token = _csrf_from(client.get("/history").text)
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/api/sessions").status_code == 401


def _age(app, *, created: timedelta | None = None, seen: timedelta | None = None) -> None:
    with Session(services_of(app).db_engine) as db:
        for record in db.exec(select(AuthSession)).all():
            if created is not None:
                record.expires_at = utcnow() - created
            if seen is not None:
                record.last_seen_at = utcnow() - seen
            db.add(record)
        db.commit()


def test_a_sign_in_expires_after_its_maximum_age(app) -> None:
    add_user(app, "ana@example.org")
    client = sign_in(app, "ana@example.org")
    assert client.get("/api/sessions").status_code == 200
    _age(app, created=timedelta(seconds=1))
    page = client.get("/history", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["set-cookie"].startswith('rapport_session=""')  # the dead cookie goes
    assert client.get("/api/sessions").status_code == 401


def test_a_sign_in_expires_after_being_idle_too_long(tmp_path: Path, db_url: str) -> None:
    clock = FakeClock()
    app = create_app(auth_settings(tmp_path, db_url), clock=clock)
    with TestClient(app):
        add_user(app, "ana@example.org")
        client = sign_in(app, "ana@example.org")
        idle = services_of(app).settings.session_idle_timeout
        clock.advance(59)  # a request the last-seen time does not record (written each minute)
        assert client.get("/api/sessions").status_code == 200
        clock.advance(idle - 30)  # idle for less than the timeout since that request
        assert client.get("/api/sessions").status_code == 200, "signed out early"
        clock.advance(idle + 61)  # certainly idle for longer than the timeout
        assert client.get("/api/sessions").status_code == 401


def test_an_old_signed_cookie_is_refused_even_if_its_record_lives(app, monkeypatch) -> None:
    add_user(app, "ana@example.org")
    client = sign_in(app, "ana@example.org")
    max_age = services_of(app).settings.session_max_age
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + max_age + 5)
    assert client.get("/api/sessions").status_code == 401


def test_a_forged_cookie_signs_no_one_in(app) -> None:
    add_user(app, "ana@example.org")
    client = sign_in(app, "ana@example.org")
    value = client.cookies["rapport_session"]
    forged = TestClient(app, cookies={"rapport_session": value[:-3] + "abc"})
    assert forged.get("/api/sessions").status_code == 401


# ---- CSRF ---------------------------------------------------------------------------------


def test_state_changing_calls_with_the_cookie_need_the_csrf_token(app) -> None:
    add_user(app, "ana@example.org")
    client = sign_in(app, "ana@example.org")
    token = client.headers.pop("X-CSRF-Token")
    refused = client.post("/api/sessions", json={"persona_id": PERSONA})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = client.post("/api/sessions", json={"persona_id": PERSONA},
                        headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    ok = client.post("/api/sessions", json={"persona_id": PERSONA},
                     headers={"X-CSRF-Token": token})
    assert ok.status_code == 201
    # A form post carries it as a field instead.
    form = client.post("/sessions", data={"persona_id": PERSONA}, follow_redirects=False)
    assert form.status_code == 403
    form = client.post("/sessions", data={"persona_id": PERSONA, "csrf_token": token},
                       follow_redirects=False)
    assert form.status_code == 303


def test_the_csrf_token_is_bound_to_one_sign_in(app) -> None:
    add_user(app, "ana@example.org")
    add_user(app, "ben@example.org")
    ana = sign_in(app, "ana@example.org")
    ben = sign_in(app, "ben@example.org")
    assert ana.headers["X-CSRF-Token"] != ben.headers["X-CSRF-Token"]
    crossed = ana.post("/api/sessions", json={"persona_id": PERSONA},
                       headers={"X-CSRF-Token": ben.headers["X-CSRF-Token"]})
    assert crossed.status_code == 403


def test_requests_from_another_site_are_refused_even_with_the_token(app) -> None:
    add_user(app, "ana@example.org")
    client = sign_in(app, "ana@example.org")
    refused = client.post("/api/sessions", json={"persona_id": PERSONA},
                          headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    same = client.post("/api/sessions", json={"persona_id": PERSONA},
                       headers={"Origin": "http://testserver"})
    assert same.status_code == 201


def test_the_sign_in_form_itself_is_csrf_protected(app) -> None:
    add_user(app, "ana@example.org")
    client = TestClient(app)
    client.get("/login")  # the browser now holds the anonymous CSRF cookie
    refused = client.post("/login", data={"email": "ana@example.org", "password": PASSWORD})
    assert refused.status_code == 403


def test_pages_carry_the_csrf_token_for_scripts_and_forms(app) -> None:
    add_user(app, "ana@example.org")
    client = sign_in(app, "ana@example.org")
    html = client.get("/").text
    meta = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', html)
    assert meta and meta.group(1) == client.headers["X-CSRF-Token"]
    assert _csrf_from(html) == meta.group(1)


# ---- rate limiting --------------------------------------------------------------------------


def test_failed_sign_ins_are_limited_per_email_and_address(app) -> None:
    add_user(app, "ana@example.org")
    add_user(app, "ben@example.org")
    limit = services_of(app).settings.login_rate_limit
    client = TestClient(app, client=("203.0.113.5", 5000))
    for _ in range(limit):
        answer = client.post("/api/auth/login", json={"email": "ana@example.org",
                                                      "password": "wrong password"})
        assert answer.status_code == 401
    blocked = client.post("/api/auth/login", json={"email": "ana@example.org",
                                                   "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert "Try again" in blocked.json()["detail"]
    # Another account from the same address, and the same account from elsewhere, still work.
    assert client.post("/api/auth/login", json={"email": "ben@example.org",
                                                "password": PASSWORD}).status_code == 200
    elsewhere = TestClient(app, client=("198.51.100.7", 5000))
    assert elsewhere.post("/api/auth/login", json={"email": "ana@example.org",
                                                   "password": PASSWORD}).status_code == 200


def test_the_limit_lifts_when_the_window_has_passed(tmp_path: Path, db_url: str) -> None:
    clock = FakeClock()
    settings = auth_settings(tmp_path, db_url, login_rate_limit=2, login_rate_window=60)
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        add_user(app, "ana@example.org")
        for _ in range(2):
            client.post("/api/auth/login", json={"email": "ana@example.org", "password": "no"})
        clock.advance(59)
        refused = client.post("/api/auth/login", json={"email": "ana@example.org",
                                                       "password": PASSWORD})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) <= 2
        clock.advance(2)
        assert client.post("/api/auth/login", json={"email": "ana@example.org",
                                                    "password": PASSWORD}).status_code == 200


def test_the_limit_is_shared_through_the_database_by_every_worker(app, tmp_path, db_url) -> None:
    add_user(app, "ana@example.org")
    second_worker = create_app(auth_settings(tmp_path, db_url))
    with TestClient(second_worker) as other:
        for _ in range(services_of(app).settings.login_rate_limit):
            other.post("/api/auth/login", json={"email": "ana@example.org", "password": "no"})
    answer = TestClient(app).post("/api/auth/login",
                                  json={"email": "ana@example.org", "password": PASSWORD})
    assert answer.status_code == 429


# ---- passwords at rest --------------------------------------------------------------------


def test_passwords_are_stored_only_as_argon2_hashes(app) -> None:
    add_user(app, "ana@example.org")
    sign_in(app, "ana@example.org")
    with Session(services_of(app).db_engine) as db:
        user = db.exec(select(User).where(User.email == "ana@example.org")).one()
    assert user.password_hash and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_weak_passwords_are_refused_with_the_rule(app) -> None:
    from app.auth.passwords import PasswordTooWeak

    with pytest.raises(PasswordTooWeak, match="at least 10"):
        add_user(app, "ana@example.org", password="short")
