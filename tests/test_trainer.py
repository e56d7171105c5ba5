"""The trainers' page: checking a persona or rubric file, saving it, and every worker seeing it.

Every test works on its own copies of the persona and rubric folders, so the repository's
library is never written.
"""

from __future__ import annotations

import html
import json
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.config import PROJECT_ROOT
from app.library import persona_shelf
from app.main import create_app
from app.models import AuditEvent, PracticeSession, TestDrive
from app.services import services_of
from tests.accounts import PERSONA, add_user, auth_settings, sign_in

REPO_PERSONAS = PROJECT_ROOT / "personas"
REPO_RUBRICS = PROJECT_ROOT / "rubrics"
HTML = {"Accept": "text/html"}
NEW_ID = "sam-night-shift"


def _copy_libraries(tmp_path: Path) -> dict[str, Path]:
    personas = tmp_path / "library" / "personas"
    rubrics = tmp_path / "library" / "rubrics"
    shutil.copytree(REPO_PERSONAS, personas)
    shutil.copytree(REPO_RUBRICS, rubrics)
    return {"personas_dir": personas, "rubrics_dir": rubrics}


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    return _copy_libraries(tmp_path)


@pytest.fixture
def app(tmp_path: Path, db_url: str, folders: dict[str, Path]) -> Iterator[FastAPI]:
    application = create_app(auth_settings(tmp_path, db_url, **folders))
    with TestClient(application):
        add_user(application, "tess@example.org", role="trainer")
        add_user(application, "stu@example.org", role="student")
        yield application


@pytest.fixture
def trainer(app: FastAPI) -> TestClient:
    return sign_in(app, "tess@example.org")


def _persona_text(new_id: str = NEW_ID, version: int = 1, title: str = "Sam — night shifts") -> str:
    text = (REPO_PERSONAS / f"{PERSONA}.yaml").read_text(encoding="utf-8")
    text = text.replace(f"id: {PERSONA}\n", f"id: {new_id}\n", 1)
    text = re.sub(r"(?m)^version: \d+$", f"version: {version}", text, count=1)
    return re.sub(r"(?m)^title: .*$", f"title: {title}", text, count=1)


def _textarea(page: str) -> str:
    found = re.search(r'<textarea id="text"[^>]*>\n(.*?)</textarea>', page, re.S)
    assert found, "the page has no YAML textarea"
    return html.unescape(found.group(1))


def _check(client: TestClient, text: str, kind: str = "persona"):
    return client.post("/trainer/check", data={"kind": kind, "text": text}, headers=HTML)


def _save(client: TestClient, text: str, kind: str = "persona"):
    return client.post("/trainer/save", data={"kind": kind, "text": text}, headers=HTML,
                       follow_redirects=False)


def _ids(client: TestClient) -> list[str]:
    return [p["id"] for p in client.get("/api/personas").json()]


