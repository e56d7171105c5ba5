"""Every route × every role, with other users' ids: who is let in and who is refused.

The table below must name every route of the app: a route added without a row here fails
`test_every_route_is_in_the_matrix`, so nobody can add an endpoint without deciding who may
use it. Refusals of someone else's session are 404s, indistinguishable from unknown ids.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from app.config import PROJECT_ROOT
from app.main import create_app
from app.services import services_of
from tests.accounts import (
    PASSWORD,
    PERSONA,
    add_cohort,
    add_user,
    auth_settings,
    hold_session,
    sign_in,
)
from tests.support import database_url

ROLES = ("owner", "peer", "outsider", "assessor", "other_assessor", "trainer", "admin", "anon")
SIGNED_IN = ROLES[:-1]

OK, LOGIN, FORBIDDEN, HIDDEN = "ok", "login", 403, 404
SPARE = "denise-grief"


def expect(default, **per_role) -> dict[str, object]:
    """Outcomes per role: `default` for the signed-in roles unless named; anon must sign in."""
    table = {role: default for role in SIGNED_IN}
    table["anon"] = LOGIN
    table.update(per_role)
    return table


ANY = expect(OK)
PUBLIC = expect(OK, anon=OK)
OWNER_ONLY = expect(HIDDEN, owner=OK)
READERS = expect(HIDDEN, owner=OK, assessor=OK, admin=OK)
REVIEWERS = expect(FORBIDDEN, assessor=OK, admin=OK, other_assessor=HIDDEN)
DESK = expect(FORBIDDEN, assessor=OK, other_assessor=OK, admin=OK)
DESK_COHORT = expect(FORBIDDEN, assessor=OK, other_assessor=HIDDEN, admin=OK)
ADMIN = expect(FORBIDDEN, admin=OK)
TRAINER = expect(FORBIDDEN, trainer=OK, admin=OK)


@dataclass
class World:
    """The app, one client per role, and the ids the requests aim at."""

    app: object
    clients: dict[str, TestClient]
    emails: dict[str, str]
    users: dict[str, int]
    cohort_a: int
    cohort_b: int
    session: str  # the owner's ended, graded session with a released review
    counter: Iterator[int] = field(default_factory=itertools.count)

    def client(self, role: str, *, fresh: bool = False) -> TestClient:
        if role == "anon":
            return TestClient(self.app)
        if fresh:
            return sign_in(self.app, self.emails[role])
        return self.clients[role]

    def fresh_session(self, *, end: bool) -> str:
        return hold_session(self.clients["owner"], end=end, lines=["How are you feeling today?"])

    def throwaway_user(self) -> int:
        return add_user(self.app, f"spare{next(self.counter)}@example.org").id

    def reset_token(self) -> str:
        from sqlmodel import Session

        from app.auth.links import issue_reset
        from app.models import User
        from tests.accounts import TEST_ACTOR

        with Session(services_of(self.app).db_engine) as db:
            user = db.get(User, self.throwaway_user())
            return issue_reset(db=db, user=user, actor=TEST_ACTOR)


@dataclass(frozen=True)
class Case:
    """How to call one route, and what each role should get."""

    outcomes: dict[str, object]
    build: Callable[[World, str], tuple[str, dict]] | None = None
    path: str | None = None
    fresh_client: bool = False


def _form(w: World, data: dict | None = None) -> dict:
    return {"data": data or {}}


def _login_body(w: World, role: str) -> dict:
    email = w.emails.get(role, w.emails["owner"])
    return {"json": {"email": email, "password": PASSWORD}}


def _transcript() -> dict:
    return {"id": "t-1", "persona_id": PERSONA,
            "turns": [{"speaker": "client", "text": "I'm not sure why I'm here."},
                      {"speaker": "counsellor", "text": "It sounds like part of you is unsure."}]}


def _persona_yaml(w: World) -> str:
    folder = services_of(w.app).settings.personas_dir
    return (folder / f"{PERSONA}.yaml").read_text(encoding="utf-8")


def _session(w: World, role: str) -> str:
    return w.session


def _fresh_ended(w: World, role: str) -> str:
    return w.fresh_session(end=True)


def _fresh_active(w: World, role: str) -> str:
    return w.fresh_session(end=False)


def _compare(w: World, role: str) -> tuple[str, dict]:
    """The owner's released session beside a fresh graded one with the same client."""
    return f"/progress/compare?first={w.session}&second={w.fresh_session(end=True)}", {}


