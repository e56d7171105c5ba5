"""Plain-text transcripts: label variants read into turns, previewed with problems by line,
then imported and graded like a JSON file."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.main import create_app
from app.models import PracticeSession
from app.plaintext import parse_plain
from app.services import services_of
from tests.accounts import LINES, PERSONA, add_user, auth_settings, sign_in

HTML = {"Accept": "text/html"}
CLIENT = ["I'm not really sure why I'm here.", "Work has been a lot. I'm not sleeping.",
          "I just lie there.", "Maybe it is worth talking about.", "Yeah."]


def _pasted(counsellor: str = "Counsellor", client: str = "Client") -> str:
    lines = []
    for i, said in enumerate(LINES):
        lines += [f"{client}: {CLIENT[i]}", f"{counsellor}: {said}"]
    return "\n".join([*lines, f"{client}: {CLIENT[-1]}"]) + "\n"


@pytest.mark.parametrize(("counsellor", "client"), [
    ("Counsellor", "Client"), ("T", "C"), ("Therapist", "Patient"), ("counselor", "CLIENT")])
def test_each_label_variant_reads_into_the_same_turns(counsellor: str, client: str) -> None:
    turns, problems = parse_plain(_pasted(counsellor, client))
    assert problems == []
    assert [t.speaker for t in turns] == ["client", "counsellor"] * len(LINES) + ["client"]
    assert turns[1].text == LINES[0] and turns[1].line == 2


def test_continuation_lines_timestamps_and_colons_inside_speech() -> None:
    turns, problems = parse_plain(
        "[00:00:05] Client: I don't know.\nIt's hard to say.\n\n"
        "00:12 T: What is hard about it?\n"
        "C:\nWork: the hours: all of it.\n")
    assert problems == []
    assert [(t.speaker, t.text) for t in turns] == [
        ("client", "I don't know.\nIt's hard to say."),
        ("counsellor", "What is hard about it?"),
        ("client", "Work: the hours: all of it."),
    ]


def test_problems_name_their_lines() -> None:
    _, problems = parse_plain("Hello there\nSam: hi\nClient:\nCounsellor: Hi.\n")
    assert problems == [
        "line 1: text before the first speaker label; start it with Counsellor: or Client:",
        "line 2: 'Sam:' is not a speaker label this importer knows; start lines with "
        "Counsellor: or Client: (or T: and C:)",
        "line 3: the client's turn has no words",
    ]
    assert parse_plain("Client: Hi.\nC: Still me.\n")[1] == [
        "line 1: no counsellor turns: there is nothing to grade"]


@pytest.fixture
def app(tmp_path: Path, db_url: str):
    application = create_app(auth_settings(tmp_path, db_url))
    with TestClient(application):
        add_user(application, "ana@example.org")
        yield application


def _sessions(app) -> list[PracticeSession]:
    with Session(services_of(app).db_engine) as db:
        return list(db.exec(select(PracticeSession)).all())


def test_a_pasted_transcript_is_previewed_then_imported_and_graded(app) -> None:
    ana = sign_in(app, "ana@example.org")
    text = _pasted("T", "C")
    preview = ana.post("/import", data={"text": text, "persona_id": PERSONA,
                                        "action": "preview"}, headers=HTML)
    assert preview.status_code == 200
    rows = re.findall(r'<tr data-speaker="(\w+)"><th scope="row">(\d+)</th><td>\w+</td>'
                      r'<td>([^<]*)</td>', preview.text)
    assert len(rows) == 2 * len(LINES) + 1
    assert rows[1][:2] == ("counsellor", "2") and html.unescape(rows[1][2]) == LINES[0]
    assert not _sessions(app)  # a preview stores nothing

    graded = ana.post("/import", data={"text": text, "persona_id": PERSONA, "action": "grade"},
                      headers=HTML, follow_redirects=False)
    assert graded.status_code == 303 and graded.headers["location"].endswith("/report")
    (session,) = _sessions(app)
    assert session.persona_id == PERSONA and session.status == "ended"
    copy = ana.get(f"/api/sessions/{session.id}").json()
    assert [t["text"] for t in copy["turns"] if t["speaker"] == "counsellor"] == LINES
    grade = ana.get(f"/api/sessions/{session.id}/grades").json()[0]
    assert grade["status"] == "ok" and grade["overall"] is not None
    assert ana.get(graded.headers["location"], headers=HTML).status_code == 200


def test_a_pasted_transcript_with_problems_imports_nothing_and_keeps_the_text(app) -> None:
    ana = sign_in(app, "ana@example.org")
    text = "Sam: hello\n" + _pasted()
    answer = ana.post("/import", data={"text": text, "action": "grade"}, headers=HTML)
    assert answer.status_code == 422
    page = html.unescape(answer.text)
    assert "Nothing was imported" in page and "line 1: 'Sam:' is not a speaker label" in page
    assert text.strip() in page
    assert not _sessions(app)
    empty = ana.post("/import", data={"action": "grade"}, headers=HTML)
    assert empty.status_code == 422 and "paste a plain-text transcript" in empty.text
