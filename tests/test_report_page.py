"""The report page, server-rendered: scores, marked evidence, feedback, what was missed."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from app.config import Settings
from app.main import create_app
from app.persona import load_library
from app.services import services_of
from app.web.grading import install_grading
from tests.counsellors import GOOD_LINES, HOLD_BOUNDARY, POOR_LINES
from tests.support import self_rate

PERSONA = "sam-work-stress"
LINES = [*GOOD_LINES[:4], HOLD_BOUNDARY, POOR_LINES[0], POOR_LINES[3], *GOOD_LINES[4:7]]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    install_grading(app)
    with TestClient(app) as test_client:
        yield test_client


def held_session(client: TestClient, *, end: bool = True) -> str:
    sid = client.post("/api/sessions", json={"persona_id": PERSONA}).json()["id"]
    for line in LINES:
        assert client.post(f"/api/sessions/{sid}/turns", json={"text": line}).status_code == 200
    if end:
        assert client.post(f"/api/sessions/{sid}/end").status_code == 200
        self_rate(client, sid)
    return sid


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_the_report_shows_scores_evidence_feedback_and_what_was_missed(
    client: TestClient,
) -> None:
    sid = held_session(client)
    page = client.get(f"/sessions/{sid}/report", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.text
    grade = client.get(f"/api/sessions/{sid}/grades").json()[0]  # graded on first view
    words = text_of(html)
    assert f"Overall {grade['overall']:.1f} out of 5" in words
    for criterion in grade["criteria"]:
        assert criterion["title"] in words
        if criterion["score"] is not None:
            assert f"{criterion['score']:.1f}" in words
    # Each evidence quote is marked in its turn, tagged with the criteria it counts for.
    marks = re.findall(r'<mark class="ev ev--\w+" data-criteria="([^"]+)">', html)
    assert marks and {"empathy", "respect"} <= {c for m in marks for c in m.split()}
    assert 'id="turn-1"' in html and 'href="#turn-' in html
    assert "You could try" in words and "It sounds like" in words
    assert "What you missed" in words
    # Sincerity is a person's judgement: the chart says so, not "not enough evidence".
    assert "Rated by your assessor" in words
    persona = load_library(services_of(client.app).settings.personas_dir)[PERSONA]
    state = client.get(f"/api/sessions/{sid}").json()["state"]
    locked = [d for d in persona.disclosures if d.id not in state["unlocked"]]
    assert locked, "the scripted session should leave a layer closed"
    for layer in locked:
        assert unescape(layer.label) in words  # its human title, never the id
        assert unescape(layer.says) not in unescape(html)  # locked lines are never shown
    # Told as moments of this session, never as trust thresholds or skill counts.
    assert "had not yet talked about this" in words or "not yet ready to talk about" in words
    assert "opens when trust reaches" not in words


def test_the_page_obeys_the_content_security_policy(client: TestClient) -> None:
    sid = held_session(client)
    page = client.get(f"/sessions/{sid}/report")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), "inline script"
    assert " style=" not in page.text, "inline style attribute"
    assert "/static/report.js" in page.text and "/static/report.css" in page.text
    for asset in ("report.js", "report.css"):
        assert client.get(f"/static/{asset}").status_code == 200


def test_an_active_session_has_no_report_yet(client: TestClient) -> None:
    sid = held_session(client, end=False)
    page = client.get(f"/sessions/{sid}/report", headers={"Accept": "text/html"})
    assert page.status_code == 409
    assert "End it to see your report" in page.text


def test_regrading_from_the_page_keeps_the_old_grade(client: TestClient) -> None:
    sid = held_session(client)
    client.get(f"/sessions/{sid}/report")
    moved = client.post(
        f"/sessions/{sid}/grade",
        data={"rubric_id": "first-session-engagement"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    target = moved.headers["location"]
    assert re.fullmatch(rf"/sessions/{sid}/report\?grade=\d+", target)
    page = client.get(target)
    assert "First-session engagement" in page.text
    assert "Other grades of this session" in page.text and "core-conditions v2" in page.text
    assert len(client.get(f"/api/sessions/{sid}/grades").json()) == 2
    assert client.get(f"/sessions/{sid}/report?grade=999999").status_code == 404


def test_a_failed_grade_is_shown_as_failed(client: TestClient) -> None:
    from sqlmodel import Session

    from app.grading import GradeResult
    from app.grading.records import add_grade

    sid = held_session(client)
    with Session(services_of(client.app).db_engine) as db:
        failed = add_grade(
            db=db,
            session_id=sid,
            persona_id=PERSONA,
            persona_version=1,
            result=GradeResult(
                transcript_id=sid,
                rubric_id="core-conditions",
                rubric_version=1,
                engine="llm",
                status="failed",
                reason="the model's answer was malformed twice",
            ),
        )
    page = client.get(f"/sessions/{sid}/report?grade={failed.id}")
    assert page.status_code == 200
    assert "This grade failed." in page.text and "malformed twice" in page.text
    assert 'data-testid="overall"' not in page.text
    # Without ?grade the page shows the newest usable grade, never the failed one.
    assert "This grade failed." not in client.get(f"/sessions/{sid}/report").text


def test_a_reflection_that_only_says_the_clients_words_back_is_not_shown_as_help(
    client: TestClient,
) -> None:
    """A parroted reflection earns a quarter of the credit; the transcript says so."""
    sid = client.post("/api/sessions", json={"persona_id": PERSONA}).json()["id"]
    last = client.get(f"/api/sessions/{sid}").json()["turns"][0]["text"]
    for _ in range(10):
        echo = "So " + last.split(". ")[0].rstrip(".").lower() + "."
        answer = client.post(f"/api/sessions/{sid}/turns", json={"text": echo})
        last = answer.json()["client_turn"]["text"]
    assert client.post(f"/api/sessions/{sid}/end").status_code == 200
    self_rate(client, sid)
    words = text_of(client.get(f"/sessions/{sid}/report", headers={"Accept": "text/html"}).text)
    assert "their words said back word for word, so it counts for little" in words
    assert "reflected back what the client said (helped)" not in words
    # The PDF's evidence list says the same.
    pdf = PdfReader(io.BytesIO(client.get(f"/sessions/{sid}/export.pdf").content))
    printed = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert "(their words said back word for word, so it counts for little)" in printed
