"""Blind second marking: one rule for every view of a session's marking.

The second marker sees none of the first marker's scores, reasons, comment or notes until both
have submitted; the student sees nothing until release, then only the released review. Checked
on the desk page and its API, the PDF, the interchange JSON, the cohort CSV and the student's
own pages and API.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from app.main import create_app
from tests.accounts import add_cohort, add_user, auth_settings, hold_session, sign_in

FIRST = ("FIRST-REASON-advice-came-early", "FIRST-COMMENT-slow-down", "FIRST-NOTE-on-turn-5")
SECOND = ("SECOND-REASON-too-harsh", "SECOND-COMMENT-kinder", "SECOND-NOTE-on-turn-3")


@pytest.fixture
def world(tmp_path: Path, db_url: str):
    app = create_app(auth_settings(tmp_path, db_url))
    with TestClient(app):
        cohort = add_cohort(app, "Blind cohort", second_marking=True)
        add_user(app, "ana@example.org", cohorts=(cohort,))
        add_user(app, "first@example.org", role="assessor", cohorts=(cohort,))
        add_user(app, "second@example.org", role="assessor", cohorts=(cohort,))
        ana = sign_in(app, "ana@example.org")
        sid = hold_session(ana)
        yield {
            "app": app, "sid": sid, "cohort": cohort.id, "ana": ana,
            "first": sign_in(app, "first@example.org"),
            "second": sign_in(app, "second@example.org"),
        }


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def mark(client: TestClient, sid: str, secrets: tuple[str, str, str], *, score: float,
         note_turn: int) -> None:
    """Override the first criterion, accept the rest, note a turn, and submit."""
    reason, comment, note = secrets
    criteria = client.get(f"/api/desk/sessions/{sid}").json()["grade"]["criteria"]
    marks = [{"criterion": c["id"], "decision": "accept"} for c in criteria]
    marks[0] = {"criterion": criteria[0]["id"], "decision": "override", "score": score,
                "reason": reason}
    assert client.post(f"/api/desk/sessions/{sid}/notes",
                       json={"turn": note_turn, "text": note}).status_code == 201
    saved = client.put(f"/api/desk/sessions/{sid}/review",
                       json={"marks": marks, "comment": comment, "submit": True})
    assert saved.status_code == 200, saved.text


def everything_seen(client: TestClient, sid: str, *, cohort: int | None) -> dict[str, str]:
    """Every view of the session this client can open, as text."""
    views = {
        "pdf": _pdf_text(client.get(f"/sessions/{sid}/export.pdf").content),
        "json export": client.get(f"/api/sessions/{sid}/export").text,
        "transcript page": client.get(f"/sessions/{sid}/transcript").text,
        "session api": client.get(f"/api/sessions/{sid}").text,
        "grades api": client.get(f"/api/sessions/{sid}/grades").text,
        "feedback api": client.get(f"/api/sessions/{sid}/feedback").text,
        "feedback page": client.get(f"/sessions/{sid}/feedback").text,
        "report page": client.get(f"/sessions/{sid}/report").text,
    }
    if cohort is not None:
        views["desk page"] = client.get(f"/desk/sessions/{sid}").text
        views["desk api"] = client.get(f"/api/desk/sessions/{sid}").text
        views["desk queue"] = client.get("/api/desk/queue").text
        views["cohort csv"] = client.get(f"/desk/cohorts/{cohort}/grades.csv").text
    return views


def leaks(views: dict[str, str], secrets: tuple[str, ...]) -> list[str]:
    return [f"{where}: {s}" for where, text in views.items() for s in secrets if s in text]


def test_no_view_shows_the_first_marking_to_the_second_marker_before_both_submit(world):
    sid, first, second = world["sid"], world["first"], world["second"]
    mark(first, sid, FIRST, score=1.5, note_turn=5)
    views = everything_seen(second, sid, cohort=world["cohort"])
    assert leaks(views, FIRST) == []
    assert "1.5" not in views["pdf"]
    assert '"blind":true' in views["desk api"].replace(" ", "")
    # The CSV does not even tell that the first marker has submitted.
    assert "submitted" not in views["cohort csv"]
    # The first marker's own PDF shows their work, labelled as not yet released.
    own = _pdf_text(first.get(f"/sessions/{sid}/export.pdf").content)
    assert FIRST[0] in own and FIRST[1] in own and FIRST[2] in own
    assert "marked, not released, by the assessor" in own and "released 1.5" not in own
    assert "marked, not released: 1.5 (overridden)" in own


def test_after_both_submit_each_marker_sees_the_other_and_the_student_only_the_release(world):
    sid, ana, first, second = world["sid"], world["ana"], world["first"], world["second"]
    mark(first, sid, FIRST, score=1.5, note_turn=5)
    mark(second, sid, SECOND, score=4.5, note_turn=3)
    desk = second.get(f"/desk/sessions/{sid}").text
    assert FIRST[0] in desk and FIRST[2] in desk
    # Each marker's PDF is their own marking.
    second_pdf = _pdf_text(second.get(f"/sessions/{sid}/export.pdf").content)
    assert SECOND[1] in second_pdf and FIRST[1] not in second_pdf
    # Before release the student sees neither marker's work anywhere.
    assert leaks(everything_seen(ana, sid, cohort=None), FIRST + SECOND) == []
    assert first.post(f"/api/desk/sessions/{sid}/release").status_code == 200
    after = everything_seen(ana, sid, cohort=None)
    assert leaks(after, SECOND) == []
    assert FIRST[0] in after["pdf"] and FIRST[1] in after["pdf"] and FIRST[2] in after["pdf"]
    assert "released 1.5 (overridden)" in after["pdf"]
    assert FIRST[1] in after["feedback api"]
