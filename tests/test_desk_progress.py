"""The student's progress page: sessions over time, score plots, time practised, comments."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.main import create_app
from app.models import Turn
from app.services import services_of
from tests.accounts import add_cohort, add_user, auth_settings, hold_session, sign_in


@pytest.fixture
def app(tmp_path: Path, db_url: str):
    application = create_app(auth_settings(tmp_path, db_url))
    with TestClient(application):
        yield application


def _spread_turns(app, sid: str, gap: timedelta) -> None:
    """Pretend the turns of a session were typed `gap` apart."""
    with Session(services_of(app).db_engine) as db:
        turns = db.exec(select(Turn).where(Turn.session_id == sid)).all()
        start = min(t.created_at for t in turns)
        for turn in turns:
            turn.created_at = start + gap * turn.index
            db.add(turn)
        db.commit()


def test_progress_shows_sessions_scores_time_personas_and_released_comments(app) -> None:
    a = add_cohort(app, "A")
    add_user(app, "ana@example.org", cohorts=(a,))
    add_user(app, "marker@example.org", role="assessor", cohorts=(a,))
    ana = sign_in(app, "ana@example.org")
    first, second = hold_session(ana), hold_session(ana)
    _spread_turns(app, first, timedelta(minutes=2))  # 9 turns: 8 gaps of 2 minutes
    _spread_turns(app, second, timedelta(minutes=30))  # long pauses count 5 minutes each
    marker = sign_in(app, "marker@example.org")
    desk = marker.get(f"/api/desk/sessions/{second}").json()
    marks = [{"criterion": c["id"], "decision": "accept"} for c in desk["grade"]["criteria"]]
    marker.put(f"/api/desk/sessions/{second}/review",
               json={"marks": marks, "comment": "Lovely pacing this time."})
    marker.post(f"/api/desk/sessions/{second}/release")

    data = ana.get("/api/progress").json()
    assert [s["id"] for s in data["sessions"]] == [first, second]
    assert data["minutes_practised"] == pytest.approx(8 * 2 + 8 * 5)
    assert data["personas"] == [{"title": data["personas"][0]["title"], "sessions": 2}]
    assert data["sessions"][0]["source"] == "auto" and data["sessions"][1]["source"] == "released"
    assert data["sessions"][1]["comment"] == "Lovely pacing this time."
    assert set(data["sessions"][0]["scores"]) >= {"empathy", "respect"}

    page = ana.get("/progress").text
    assert 'data-testid="minutes">56<' in page
    plot = re.search(r'<figure class="score-plot" data-criterion="empathy">(.*?)</figure>', page,
                     re.S).group(1)
    assert plot.count('class="score-plot__point"') == 2 and "<polyline" in plot
    assert "Lovely pacing this time." in page
    assert f'href="/sessions/{second}/feedback"' in page


def test_held_grades_stay_off_the_progress_page_until_released(app) -> None:
    a = add_cohort(app, "A", auto_grades="after_release")
    add_user(app, "ana@example.org", cohorts=(a,))
    ana = sign_in(app, "ana@example.org")
    hold_session(ana)
    data = ana.get("/api/progress").json()
    assert data["sessions"][0]["scores"] == {} and data["sessions"][0]["overall"] is None
    page = ana.get("/progress").text
    assert "awaiting release" in page and 'class="score-plot"' not in page


def test_progress_works_in_single_user_mode(client: TestClient) -> None:
    sid = client.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()["id"]
    client.post(f"/api/sessions/{sid}/turns", json={"text": "What brings you here?"})
    client.post(f"/api/sessions/{sid}/end")
    assert client.get("/progress").status_code == 200
    assert client.get("/api/progress").json()["sessions"][0]["id"] == sid
