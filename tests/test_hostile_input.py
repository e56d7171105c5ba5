"""Hostile bytes at every route that takes text: never a 500, and a 422 that names the field.

NUL (PostgreSQL cannot store it), lone surrogates (nothing can), bidirectional overrides
(stored, shown visibly), deep nesting, huge chunked bodies and YAML bombs. The table lists
every state-changing route; a new one fails `test_the_table_covers_every_route` until added.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.accounts import add_cohort, add_user, auth_settings, hold_session, sign_in

NUL = "Hello\x00there"
SURROGATE = "Hello \ud800 there"
RTL = "I am fine \u202eenif ton ma I"


@dataclass(frozen=True)
class Route:
    """How a route takes its text: a JSON body, a form, a multipart upload, or nothing."""

    method: str
    path: str
    kind: str  # "json", "form", "multipart" or "none"
    fields: tuple[str, ...] = ()
    base: dict | None = None  # a valid body to put hostile text into


ROUTES = [
    Route("POST", "/api/auth/login", "json", ("email", "password"),
          {"email": "x@example.org", "password": "not the password"}),
    Route("POST", "/api/auth/logout", "none"),
    Route("POST", "/login", "form", ("email", "password", "next")),
    Route("POST", "/logout", "none"),
    Route("POST", "/setup/{token}", "form", ("email", "name", "password")),
    Route("POST", "/reset/{token}", "form", ("password",)),
    Route("POST", "/account/password", "form", ("current", "password")),
    Route("POST", "/api/sessions", "json", ("persona_id", "engine"),
          {"persona_id": "sam-work-stress"}),
    Route("POST", "/api/sessions/{own}/end", "none"),
    Route("POST", "/api/sessions/{own}/turns", "json", ("text", "client_message_id"),
          {"text": "What brings you here?", "client_message_id": "c-1"}),
    Route("POST", "/api/sessions/{own}/retry", "none"),
    Route("POST", "/sessions", "form", ("persona_id",)),
    Route("POST", "/sessions/{own}/end", "none"),
    Route("POST", "/sessions/{own}/reflect", "form",
          ("answer-noticed", "answer-differently", "answer-self")),
    Route("POST", "/api/sessions/{own}/self-rating", "json", ("answers",),
          {"ratings": {}, "answers": {}}),
    Route("POST", "/sessions/{own}/step-out", "none"),
    Route("POST", "/sessions/{own}/discard", "none"),
    Route("POST", "/api/sessions/{own}/step-out", "none"),
    Route("POST", "/api/sessions/{marked}/grade", "json", ("rubric_id", "engine"),
          {"rubric_id": "core-conditions"}),
    Route("POST", "/sessions/{marked}/grade", "form", ("rubric_id",)),
    Route("PUT", "/api/desk/sessions/{marked}/review", "json", ("comment",),
          {"marks": [], "comment": "Good work."}),
    Route("POST", "/api/desk/sessions/{marked}/notes", "json", ("text",),
          {"turn": 1, "text": "A note."}),
    Route("POST", "/api/desk/sessions/{marked}/release", "none"),
    Route("POST", "/desk/sessions/{marked}/review", "form", ("comment", "action")),
    Route("POST", "/api/desk/sessions/{marked}/amend", "json", ("reason", "comment"),
          {"marks": [], "comment": "Changed.", "reason": "A second look."}),
    Route("POST", "/desk/sessions/{marked}/amend", "form", ("amend_reason", "comment")),
    Route("POST", "/desk/sessions/{marked}/notes", "form", ("text", "turn")),
    Route("POST", "/api/import", "json", ("id", "persona_id"),
          {"id": "t-1", "persona_id": "sam-work-stress",
           "turns": [{"speaker": "client", "text": "Hi."},
                     {"speaker": "counsellor", "text": "What brings you here?"}]}),
    Route("POST", "/import", "multipart", ("rubric_id", "student_email", "text", "persona_id")),
    Route("POST", "/admin/users", "form", ("email", "name", "role", "cohort_id")),
    Route("POST", "/admin/users/{user}/role", "form", ("role",)),
    Route("POST", "/admin/users/{user}/cohorts", "form", ("cohort_id", "action")),
    Route("POST", "/admin/users/{user}/active", "form", ("active",)),
    Route("POST", "/admin/users/{user}/reset", "none"),
    Route("POST", "/admin/cohorts", "form", ("name", "auto_grades")),
    Route("POST", "/admin/cohorts/{cohort}", "form", ("auto_grades",)),
    Route("POST", "/admin/cohorts/{cohort}/rename", "form", ("name",)),
    Route("POST", "/admin/cohorts/{cohort}/delete", "none"),
    Route("POST", "/admin/cohorts/{cohort}/import", "multipart", ("text", "action")),
    Route("POST", "/trainer/check", "multipart", ("text", "kind")),
    Route("POST", "/trainer/save", "multipart", ("text", "kind")),
    Route("POST", "/trainer/test-drive", "form", ("text", "said", "message")),
    Route("POST", "/api/sessions/{own}/next", "json", ("tasks",), {"tasks": []}),
    Route("POST", "/api/sessions/{own}/coach", "json", ("on",), {"on": True}),
    Route("POST", "/sessions/{own}/next", "form", ("task",)),
    Route("POST", "/trainer/library/{kind}/{item_id}/publish", "form", ("note",)),
    Route("POST", "/trainer/library/{kind}/{item_id}/rollback", "form", ("note",),
          {"number": "0"}),
    Route("POST", "/trainer/library/{kind}/{item_id}/retire", "form", ("note",)),
    Route("POST", "/trainer/cards/import", "multipart", ("text",)),
    Route("POST", "/trainer/check.json", "json", ("text", "kind"),
          {"kind": "persona", "text": "id: x\n"}),
]
# Text-taking queries of GET routes, checked the same way.
QUERIES = [
    ("/api/desk/queue", "student"),
    ("/desk", "student"),
    ("/login", "next"),
    ("/api/import", "student_email"),
    ("/progress/compare", "first"),
    ("/progress/compare", "second"),
]


@pytest.fixture
def world(tmp_path: Path, db_url: str):
    app = create_app(auth_settings(tmp_path, db_url))
    with TestClient(app):
        cohort = add_cohort(app, "Hostile cohort")
        student = add_user(app, "ana@example.org", cohorts=(cohort,))
        add_user(app, "root@example.org", role="admin")
        marked = hold_session(sign_in(app, "ana@example.org"))
        admin = sign_in(app, "root@example.org")
        own = admin.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()["id"]
        ids = {"own": own, "marked": marked, "user": student.id, "cohort": cohort.id,
               "token": "not-a-real-token", "kind": "persona", "item_id": "sam-work-stress"}
        yield app, admin, ids


def _route(path: str) -> Route:
    return next(r for r in ROUTES if r.path == path)


def url(route: Route, ids: dict) -> str:
    return route.path.format(**ids)


def send(client: TestClient, route: Route, ids: dict, field: str, value: str):
    """The route's valid request with `value` in `field`."""
    target = url(route, ids)
    if route.kind == "json":
        body = {**(route.base or {}), field: value}
        return client.request(route.method, target, content=json.dumps(body),
                              headers={"Content-Type": "application/json"})
    if route.kind == "form":
        return client.request(route.method, target, data={field: value},
                              headers={"Accept": "text/html"})
    fields = {field: value}
    if route.path == "/import":
        return client.post(target, data=fields,
                           files={"transcript": ("t.json", json.dumps(_route("/api/import").base))})
    return client.post(target, data=fields, files={"upload": ("", b"")})