def _audit(app: FastAPI, action: str) -> list[AuditEvent]:
    with Session(services_of(app).db_engine) as db:
        return list(db.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_the_page_lists_both_libraries_with_download_links(trainer: TestClient) -> None:
    page = trainer.get("/trainer", headers=HTML)
    assert page.status_code == 200
    assert f'href="/trainer/personas/{PERSONA}.yaml"' in page.text
    assert 'href="/trainer/rubrics/core-conditions.yaml"' in page.text
    assert 'name="csrf_token"' in page.text and 'enctype="multipart/form-data"' in page.text
    download = trainer.get(f"/trainer/personas/{PERSONA}.yaml")
    assert download.status_code == 200
    assert download.content == (REPO_PERSONAS / f"{PERSONA}.yaml").read_bytes()
    assert "attachment" in download.headers["content-disposition"]
    assert trainer.get("/trainer/rubrics/core-conditions.yaml").status_code == 200
    assert trainer.get("/trainer/personas/no-such-persona.yaml").status_code == 404


def test_problems_are_listed_by_line_and_the_text_is_kept(trainer: TestClient) -> None:
    text = _persona_text().replace("difficulty: 2\n", "difficulty: 9\n", 1)
    text = text.replace("  age: 34\n", "  age: thirty-four\n", 1)
    lines = text.splitlines()
    difficulty_line = lines.index("difficulty: 9") + 1
    age_line = lines.index("  age: thirty-four") + 1
    answer = _check(trainer, text)
    assert answer.status_code == 422
    problems = re.findall(r"<li>(line \d+: [^<]*)</li>", answer.text)
    assert any(p.startswith(f"line {difficulty_line}: difficulty: ") for p in problems), problems
    assert any(p.startswith(f"line {age_line}: client.age: ") for p in problems), problems
    assert _textarea(answer.text) == text  # nothing the trainer typed is lost
    assert "Save persona" not in answer.text


def test_a_yaml_syntax_error_names_its_line(trainer: TestClient) -> None:
    text = "id: broken\ntitle: [unclosed\nversion: 1\n"
    answer = _check(trainer, text)
    assert answer.status_code == 422
    assert re.search(r"<li>line \d+: -: YAML syntax error", answer.text)
    assert _textarea(answer.text) == text


def test_a_valid_persona_shows_its_card_ladder_and_boundaries(trainer: TestClient) -> None:
    answer = _check(trainer, _persona_text())
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert "Sam — night shifts" in page and "is a new persona" in page
    assert 'formaction="/trainer/save"' in page
    assert "Disclosure ladder" in page and "risk: expects a safety response" in page
    # Layer id, its title, min trust, min turn.
    ladder = re.findall(
        r'<tr><th scope="row">([a-z_-]+)</th><td[^>]*>[^<]*</td><td[^>]*>([\d.]+)</td>'
        r'<td[^>]*>(\d+)</td>', page)
    assert ("surface", "1.0", "0") in ladder
    assert re.search(r'<th scope="row">coffee</th><td[^>]*>[^<]*</td><td[^>]*>[a-z_]+</td>'
                     r'<td[^>]*>\d+</td>', page)
    # The preview's Start button cannot start a session with a persona that is not saved yet.
    assert "<fieldset disabled" in page


def test_an_uploaded_file_is_checked_like_a_pasted_one(trainer: TestClient) -> None:
    text = _persona_text()
    answer = trainer.post("/trainer/check", data={"kind": "persona"}, headers=HTML,
                          files={"upload": (f"{NEW_ID}.yaml", text.encode(), "text/yaml")})
    assert answer.status_code == 200, answer.text
    assert _textarea(answer.text) == text


def _publish(client: TestClient, item_id: str = NEW_ID, kind: str = "persona", note: str = ""):
    return client.post(f"/trainer/library/{kind}/{item_id}/publish", data={"note": note},
                       headers=HTML, follow_redirects=False)


def test_a_saved_persona_is_a_draft_until_it_is_published(
    app: FastAPI, trainer: TestClient, folders: dict[str, Path]
) -> None:
    text = _persona_text()
    assert NEW_ID not in _ids(trainer)
    saved = _save(trainer, text.replace("\n", "\r\n"))  # as a browser sends a textarea
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/trainer/library/persona/{NEW_ID}?saved=1"
    # A draft lives in the database: the shipped library folder is never written.
    assert not (folders["personas_dir"] / f"{NEW_ID}.yaml").exists()
    student = sign_in(app, "stu@example.org")
    assert NEW_ID not in _ids(student)
    assert student.post("/api/sessions", json={"persona_id": NEW_ID}).status_code == 404
    assert NEW_ID not in student.get("/", headers=HTML).text
    item = trainer.get(saved.headers["location"], headers=HTML).text
    assert "Saved as a draft" in item and "draft only, never published" in item
    assert "draft" in trainer.get("/trainer", headers=HTML).text
    drafts = _audit(app, "persona.draft")
    assert len(drafts) == 1 and drafts[0].target == NEW_ID
    assert drafts[0].actor == "tess@example.org"

    published = _publish(trainer, note="first cut")
    assert published.status_code == 303, published.text
    assert NEW_ID in _ids(student)
    started = student.post("/api/sessions", json={"persona_id": NEW_ID})
    assert started.status_code == 201, started.text
    assert started.json()["turns"][0]["speaker"] == "client"
    events = _audit(app, "persona.publish")
    assert len(events) == 1 and events[0].target == NEW_ID
    assert events[0].details["number"] == 1
    page = trainer.get(f"/trainer/library/persona/{NEW_ID}", headers=HTML).text
    assert "Version 1: publish (current)" in page and "first cut" in page
    # Nothing left to publish.
    assert _publish(trainer).status_code == 409


def test_another_worker_serves_a_published_persona_on_its_next_request(
    app: FastAPI, trainer: TestClient, tmp_path: Path, db_url: str, folders: dict[str, Path]
) -> None:
    other = create_app(auth_settings(tmp_path, db_url, **folders))
    with TestClient(other):
        student = sign_in(other, "stu@example.org")
        assert NEW_ID not in _ids(student)
        assert _save(trainer, _persona_text()).status_code == 303
        assert NEW_ID not in _ids(student)  # a draft: on no worker
        assert _publish(trainer).status_code == 303
        # No folder check, no clock: the other worker reads what is published per request.
        assert NEW_ID in _ids(student)
        assert student.post("/api/sessions", json={"persona_id": NEW_ID}).status_code == 201


def test_a_session_keeps_the_version_it_started_with(
    app: FastAPI, trainer: TestClient, folders: dict[str, Path]
) -> None:
    student = sign_in(app, "stu@example.org")
    before = student.post("/api/sessions", json={"persona_id": PERSONA}).json()
    shipped_opening = before["turns"][0]["text"]
    edited = _persona_text(new_id=PERSONA, version=7, title="Sam — edited")
    edited = edited.replace(shipped_opening, "Edited opening line, nothing like the old one.")
    assert "Edited opening line" in edited
    assert _save(trainer, edited).status_code == 303
    assert _publish(trainer, PERSONA).status_code == 303
    titles = {p["id"]: p["title"] for p in student.get("/api/personas").json()}
    assert titles[PERSONA] == "Sam — edited"
    after = student.post("/api/sessions", json={"persona_id": PERSONA}).json()
    assert after["turns"][0]["text"] == "Edited opening line, nothing like the old one."
    assert after["persona_version"] == 7
    # The earlier session still reads and plays as the shipped file.
    again = student.get(f"/api/sessions/{before['id']}").json()
    assert again["persona_version"] == before["persona_version"]
    sessions = {s["id"]: s["persona_title"] for s in student.get("/api/sessions").json()}
    assert sessions[before["id"]] != "Sam — edited" and sessions[after["id"]] == "Sam — edited"
    turn = student.post(f"/api/sessions/{before['id']}/turns", json={"text": "How are you?"})
    assert turn.status_code == 200, turn.text
    # The download is what students get now.
    assert trainer.get(f"/trainer/personas/{PERSONA}.yaml").text == edited


def test_history_rollback_and_retire_are_versions_with_authors_and_diffs(
    app: FastAPI, trainer: TestClient, folders: dict[str, Path]
) -> None:
    shipped = (folders["personas_dir"] / f"{PERSONA}.yaml").read_text(encoding="utf-8")
    edited = _persona_text(new_id=PERSONA, version=2, title="Sam — edited")
    assert _save(trainer, edited).status_code == 303
    assert _publish(trainer, PERSONA, note="retitled").status_code == 303
    page = trainer.get(f"/trainer/library/persona/{PERSONA}", headers=HTML).text
    assert "+title: Sam — edited" in html.unescape(page)
    assert "By tess@example.org" in page
    student = sign_in(app, "stu@example.org")
    started = student.post("/api/sessions", json={"persona_id": PERSONA}).json()

    back = trainer.post(f"/trainer/library/persona/{PERSONA}/rollback", data={"number": 0},
                        headers=HTML, follow_redirects=False)
    assert back.status_code == 303
    assert trainer.get(f"/trainer/personas/{PERSONA}.yaml").text == shipped
    titles = {p["id"]: p["title"] for p in student.get("/api/personas").json()}
    assert titles[PERSONA] != "Sam — edited"
    page = html.unescape(trainer.get(f"/trainer/library/persona/{PERSONA}", headers=HTML).text)
    assert "Version 2: rollback (current)" in page and "back to the shipped file" in page
    assert "-title: Sam — edited" in page
    assert _audit(app, "persona.rollback")[0].details == {"number": 2, "to": 0}
    assert trainer.post(f"/trainer/library/persona/{PERSONA}/rollback", data={"number": 9},
                        headers=HTML).status_code == 409

    retired = trainer.post(f"/trainer/library/persona/{PERSONA}/retire",
                           data={"note": "replaced"}, headers=HTML, follow_redirects=False)
    assert retired.status_code == 303
    assert PERSONA not in _ids(student)
    assert student.post("/api/sessions", json={"persona_id": PERSONA}).status_code == 404
    # Its sessions stay intact: the one started on version 1 still opens, as version 1.
    kept = student.get(f"/api/sessions/{started['id']}")
    assert kept.status_code == 200 and kept.json()["persona_version"] == 2
    assert student.get(f"/sessions/{started['id']}", headers=HTML).status_code == 200
    assert "retired" in trainer.get("/trainer", headers=HTML).text
    assert _audit(app, "persona.retire")[0].details == {"number": 3}
    assert trainer.post(f"/trainer/library/persona/{PERSONA}/retire",
                        headers=HTML).status_code == 409
    # Rolling back to version 1 brings it back.
    assert trainer.post(f"/trainer/library/persona/{PERSONA}/rollback", data={"number": 1},
                        headers=HTML, follow_redirects=False).status_code == 303
    assert PERSONA in _ids(student)


def test_a_rubric_is_checked_drafted_published_and_graded_with(
    app: FastAPI, trainer: TestClient, folders: dict[str, Path]
) -> None:
    text = (REPO_RUBRICS / "core-conditions.yaml").read_text(encoding="utf-8")
    text = text.replace("id: core-conditions\n", "id: core-lite\n", 1)
    bad = _check(trainer, text.replace("scale: {min: 1, max: 5}", "scale: {min: 1, max: 50}"),
                 kind="rubric")
    assert bad.status_code == 422 and re.search(r"<li>line \d+: scale\.max: ", bad.text)
    good = _check(trainer, text, kind="rubric")
    assert good.status_code == 200 and "Core conditions of the therapeutic" in good.text
    assert _save(trainer, text, kind="rubric").status_code == 303
    assert not (folders["rubrics_dir"] / "core-lite.yaml").exists()
    assert "core-lite" not in [r["id"] for r in trainer.get("/api/rubrics").json()]
    assert _publish(trainer, "core-lite", kind="rubric").status_code == 303
    assert "core-lite" in [r["id"] for r in trainer.get("/api/rubrics").json()]
    assert _audit(app, "rubric.draft")[0].target == "core-lite"
    assert _audit(app, "rubric.publish")[0].target == "core-lite"


def test_python_tags_are_refused_and_never_run(
    app: FastAPI, trainer: TestClient, tmp_path: Path, folders: dict[str, Path]
) -> None:
    marker = tmp_path / "pwned"
    text = (f"id: evil\nversion: 1\ntitle: !!python/object/apply:os.system ['touch {marker}']\n"
            "danger: !!python/object:builtins.object {}\n")
    for kind in ("persona", "rubric"):
        for send in (_check, _save):
            answer = send(trainer, text, kind)
            assert answer.status_code == 422, answer.text
            assert "unsafe or unknown YAML tag" in answer.text
            assert _textarea(answer.text) == text
    assert not marker.exists()
    assert not (folders["personas_dir"] / "evil.yaml").exists()
    assert not (folders["rubrics_dir"] / "evil.yaml").exists()
    assert not _audit(app, "persona.draft")


def test_a_file_over_256_kib_is_refused_with_a_message_not_a_crash(
    trainer: TestClient,
) -> None:
    text = _persona_text() + "# padding\n" * 30_000
    answer = _check(trainer, text)
    assert answer.status_code == 422
    assert "too large" in answer.text and "256 KiB" in answer.text


def test_students_are_refused_every_trainer_route(app: FastAPI) -> None:
    student = sign_in(app, "stu@example.org")
    assert student.get("/trainer", headers=HTML).status_code == 403
    assert student.get(f"/trainer/personas/{PERSONA}.yaml").status_code == 403
    assert _check(student, _persona_text()).status_code == 403
    assert _save(student, _persona_text()).status_code == 403
    for action in ("publish", "rollback", "retire"):
        assert student.post(f"/trainer/library/persona/{PERSONA}/{action}").status_code == 403
    assert student.get(f"/trainer/library/persona/{PERSONA}", headers=HTML).status_code == 403
    assert NEW_ID not in _ids(student)


def test_with_accounts_off_the_local_student_is_told_how_to_turn_them_on(
    client: TestClient,
) -> None:
    answer = client.get("/trainer", headers=HTML)
    assert answer.status_code == 403
    assert "RAPPORT_AUTH=on" in answer.text
    assert client.post("/trainer/check", data={"text": "id: x"}).status_code == 403


def test_a_broken_file_on_disk_keeps_the_last_good_library(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _copy_libraries(tmp_path)["personas_dir"]
    now = [0.0]
    shelf = persona_shelf(folder, clock=lambda: now[0])
    good = shelf.get()
    assert PERSONA in good
    (folder / "broken.yaml").write_text("id: broken\nversion: [1\n", encoding="utf-8")
    now[0] += 0.5
    assert shelf.get() is good  # looked less than a second ago: not yet
    now[0] += 0.5
    with caplog.at_level(logging.ERROR, logger="rapport.library"):
        assert shelf.get() is good
    assert "keeping the last good one" in caplog.text
    assert re.search(r"broken\.yaml:\d+: -: YAML syntax error", caplog.text)
    assert shelf.problems
    # Fixed by hand: the next look loads it.
    (folder / "broken.yaml").unlink()
    (folder / "copy.yaml").write_text(_persona_text(new_id="copy"), encoding="utf-8")
    now[0] += 1.0
    assert "copy" in shelf.get() and not shelf.problems


def test_a_draft_is_test_driven_ended_and_graded_without_reaching_students(
    app: FastAPI, trainer: TestClient
) -> None:
    assert _save(trainer, _persona_text()).status_code == 303
    item = trainer.get(f"/trainer/library/persona/{NEW_ID}", headers=HTML).text
    assert 'action="/trainer/test-drive#test-drive"' in item
    text = html.unescape(re.search(r'<input type="hidden" name="text" value="([^"]*)"', item,
                                   re.S).group(1))
    assert text == _persona_text()
    said: list[str] = []
    for message in ("What brings you in today?",
                    "It sounds like the nights have been really hard on you.",
                    "You feel worn out, and part of you wonders if anyone notices.",
                    "What has that been like for you, lying awake?",
                    "So work keeps following you home, even at three in the morning.",
                    "You've been carrying a lot on your own lately."):
        answer = trainer.post("/trainer/test-drive", headers=HTML, data={
            "text": text, "said": json.dumps(said), "message": message})
        assert answer.status_code == 200, answer.text
        said.append(message)
        assert message in html.unescape(answer.text)
    assert "End and see the grade" in answer.text and "drive-overall" not in answer.text
    # End answers 303 to a GET page of the grade (post-redirect-get), kept for its trainer.
    posted = trainer.post("/trainer/test-drive", headers=HTML, follow_redirects=False, data={
        "text": text, "said": json.dumps(said), "end": "1"})
    assert posted.status_code == 303
    where, _, fragment = posted.headers["location"].partition("#")
    assert re.fullmatch(r"/trainer/test-drive/[0-9a-f]{32}", where) and fragment == "drive-grade"
    ended = trainer.get(where, headers=HTML)
    assert ended.status_code == 200
    overall = re.search(r'id="drive-overall">([^<]+)<', ended.text)
    assert overall and float(overall.group(1)) > 0
    assert "Self-test:" in ended.text
    for message in said:
        assert message in html.unescape(ended.text)
    # Reloading shows the same grade and keeps nothing more.
    again = trainer.get(where, headers=HTML)
    assert re.search(r'id="drive-overall">([^<]+)<', again.text).group(1) == overall.group(1)
    with Session(services_of(app).db_engine) as db:
        assert len(db.exec(select(TestDrive)).all()) == 1
    # Another trainer (even an admin) gets no such page: it is the driver's own.
    add_user(app, "root@example.org", role="admin")
    assert sign_in(app, "root@example.org").get(where, headers=HTML).status_code == 404
    student = sign_in(app, "stu@example.org")
    assert NEW_ID not in _ids(student)
    with Session(services_of(app).db_engine) as db:
        assert not db.exec(select(PracticeSession)).all()  # nothing stored by a test-drive


def test_ended_test_drives_are_kept_a_day_then_purged(app: FastAPI, trainer: TestClient) -> None:
    from datetime import timedelta

    from app.models import User, utcnow

    with Session(services_of(app).db_engine) as db:
        tess = db.exec(select(User).where(User.email == "tess@example.org")).one()
        db.add(TestDrive(id="old", author_id=tess.id, text=_persona_text(), said=["Hello."],
                         created_at=utcnow() - timedelta(days=1, minutes=1)))
        db.commit()
    assert trainer.get("/trainer/test-drive/old", headers=HTML).status_code == 404
    ended = trainer.post("/trainer/test-drive", headers=HTML, follow_redirects=False, data={
        "text": _persona_text(), "said": "[]", "message": "What brings you in?", "end": "1"})
    assert ended.status_code == 303
    with Session(services_of(app).db_engine) as db:
        assert [d.said for d in db.exec(select(TestDrive)).all()] == [["What brings you in?"]]


def test_the_new_persona_template_checks_clean_and_saves_as_a_draft(
    app: FastAPI, trainer: TestClient
) -> None:
    page = trainer.get("/trainer/new", headers=HTML)
    assert page.status_code == 200 and "is a new persona" in page.text
    text = _textarea(page.text)
    assert "id: new-client" in text and "<li>line" not in page.text
    assert _save(trainer, text).status_code == 303
    assert _audit(app, "persona.draft")[0].target == "new-client"