def _trainers_test_drive(w: World, role: str) -> tuple[str, dict]:
    """The grade page of a test-drive the trainer ended."""
    from sqlmodel import Session

    from app.models import TestDrive

    with Session(services_of(w.app).db_engine) as db:
        kept = TestDrive(id=f"drive{next(w.counter)}", author_id=w.users["trainer"],
                         text=_persona_yaml(w), said=["What brings you in today?"])
        db.add(kept)
        db.commit()
        return f"/trainer/test-drive/{kept.id}", {}


def on(path: str, outcomes, *, sid=None, body=None, fresh_client=False) -> Case:
    """A case whose path may contain {sid}, {cohort_a}, {cohort_b}, {user}, {token}."""

    def build(w: World, role: str) -> tuple[str, dict]:
        values = {"cohort_a": w.cohort_a, "cohort_b": w.cohort_b}
        if "{sid}" in path:
            values["sid"] = (sid or _session)(w, role)
        if "{user}" in path:
            values["user"] = w.throwaway_user()
        if "{token}" in path:
            values["token"] = w.reset_token()
        if "{spare_cohort}" in path:  # renamed or deleted: never one the other rows use
            values["spare_cohort"] = add_cohort(w.app, f"Spare {next(w.counter)}").id
        return path.format(**values), (body(w, role) if body else {})

    return Case(outcomes=outcomes, build=build, path=path, fresh_client=fresh_client)


