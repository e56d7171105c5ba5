"""Exports read back: the PDF's text, the cohort CSV, the interchange JSON; and imports."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from app.exports.cohort_csv import CsvRow, grades_csv
from app.exports.pdf import PdfReport, PdfTurn, render_pdf
from app.grading import grade_analytic, input_from_transcript
from app.main import create_app
from app.services import services_of
from app.transcripts import parse_transcript
from tests.accounts import (
    LINES,
    PERSONA,
    add_cohort,
    add_user,
    auth_settings,
    hold_session,
    sign_in,
)


@pytest.fixture
def app(tmp_path: Path, db_url: str):
    application = create_app(auth_settings(tmp_path, db_url))
    with TestClient(application):
        yield application


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def _released(app) -> tuple[TestClient, TestClient, str, dict]:
    a = add_cohort(app, "Evening cohort")
    add_user(app, "ana@example.org", cohorts=(a,))
    add_user(app, "marker@example.org", role="assessor", cohorts=(a,))
    ana = sign_in(app, "ana@example.org")
    sid = hold_session(ana)
    marker = sign_in(app, "marker@example.org")
    desk = marker.get(f"/api/desk/sessions/{sid}").json()
    marks = [{"criterion": c["id"], "decision": "accept"} for c in desk["grade"]["criteria"]]
    marks[0] = {"criterion": marks[0]["criterion"], "decision": "override", "score": 2.5,
                "reason": "Advice arrived before the feeling was heard."}
    marker.put(f"/api/desk/sessions/{sid}/review",
               json={"marks": marks, "comment": "Slow down and reflect first — “Zoë”."})
    marker.post(f"/api/desk/sessions/{sid}/notes", json={"turn": 5, "text": "Premature advice."})
    marker.post(f"/api/desk/sessions/{sid}/release")
    return ana, marker, sid, desk


def test_the_pdf_holds_the_transcript_grade_reasons_comment_and_notes(app) -> None:
    ana, _marker, sid, desk = _released(app)
    answer = ana.get(f"/sessions/{sid}/export.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    text = _pdf_text(answer.content)
    assert "practice session report" in text and "Sam — work stress" in text
    assert "Ana (ana@example.org)" in text
    turns = ana.get(f"/api/sessions/{sid}").json()["turns"]
    assert [t["text"] for t in turns if t["speaker"] == "counsellor"] == LINES
    # Every line, the client's as well as the student's, is printed; the student's are
    # numbered as people count exchanges (the opening comes before turn 1).
    number = 0
    for turn in turns:
        words = " ".join(turn["text"].split()[:8])
        assert words in text, turn
        if turn["speaker"] == "counsellor":
            number += 1
            assert f"Turn {number}" in text, turn
    assert "Opening" in text
    assert "Advice arrived before the feeling was heard." in text
    assert "Slow down and reflect first — “Zoë”." in text  # not Latin-1: the font carries it
    assert "Assessor's note: Premature advice." in text
    first = desk["grade"]["criteria"][0]
    assert f"{first['title']} — {first['score']:.1f} · released 2.5 (overridden)" in text
    assert "(auto-grader)" in text and "released by the assessor" in text


def test_a_held_grade_stays_out_of_the_students_pdf(app) -> None:
    a = add_cohort(app, "Held", auto_grades="after_release")
    add_user(app, "ana@example.org", cohorts=(a,))
    ana = sign_in(app, "ana@example.org")
    sid = hold_session(ana)
    text = _pdf_text(ana.get(f"/sessions/{sid}/export.pdf").content)
    assert "none has been released yet" in text and "auto-grader" not in text
    assert LINES[0][:40] in text


def test_the_pdf_writer_falls_back_to_latin_1_without_dejavu(monkeypatch, tmp_path) -> None:
    import app.exports.pdf_fonts as fonts

    monkeypatch.setattr(fonts, "primary_font", lambda: None)
    data = render_pdf(PdfReport(title="Report “quoted”", meta=[("Student", "Zoë 学生")],
                                turns=[PdfTurn(label="", speaker="Client", text="I’m fine")]))
    text = _pdf_text(data)
    assert 'Report "quoted"' in text and "Zoë" in text and "I'm fine" in text


def test_the_cohort_csv_reads_back_with_auto_and_released_scores(app) -> None:
    _, marker, sid, desk = _released(app)
    cohort = marker.get("/api/auth/me").json()["cohorts"][0]["id"]
    answer = marker.get(f"/desk/cohorts/{cohort}/grades.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "Evening-cohort-grades.csv" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 1
    row = rows[0]
    first = desk["grade"]["criteria"][0]
    assert row["session_id"] == sid and row["student_email"] == "ana@example.org"
    assert row["status"] == "released" and row["assessor"] == "Marker"
    assert float(row[f"auto_{first['id']}"]) == pytest.approx(first["score"])
    assert float(row[f"released_{first['id']}"]) == 2.5
    assert row["rubric_id"] == "core-conditions"


@pytest.mark.parametrize(
    "formula",
    ['=HYPERLINK("x")', "+cmd", "-2+3", "@SUM(A1)", " =1+1", "\n=1+1", "\t=1", "\r=1",
     "\uff1d1+1", "\uff0bcmd", "\u3000=1"],
    ids=repr,
)
def test_csv_cells_that_a_spreadsheet_would_run_are_defused(formula: str) -> None:
    text = grades_csv([CsvRow(session_id="s", student_name=formula,
                              student_email="a@b", persona_id="p", started="", ended="",
                              rubric_id="r", status="graded", auto_overall=3.0, auto={},
                              released_overall=None, released={}, released_at="",
                              assessor="Plain Name")], [])
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["student_name"] == "'" + formula
    assert row["assessor"] == "Plain Name" and row["auto_overall"] == "3.0"


def test_a_turn_on_an_imported_session_is_a_conflict_not_a_server_error(app) -> None:
    add_user(app, "ana@example.org")
    ana = sign_in(app, "ana@example.org")
    transcript = {"id": "t", "turns": [{"speaker": "client", "text": "Hi."},
                                       {"speaker": "counsellor", "text": "Hello there."}]}
    sid = ana.post("/api/import", json=transcript).json()["session_id"]
    for answer in (ana.post(f"/api/sessions/{sid}/turns", json={"text": "And how are you?"}),
                   ana.post(f"/api/sessions/{sid}/retry")):
        assert answer.status_code == 409
        assert "imported" in answer.json()["detail"]


def test_the_interchange_json_reads_back_and_grades_like_the_session(app) -> None:
    ana, _marker, sid, _ = _released(app)
    exported = ana.get(f"/api/sessions/{sid}/export")
    assert exported.status_code == 200
    transcript = parse_transcript(exported.json(), where="export")
    assert transcript.id == sid and transcript.persona_id == PERSONA
    assert [t.speaker for t in transcript.turns][:2] == ["client", "counsellor"]
    assert transcript.turns[1].text == LINES[0]
    rubric = services_of(app).library.rubrics()["core-conditions"]
    offline = grade_analytic(input_from_transcript(transcript), rubric)
    assert offline.criteria[0].id == "empathy"


def test_importing_a_transcript_stores_and_grades_it(app) -> None:
    a = add_cohort(app, "A")
    add_user(app, "ana@example.org", cohorts=(a,))
    add_user(app, "marker@example.org", role="assessor", cohorts=(a,))
    add_user(app, "other@example.org")
    ana = sign_in(app, "ana@example.org")
    sid = hold_session(ana)
    exported = ana.get(f"/api/sessions/{sid}/export").json()
    imported = ana.post("/api/import", json={**exported, "id": "held-elsewhere"})
    assert imported.status_code == 201
    body = imported.json()
    assert body["grade"]["status"] == "ok" and body["session_id"] != sid
    copy = ana.get(f"/api/sessions/{body['session_id']}").json()
    assert copy["status"] == "ended" and copy["engine"] == "imported"
    assert [t["text"] for t in copy["turns"]] == [t["text"] for t in exported["turns"]]
    original = ana.get(f"/api/sessions/{sid}/grades").json()[0]
    assert body["grade"]["overall"] == pytest.approx(original["overall"], abs=0.6)
    # Assessors can import for a student of their cohort (it lands in the desk queue)...
    marker = sign_in(app, "marker@example.org")
    for_ana = marker.post("/api/import", params={"student_email": "ana@example.org"},
                          json=exported)
    assert for_ana.status_code == 201
    queue = [r["session_id"] for r in marker.get("/api/desk/queue").json()]
    assert for_ana.json()["session_id"] in queue
    # ...but not for anyone else.
    assert marker.post("/api/import", params={"student_email": "other@example.org"},
                       json=exported).status_code == 404
    # A file upload from the page works too; a broken file is refused with the format.
    upload = ana.post("/import", files={"transcript": ("t.json", json.dumps(exported),
                                                       "application/json")},
                      follow_redirects=False)
    assert upload.status_code == 303 and upload.headers["location"].endswith("/report")
    broken = ana.post("/import", files={"transcript": ("t.json", "{not json", "text/plain")})
    assert broken.status_code == 422 and "not a transcript" in broken.text
