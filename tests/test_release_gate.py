"""A student whose cohort sees grades only after release: words only, on every page and answer."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from app.main import create_app
from tests.accounts import LINES, PERSONA, add_cohort, add_user, auth_settings, sign_in
from tests.support import self_rate

ANALYSIS_WORDS = ("reflection", "question open", "trust-chart", "Engine accounting", "Empathy:",
                  "Details for trainers", "tturn__trust", 'class="code ', "Disclosed:")


@pytest.fixture
def app(tmp_path: Path, db_url: str):
    application = create_app(auth_settings(tmp_path, db_url))
    with TestClient(application):
        yield application


def _practise(client: TestClient) -> tuple[str, list[dict]]:
    sid = client.post("/api/sessions", json={"persona_id": PERSONA}).json()["id"]
    answers = []
    for line in LINES:
        answer = client.post(f"/api/sessions/{sid}/turns", json={"text": line})
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
    return sid, answers


def _pdf_text(client: TestClient, sid: str) -> str:
    answer = client.get(f"/sessions/{sid}/export.pdf")
    assert answer.status_code == 200
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)


def test_a_held_student_sees_the_words_and_nothing_the_analysis_made_of_them(app) -> None:
    evening = add_cohort(app, "Evening", auto_grades="after_release")
    add_user(app, "ana@example.org", cohorts=(evening,))
    ana = sign_in(app, "ana@example.org")
    sid, answers = _practise(ana)

    # While practising: the answers carry the words, no codes, trust or accounting.
    for answer in answers:
        for turn in (answer["student_turn"], answer["client_turn"]):
            assert turn["text"]
            assert turn["codes"] == [] and turn["trust_after"] is None
            assert turn["events"] is None and turn["empathy"] is None
            assert turn["prompt_tokens"] is None and turn["engine"] is None
        assert answer["state"]["trust"] is None and answer["state"]["unlocked"] == []
    stored = ana.get(f"/api/sessions/{sid}").json()
    assert [t["text"] for t in stored["turns"] if t["speaker"] == "counsellor"] == LINES
    assert all(t["codes"] == [] and t["trust_after"] is None for t in stored["turns"])

    assert ana.post(f"/api/sessions/{sid}/end").status_code == 200
    # Ending lands on the report address, which first asks for the student's own view...
    first = ana.get(f"/sessions/{sid}/report", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == f"/sessions/{sid}/reflect"
    self_rate(ana, sid)
    # ...then says when feedback comes, not an error.
    report = ana.get(f"/sessions/{sid}/report", headers={"Accept": "text/html"})
    assert report.status_code == 200
    assert "released by an assessor" in report.text and "progress page" in report.text
    assert "score-chart" not in report.text and "Overall" not in report.text

    transcript = ana.get(f"/sessions/{sid}/transcript", headers={"Accept": "text/html"})
    assert transcript.status_code == 200 and LINES[1] in transcript.text
    for word in ANALYSIS_WORDS:
        assert word not in transcript.text, word
    assert not re.search(r"trust \d", transcript.text)

    assert ana.get(f"/api/sessions/{sid}/grades").status_code == 403
    pdf = _pdf_text(ana, sid)
    assert "Sam" in pdf
    assert "Empathy" not in pdf and "Overall" not in pdf and "trust" not in pdf.lower()
    progress = ana.get("/api/progress").json()
    assert progress["sessions"][0]["overall"] is None


def test_a_trainer_test_driving_in_such_a_cohort_sees_their_own_report(app) -> None:
    evening = add_cohort(app, "Evening", auto_grades="after_release")
    add_user(app, "tess@example.org", role="trainer", cohorts=(evening,))
    tess = sign_in(app, "tess@example.org")
    sid, answers = _practise(tess)
    assert any(a["student_turn"]["codes"] for a in answers)
    assert tess.post(f"/api/sessions/{sid}/end").status_code == 200
    self_rate(tess, sid)
    report = tess.get(f"/sessions/{sid}/report", headers={"Accept": "text/html"})
    assert report.status_code == 200 and "score-chart" in report.text


def test_after_release_the_student_sees_the_analysis(app) -> None:
    evening = add_cohort(app, "Evening", auto_grades="after_release")
    add_user(app, "ana@example.org", cohorts=(evening,))
    add_user(app, "mo@example.org", role="assessor", cohorts=(evening,))
    ana = sign_in(app, "ana@example.org")
    mo = sign_in(app, "mo@example.org")
    sid, _ = _practise(ana)
    ana.post(f"/api/sessions/{sid}/end")
    desk = mo.get(f"/api/desk/sessions/{sid}").json()
    marks = [{"criterion": c["id"], "decision": "accept"} for c in desk["grade"]["criteria"]]
    assert mo.put(f"/api/desk/sessions/{sid}/review", json={"marks": marks}).status_code == 200
    assert mo.post(f"/api/desk/sessions/{sid}/release").status_code == 200
    self_rate(ana, sid)
    report = ana.get(f"/sessions/{sid}/report", headers={"Accept": "text/html"})
    assert report.status_code == 200 and "score-chart" in report.text
    stored = ana.get(f"/api/sessions/{sid}").json()
    assert any(t["codes"] for t in stored["turns"])