MATRIX: dict[tuple[str, str], Case] = {
    ("GET", "/openapi.json"): on("/openapi.json", ANY),
    ("GET", "/docs"): on("/docs", ANY),
    ("GET", "/docs/oauth2-redirect"): on("/docs/oauth2-redirect", ANY),
    ("GET", "/redoc"): on("/redoc", ANY),
    ("POST", "/api/auth/login"): on("/api/auth/login", PUBLIC, body=_login_body,
                                    fresh_client=True),
    ("POST", "/api/auth/logout"): on("/api/auth/logout", PUBLIC, fresh_client=True),
    ("GET", "/api/auth/me"): on("/api/auth/me", ANY),
    ("GET", "/login"): on("/login", PUBLIC),
    ("POST", "/login"): on("/login", PUBLIC, fresh_client=True,
                           body=lambda w, r: {"data": {**_login_body(w, r)["json"]}}),
    ("POST", "/logout"): on("/logout", PUBLIC, fresh_client=True),
    # Once an admin exists, setup links are dead for everyone.
    ("GET", "/setup/{token}"): on("/setup/not-a-live-token", expect(HIDDEN, anon=HIDDEN)),
    ("POST", "/setup/{token}"): on("/setup/not-a-live-token", expect(422, anon=422),
                                   body=lambda w, r: _form(w, {"email": "x@example.org",
                                                               "name": "X",
                                                               "password": PASSWORD})),
    # A set-password link is its own credential: whoever holds it may use it (once).
    ("GET", "/reset/{token}"): on("/reset/{token}", PUBLIC),
    ("POST", "/reset/{token}"): on("/reset/{token}", PUBLIC, fresh_client=True,
                                   body=lambda w, r: _form(w, {"password": PASSWORD})),
    ("GET", "/account"): on("/account", ANY),
    # Signed-in users reach the form handler (which refuses the wrong current password).
    ("POST", "/account/password"): on("/account/password", expect(422), body=lambda w, r: _form(
        w, {"current": "not my password", "password": PASSWORD})),
    ("GET", "/healthz"): on("/healthz", PUBLIC),
    ("GET", "/healthz/live"): on("/healthz/live", PUBLIC),
    ("GET", "/healthz/ready"): on("/healthz/ready", PUBLIC),
    ("GET", "/metrics"): on("/metrics", PUBLIC),
    ("GET", "/favicon.ico"): on("/favicon.ico", PUBLIC),
    ("GET", "/api/personas"): on("/api/personas", ANY),
    ("GET", "/api/personas/{persona_id}"): on(f"/api/personas/{PERSONA}", ANY),
    ("POST", "/api/sessions"): on("/api/sessions", ANY,
                                  body=lambda w, r: {"json": {"persona_id": PERSONA}}),
    ("GET", "/api/sessions"): on("/api/sessions", ANY),
    ("GET", "/api/sessions/{session_id}"): on("/api/sessions/{sid}", READERS),
    ("POST", "/api/sessions/{session_id}/end"): on("/api/sessions/{sid}/end", OWNER_ONLY,
                                                   sid=_fresh_active),
    ("POST", "/api/sessions/{session_id}/turns"): on(
        "/api/sessions/{sid}/turns", OWNER_ONLY, sid=_fresh_active,
        body=lambda w, r: {"json": {"text": "What brings you here today?"}}),
    ("POST", "/api/sessions/{session_id}/retry"): on("/api/sessions/{sid}/retry", OWNER_ONLY,
                                                     sid=_fresh_active),
    ("GET", "/"): on("/", ANY),
    ("POST", "/sessions"): on("/sessions", ANY,
                              body=lambda w, r: _form(w, {"persona_id": PERSONA})),
    ("GET", "/sessions/{session_id}"): on("/sessions/{sid}", OWNER_ONLY),
    ("POST", "/sessions/{session_id}/end"): on("/sessions/{sid}/end", OWNER_ONLY,
                                               sid=_fresh_active),
    ("GET", "/history"): on("/history", ANY),
    # Discarding is the owner's alone (an admin too is told 404); comparing, of one's own.
    ("GET", "/sessions/{session_id}/discard"): on("/sessions/{sid}/discard", OWNER_ONLY,
                                                  sid=_fresh_active),
    ("POST", "/sessions/{session_id}/discard"): on("/sessions/{sid}/discard", OWNER_ONLY,
                                                   sid=_fresh_active, body=lambda w, r: _form(w)),
    ("GET", "/progress/compare"): Case(outcomes=OWNER_ONLY, build=_compare,
                                       path="/progress/compare"),
    ("GET", "/sessions/{session_id}/transcript"): on("/sessions/{sid}/transcript", READERS),
    ("MOUNT", "/static"): on("/static/app.css", PUBLIC),
    ("GET", "/api/rubrics"): on("/api/rubrics", ANY),
    ("GET", "/api/rubrics/{rubric_id}"): on("/api/rubrics/core-conditions", ANY),
    ("POST", "/api/sessions/{session_id}/grade"): on("/api/sessions/{sid}/grade", READERS),
    ("GET", "/api/sessions/{session_id}/grades"): on("/api/sessions/{sid}/grades", READERS),
    ("POST", "/sessions/{session_id}/grade"): on("/sessions/{sid}/grade", READERS,
                                                 body=lambda w, r: _form(w)),
    ("GET", "/sessions/{session_id}/report"): on("/sessions/{sid}/report", READERS),
    # The student's own reflection before the grade, and stepping out of a session.
    ("GET", "/sessions/{session_id}/reflect"): on("/sessions/{sid}/reflect", OWNER_ONLY),
    ("POST", "/sessions/{session_id}/reflect"): on("/sessions/{sid}/reflect", OWNER_ONLY,
                                                   body=lambda w, r: _form(w)),
    ("POST", "/api/sessions/{session_id}/self-rating"): on(
        "/api/sessions/{sid}/self-rating", OWNER_ONLY,
        body=lambda w, r: {"json": {"ratings": {}, "answers": {}}}),
    ("POST", "/sessions/{session_id}/step-out"): on("/sessions/{sid}/step-out", OWNER_ONLY,
                                                    sid=_fresh_active,
                                                    body=lambda w, r: _form(w)),
    ("POST", "/api/sessions/{session_id}/step-out"): on("/api/sessions/{sid}/step-out",
                                                        OWNER_ONLY, sid=_fresh_active),
    ("GET", "/sessions/{session_id}/stepped-out"): on("/sessions/{sid}/stepped-out", READERS),
    # A course of sessions: only the student books the next one; readers see the debrief
    # and the course; coach mode is the student's switch.
    ("GET", "/api/sessions/{session_id}/next"): on("/api/sessions/{sid}/next", OWNER_ONLY),
    ("POST", "/api/sessions/{session_id}/next"): on("/api/sessions/{sid}/next", OWNER_ONLY,
                                                    sid=_fresh_ended,
                                                    body=lambda w, r: {"json": {}}),
    ("POST", "/sessions/{session_id}/next"): on("/sessions/{sid}/next", OWNER_ONLY,
                                                sid=_fresh_ended, body=lambda w, r: _form(w)),
    ("GET", "/api/sessions/{session_id}/debrief"): on("/api/sessions/{sid}/debrief", READERS),
    ("GET", "/api/sessions/{session_id}/course"): on("/api/sessions/{sid}/course", READERS),
    ("GET", "/sessions/{session_id}/course"): on("/sessions/{sid}/course", READERS),
    ("GET", "/sessions/{session_id}/course.pdf"): on("/sessions/{sid}/course.pdf", READERS),
    ("POST", "/api/sessions/{session_id}/coach"): on("/api/sessions/{sid}/coach", OWNER_ONLY,
                                                     sid=_fresh_active,
                                                     body=lambda w, r: {"json": {"on": True}}),
    ("GET", "/api/desk/queue"): on("/api/desk/queue", DESK),
    ("GET", "/api/desk/sessions/{session_id}"): on("/api/desk/sessions/{sid}", REVIEWERS),
    ("PUT", "/api/desk/sessions/{session_id}/review"): on(
        "/api/desk/sessions/{sid}/review", REVIEWERS, sid=_fresh_ended,
        body=lambda w, r: {"json": {"marks": [], "comment": "Draft"}}),
    ("POST", "/api/desk/sessions/{session_id}/notes"): on(
        "/api/desk/sessions/{sid}/notes", REVIEWERS, sid=_fresh_ended,
        body=lambda w, r: {"json": {"turn": 1, "text": "A note"}}),
    ("POST", "/api/desk/sessions/{session_id}/release"): on(
        "/api/desk/sessions/{sid}/release", REVIEWERS, sid=_fresh_ended),
    # The world's session is released: its marker (and an admin) amends it, with a new comment.
    ("POST", "/api/desk/sessions/{session_id}/amend"): on(
        "/api/desk/sessions/{sid}/amend", REVIEWERS,
        body=lambda w, r: {"json": {"marks": [], "comment": f"Amended {next(w.counter)}",
                                    "reason": "A second look."}}),
    ("POST", "/desk/sessions/{session_id}/amend"): on(
        "/desk/sessions/{sid}/amend", REVIEWERS,
        body=lambda w, r: _form(w, {"comment": f"Amended {next(w.counter)}",
                                    "amend_reason": "A second look."})),
    ("GET", "/api/desk/agreement"): on("/api/desk/agreement?cohort={cohort_a}", DESK_COHORT),
    ("GET", "/desk"): on("/desk", DESK),
    ("GET", "/desk/sessions/{session_id}"): on("/desk/sessions/{sid}", REVIEWERS),
    ("POST", "/desk/sessions/{session_id}/review"): on(
        "/desk/sessions/{sid}/review", REVIEWERS, sid=_fresh_ended,
        body=lambda w, r: _form(w, {"action": "save", "comment": "Draft"})),
    ("POST", "/desk/sessions/{session_id}/notes"): on(
        "/desk/sessions/{sid}/notes", REVIEWERS, sid=_fresh_ended,
        body=lambda w, r: _form(w, {"turn": "1", "text": "A note"})),
    ("GET", "/desk/agreement"): on("/desk/agreement?cohort={cohort_a}", DESK_COHORT),
    ("GET", "/desk/cohorts/{cohort_id}/grades.csv"): on("/desk/cohorts/{cohort_a}/grades.csv",
                                                        DESK_COHORT),
    ("GET", "/api/sessions/{session_id}/feedback"): on("/api/sessions/{sid}/feedback", READERS),
    ("GET", "/sessions/{session_id}/feedback"): on("/sessions/{sid}/feedback", READERS),
    ("GET", "/progress"): on("/progress", ANY),
    ("GET", "/api/progress"): on("/api/progress", ANY),
    ("GET", "/sessions/{session_id}/export.pdf"): on("/sessions/{sid}/export.pdf", READERS),
    ("GET", "/api/sessions/{session_id}/export"): on("/api/sessions/{sid}/export", READERS),
    ("POST", "/api/import"): on("/api/import", ANY, body=lambda w, r: {"json": _transcript()}),
    ("GET", "/import"): on("/import", ANY),
    ("POST", "/import"): on("/import", ANY, body=lambda w, r: {
        "files": {"transcript": ("t.json", json.dumps(_transcript()), "application/json")}}),
    ("GET", "/admin/users"): on("/admin/users", ADMIN),
    ("POST", "/admin/users"): on("/admin/users", ADMIN, body=lambda w, r: _form(w, {
        "email": f"made{next(w.counter)}@example.org", "name": "Made", "role": "student"})),
    ("POST", "/admin/users/{user_id}/role"): on("/admin/users/{user}/role", ADMIN,
                                                body=lambda w, r: _form(w, {"role": "trainer"})),
    ("POST", "/admin/users/{user_id}/cohorts"): on(
        "/admin/users/{user}/cohorts", ADMIN,
        body=lambda w, r: _form(w, {"cohort_id": str(w.cohort_b), "action": "add"})),
    ("POST", "/admin/users/{user_id}/active"): on("/admin/users/{user}/active", ADMIN,
                                                  body=lambda w, r: _form(w, {"active": "0"})),
    ("POST", "/admin/users/{user_id}/reset"): on("/admin/users/{user}/reset", ADMIN,
                                                 body=lambda w, r: _form(w)),
    ("GET", "/admin/cohorts"): on("/admin/cohorts", ADMIN),
    ("POST", "/admin/cohorts"): on("/admin/cohorts", ADMIN, body=lambda w, r: _form(w, {
        "name": f"Cohort {next(w.counter)}", "auto_grades": "immediate"})),
    ("POST", "/admin/cohorts/{cohort_id}"): on("/admin/cohorts/{cohort_b}", ADMIN,
                                               body=lambda w, r: _form(
                                                   w, {"auto_grades": "immediate"})),
    ("POST", "/admin/cohorts/{cohort_id}/rename"): on(
        "/admin/cohorts/{spare_cohort}/rename", ADMIN,
        body=lambda w, r: _form(w, {"name": f"Renamed {next(w.counter)}"})),
    ("GET", "/admin/cohorts/{cohort_id}/delete"): on("/admin/cohorts/{cohort_b}/delete", ADMIN),
    ("POST", "/admin/cohorts/{cohort_id}/delete"): on(
        "/admin/cohorts/{spare_cohort}/delete", ADMIN, body=lambda w, r: _form(w)),
    ("GET", "/admin/cohorts/{cohort_id}/import"): on("/admin/cohorts/{cohort_b}/import", ADMIN),
    ("POST", "/admin/cohorts/{cohort_id}/import"): on(
        "/admin/cohorts/{spare_cohort}/import", ADMIN, body=lambda w, r: _form(w, {
            "action": "preview", "text": f"email,name\nnew{next(w.counter)}@example.org,New\n"})),
    ("GET", "/admin/audit"): on("/admin/audit", ADMIN),
    ("GET", "/trainer"): on("/trainer", TRAINER),
    ("GET", "/trainer/personas/{persona_id}.yaml"): on(f"/trainer/personas/{PERSONA}.yaml",
                                                        TRAINER),
    ("GET", "/trainer/rubrics/{rubric_id}.yaml"): on("/trainer/rubrics/core-conditions.yaml",
                                                      TRAINER),
    ("POST", "/trainer/check"): on("/trainer/check", TRAINER, body=lambda w, r: _form(
        w, {"kind": "persona", "text": _persona_yaml(w)})),
    # The library's own file at its own version: trainers reach Save and are refused (409).
    ("POST", "/trainer/save"): on("/trainer/save", TRAINER, body=lambda w, r: _form(
        w, {"kind": "persona", "text": _persona_yaml(w)})),
    ("POST", "/trainer/test-drive"): on("/trainer/test-drive", TRAINER, body=lambda w, r: _form(
        w, {"text": _persona_yaml(w), "message": "Hi, what brings you in today?"})),
    # An ended test-drive's grade page: only the trainer who drove it (others' are unknown ids).
    ("GET", "/trainer/test-drive/{drive_id}"): Case(
        outcomes=expect(FORBIDDEN, trainer=OK, admin=HIDDEN), build=_trainers_test_drive,
        path="/trainer/test-drive/{drive_id}"),
    ("GET", "/trainer/new"): on("/trainer/new", TRAINER),
    # What the editor asks while a trainer types: the check and the schema it completes from.
    ("POST", "/trainer/check.json"): on("/trainer/check.json", TRAINER, body=lambda w, r: {
        "json": {"kind": "persona", "text": f"id: {PERSONA}\n"}}),
    ("GET", "/trainer/schemas/{kind}.json"): on("/trainer/schemas/rubric.json", TRAINER),
    ("GET", "/trainer/personas/{persona_id}.card.json"): on(
        f"/trainer/personas/{PERSONA}.card.json", TRAINER),
    ("GET", "/trainer/personas/{persona_id}.card.png"): on(
        f"/trainer/personas/{PERSONA}.card.png", TRAINER),
    ("POST", "/trainer/cards/import"): on("/trainer/cards/import", TRAINER, body=lambda w, r: _form(
        w, {"text": json.dumps({"spec": "chara_card_v3", "data": {
            "name": f"Card {next(w.counter)}", "description": "Tired."}})})),
    # A persona no other row starts sessions with: retiring it changes nothing else here.
    ("GET", "/trainer/library/{kind}/{item_id}"): on(f"/trainer/library/persona/{SPARE}",
                                                      TRAINER),
    ("GET", "/trainer/library/{kind}/{item_id}/edit"): on(
        f"/trainer/library/persona/{SPARE}/edit", TRAINER),
    ("POST", "/trainer/library/{kind}/{item_id}/publish"): on(
        f"/trainer/library/persona/{SPARE}/publish", TRAINER, body=lambda w, r: _form(w)),
    ("POST", "/trainer/library/{kind}/{item_id}/rollback"): on(
        f"/trainer/library/persona/{SPARE}/rollback", TRAINER,
        body=lambda w, r: _form(w, {"number": "0"})),
    ("POST", "/trainer/library/{kind}/{item_id}/retire"): on(
        f"/trainer/library/persona/{SPARE}/retire", TRAINER, body=lambda w, r: _form(w)),
}