def test_the_table_covers_every_route(world) -> None:
    app, _, _ = world

    def flat(routes):
        for r in routes:
            yield from flat(r.original_router.routes) if hasattr(r, "original_router") else [r]

    changing = {(sorted(r.methods - {"HEAD"})[0], r.path) for r in flat(app.router.routes)
                if getattr(r, "methods", None) and r.methods - {"GET", "HEAD"}}
    ours = {(r.method, r.path) for r in ROUTES}
    normalised = {(m, p.replace("{own}", "{session_id}").replace("{marked}", "{session_id}")
                   .replace("{user}", "{user_id}").replace("{cohort}", "{cohort_id}"))
                  for m, p in ours}
    assert changing == normalised


@pytest.mark.parametrize("value", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_unstorable_text_is_a_422_naming_the_field(world, value: str) -> None:
    _, admin, ids = world
    wrong: list[str] = []
    for route in ROUTES:
        if value == SURROGATE and route.kind != "json":
            continue  # a lone surrogate cannot be sent as UTF-8 form data at all
        for field in route.fields:
            answer = send(admin, route, ids, field, value)
            if answer.status_code >= 500:
                wrong.append(f"{route.path} {field}: {answer.status_code}")
            elif route.kind in ("json", "form") and (
                answer.status_code != 422 or field not in answer.text
            ):
                wrong.append(f"{route.path} {field}: {answer.status_code} {answer.text[:120]}")
    for path, name in QUERIES:
        answer = admin.get(path, params={name: NUL}, follow_redirects=False)
        if answer.status_code != 422 or name not in answer.text:
            wrong.append(f"GET {path}?{name}: {answer.status_code}")
    assert wrong == []


def test_nul_in_ids_paths_and_the_signed_out_login(world) -> None:
    app, _, _ids = world
    anon = TestClient(app)
    answers = [
        anon.post("/api/auth/login", json={"email": "ana\x00@example.org", "password": "x"}),
        anon.post("/login", data={"email": "ana\x00@example.org", "password": "x"}),
        world[1].get("/api/sessions/abc%00def"),
        world[1].get("/sessions/abc%00def/export.pdf"),
    ]
    assert [a.status_code for a in answers] == [422] * 4
    assert "email" in answers[0].json()["detail"] and "path" in answers[2].json()["detail"]


def test_imported_files_are_checked_like_json_bodies(world) -> None:
    _, admin, _ids = world
    transcript = {"id": "t-1", "turns": [{"speaker": "client", "text": "Hi."},
                                         {"speaker": "counsellor", "text": NUL}]}
    answer = admin.post("/import", files={"transcript": ("t.json", json.dumps(transcript))})
    assert answer.status_code == 422 and "turns.1.text" in answer.text
    deep = b"[" * 20_000 + b"]" * 20_000
    for upload in (deep, b'{"id": "t", "turns": ' + deep + b"}"):
        answer = admin.post("/import", files={"transcript": ("t.json", upload)})
        assert answer.status_code == 422 and "nested" in answer.text


def test_deep_json_is_refused_at_every_json_route(world) -> None:
    _, admin, ids = world
    deep = "[" * 20_000 + "]" * 20_000
    for route in [r for r in ROUTES if r.kind == "json"]:
        answer = admin.request(route.method, url(route, ids), content=deep,
                               headers={"Content-Type": "application/json"})
        assert answer.status_code == 422, (route.path, answer.text[:200])
        assert "nested" in answer.json()["detail"]


def test_huge_chunked_bodies_are_413(world) -> None:
    _, admin, ids = world

    def chunks(total: int):
        piece = b"x" * 65_536
        for _ in range(total // len(piece) + 1):
            yield piece

    for target, size in [(f"/api/sessions/{ids['own']}/turns", 200_000),
                         ("/api/auth/login", 200_000), ("/sessions", 200_000),
                         ("/api/import", 9_000_000), ("/trainer/check", 2_000_000),
                         (f"/admin/cohorts/{ids['cohort']}/import", 2_000_000)]:
        answer = admin.post(target, content=chunks(size),
                            headers={"Content-Type": "application/json"})
        assert answer.status_code == 413, (target, answer.status_code, answer.text[:200])


def test_a_long_exported_session_can_be_imported_again(world) -> None:
    _, admin, _ = world
    turns = [{"speaker": "client" if i % 2 else "counsellor", "text": f"{i} " + "word " * 700}
             for i in range(60)]
    body = {"id": "long", "persona_id": "sam-work-stress", "turns": turns}
    assert len(json.dumps(body)) > 200_000
    answer = admin.post("/api/import", json=body)
    assert answer.status_code == 201, answer.text[:300]
    exported = admin.get(f"/api/sessions/{answer.json()['session_id']}/export").json()
    assert admin.post("/api/import", json=exported).status_code == 201


def test_bidi_overrides_are_stored_as_typed_and_shown_visibly(world) -> None:
    _app, admin, ids = world
    sid = ids["own"]
    assert admin.post(f"/api/sessions/{sid}/turns", json={"text": RTL}).status_code == 200
    stored = admin.get(f"/api/sessions/{sid}").json()["turns"][1]["text"]
    assert stored == RTL
    for page in (f"/sessions/{sid}", f"/sessions/{sid}/transcript"):
        html = admin.get(page).text
        assert "I am fine [U+202E]enif ton ma I" in html and "\u202e" not in html
    from tests.test_exports import _pdf_text

    pdf = _pdf_text(admin.get(f"/sessions/{sid}/export.pdf").content)
    assert "[U+202E]" in pdf and "\u202e" not in pdf


def test_yaml_bombs_are_refused_quickly(world) -> None:
    _, admin, _ = world
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
        for i in range(8)
    )
    bombs = {"aliases": laughs, "deep flow": "[" * 100_000 + "]" * 100_000,
             "deep block": "".join(" " * i + f"k{i}:\n" for i in range(300))}
    # A harmless check first, so one-off work (lazy imports, the schema's compiled validator)
    # is not counted against the first bomb.
    admin.post("/trainer/check", data={"kind": "persona", "text": "id: x\n"},
               files={"upload": ("", b"")})
    for name, text in bombs.items():
        # The cheapest of three tries: process time counts every thread of the test process,
        # and a loaded machine only ever adds to it; an unbounded parse is slow every time.
        costs = []
        for _ in range(3):
            started = time.process_time()
            answer = admin.post("/trainer/check", data={"kind": "persona", "text": text},
                                files={"upload": ("", b"")})
            costs.append(time.process_time() - started)
            assert answer.status_code == 422, (name, answer.status_code)
        # Parsing 100,000 nested brackets took PyYAML over a second of CPU; refused before.
        assert min(costs) < 0.5, (name, costs)