def app_routes(app) -> set[tuple[str, str]]:
    """(method, path) for every route, descending into included routers; mounts as MOUNT."""

    def walk(routes, prefix: str = "") -> Iterator[tuple[str, str]]:
        for route in routes:
            if hasattr(route, "original_router"):
                inner = getattr(route.include_context, "prefix", "") or ""
                yield from walk(route.original_router.routes, prefix + inner)
            elif isinstance(route, Mount):
                yield "MOUNT", prefix + route.path
            else:
                for method in sorted(set(route.methods or ()) - {"HEAD"}):
                    yield method, prefix + route.path

    return set(walk(app.routes))


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("matrix")
    # Copies of the libraries: the trainer routes must never write the repository's files.
    folders = {"personas_dir": tmp / "personas", "rubrics_dir": tmp / "rubrics"}
    shutil.copytree(PROJECT_ROOT / "personas", folders["personas_dir"])
    shutil.copytree(PROJECT_ROOT / "rubrics", folders["rubrics_dir"])
    with database_url(tmp) as url:
        app = create_app(auth_settings(tmp, url, **folders))
        with TestClient(app):
            cohort_a = add_cohort(app, "Cohort A")
            cohort_b = add_cohort(app, "Cohort B")
            placing = {
                "owner": ("student", (cohort_a,)),
                "peer": ("student", (cohort_a,)),
                "outsider": ("student", (cohort_b,)),
                "assessor": ("assessor", (cohort_a,)),
                "other_assessor": ("assessor", (cohort_b,)),
                "trainer": ("trainer", (cohort_a,)),
                "admin": ("admin", ()),
            }
            emails, users, clients = {}, {}, {}
            for role, (kind, cohorts) in placing.items():
                email = f"{role.replace('_', '-')}@example.org"
                users[role] = add_user(app, email, role=kind, cohorts=cohorts).id
                emails[role] = email
                clients[role] = sign_in(app, email)
            sid = hold_session(clients["owner"])
            assessor = clients["assessor"]
            grade = assessor.get(f"/api/desk/sessions/{sid}").json()["grade"]
            marks = [{"criterion": c["id"], "decision": "accept"} for c in grade["criteria"]]
            assert assessor.put(f"/api/desk/sessions/{sid}/review",
                                json={"marks": marks, "comment": "Good"}).status_code == 200
            assert assessor.post(f"/api/desk/sessions/{sid}/release").status_code == 200
            yield World(app=app, clients=clients, emails=emails, users=users,
                        cohort_a=cohort_a.id, cohort_b=cohort_b.id, session=sid)


def test_every_route_is_in_the_matrix(world: World) -> None:
    routes = app_routes(world.app)
    missing = sorted(routes - set(MATRIX))
    assert not missing, f"routes with no row in the authorization matrix: {missing}"
    stale = sorted(set(MATRIX) - routes)
    assert not stale, f"matrix rows for routes that no longer exist: {stale}"


def _outcome(response, path: str) -> object:
    if response.status_code == 401:
        return LOGIN
    if response.status_code == 303 and response.headers["location"].startswith("/login?"):
        return LOGIN
    if response.status_code in (403, 404, 422):
        return response.status_code
    return OK if response.status_code < 400 or response.status_code == 409 else (
        response.status_code
    )


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_lets_in_exactly_the_roles_it_should(world: World, route) -> None:
    case = MATRIX[route]
    method = "GET" if route[0] == "MOUNT" else route[0]
    wrong: list[str] = []
    for role in ROLES:
        client = world.client(role, fresh=case.fresh_client)
        path, kwargs = case.build(world, role)
        headers = {} if path.startswith("/api/") else {"Accept": "text/html"}
        if role == "anon" and method == "POST" and "data" in kwargs:
            # A visitor's browser holds the anonymous CSRF cookie from the page with the form.
            page = client.get("/login")
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)
            kwargs = {**kwargs, "data": {**kwargs["data"], "csrf_token": token}}
        response = client.request(method, path, headers=headers, follow_redirects=False,
                                  **kwargs)
        got, want = _outcome(response, path), case.outcomes[role]
        if got != want:
            wrong.append(f"{role}: expected {want}, got {got} ({response.status_code} "
                         f"{response.text[:120]!r})")
    assert not wrong, f"{route[0]} {route[1]}:\n  " + "\n  ".join(wrong)


SESSION_READS = [
    "/api/sessions/{}", "/sessions/{}/transcript", "/api/sessions/{}/grades",
    "/sessions/{}/report", "/api/sessions/{}/feedback", "/api/sessions/{}/export",
    "/sessions/{}", "/sessions/{}/export.pdf",
]


@pytest.mark.parametrize("template", SESSION_READS)
@pytest.mark.parametrize("role", ["peer", "outsider", "other_assessor", "trainer"])
def test_someone_elses_session_looks_exactly_like_one_that_does_not_exist(
    world: World, template: str, role: str
) -> None:
    client = world.client(role)
    real = client.get(template.format(world.session))
    unknown_id = "x" * len(world.session)
    unknown = client.get(template.format(unknown_id))
    assert real.status_code == unknown.status_code == 404
    assert real.text.replace(world.session, "ID") == unknown.text.replace(unknown_id, "ID")


UNSAFE = sorted(r for r in MATRIX if r[0] in {"POST", "PUT", "PATCH", "DELETE"})


@pytest.mark.parametrize("route", UNSAFE, ids=lambda r: f"{r[0]} {r[1]}")
def test_every_state_changing_route_refuses_a_signed_in_request_without_the_csrf_token(
    world: World, route
) -> None:
    client = TestClient(world.app, cookies=world.clients["admin"].cookies)
    path, kwargs = MATRIX[route].build(world, "admin")
    response = client.request(route[0], path, follow_redirects=False, **kwargs)
    assert response.status_code == 403, response.text
    assert "CSRF" in response.text
