"""Agreement between the auto-grader and assessors: the statistics and the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.review.agreement import icc_2_1, mean_absolute_difference, weighted_kappa
from tests.accounts import add_cohort, add_user, auth_settings, hold_session, sign_in


def test_icc_matches_shrout_and_fleiss() -> None:
    # Shrout & Fleiss (1979), table 2: six targets, four judges; ICC(2,1) = 0.29.
    ratings = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
               [6, 2, 4, 7]]
    assert icc_2_1(ratings) == pytest.approx(0.2898, abs=1e-3)


def test_weighted_kappa_reduces_to_cohens_kappa_on_two_levels() -> None:
    # 50 cases, 20 agree on 1, 15 on 2, 5 + 10 disagree: p_o 0.7, p_e 0.5, κ = 0.4.
    pairs = [(1, 1)] * 20 + [(1, 2)] * 5 + [(2, 1)] * 10 + [(2, 2)] * 15
    assert weighted_kappa(pairs, low=1, high=5) == pytest.approx(0.4)


def test_weighted_kappa_weights_near_misses_less_than_far_ones() -> None:
    near = [(1, 2), (2, 3), (3, 4), (4, 5), (5, 5), (1, 1)]
    far = [(1, 5), (2, 5), (3, 1), (4, 1), (5, 5), (1, 1)]
    assert weighted_kappa(near, low=1, high=5) > 0.6 > weighted_kappa(far, low=1, high=5)
    perfect = [(1, 1), (3, 3), (5, 5)]
    assert weighted_kappa(perfect, low=1, high=5) == pytest.approx(1.0)
    assert icc_2_1([[a, b] for a, b in perfect]) == pytest.approx(1.0)


def test_undefined_figures_are_none_not_numbers() -> None:
    assert mean_absolute_difference([]) is None
    assert weighted_kappa([(3, 3)], low=1, high=5) is None
    assert weighted_kappa([(3, 3), (3, 3)], low=1, high=5) is None  # one level used
    assert icc_2_1([[3, 3]]) is None
    assert mean_absolute_difference([(3, 4), (2, 2.5)]) == pytest.approx(0.75)


@pytest.fixture
def app(tmp_path: Path, db_url: str):
    application = create_app(auth_settings(tmp_path, db_url))
    with TestClient(application):
        yield application


def test_the_agreement_page_counts_released_reviews_per_criterion(app) -> None:
    a = add_cohort(app, "A")
    add_user(app, "ana@example.org", cohorts=(a,))
    add_user(app, "marker@example.org", role="assessor", cohorts=(a,))
    ana = sign_in(app, "ana@example.org")
    marker = sign_in(app, "marker@example.org")
    sessions = [hold_session(ana) for _ in range(3)]
    unreleased = hold_session(ana)
    empathy_autos = []
    for number, sid in enumerate(sessions):
        desk = marker.get(f"/api/desk/sessions/{sid}").json()
        marks = []
        for c in desk["grade"]["criteria"]:
            if c["id"] == "empathy":
                empathy_autos.append(c["score"])
                marks.append({"criterion": "empathy", "decision": "override",
                              "score": 1.0 + number, "reason": "differs"})
            else:
                marks.append({"criterion": c["id"], "decision": "accept"})
        marker.put(f"/api/desk/sessions/{sid}/review", json={"marks": marks})
        assert marker.post(f"/api/desk/sessions/{sid}/release").status_code == 200
    desk = marker.get(f"/api/desk/sessions/{unreleased}").json()
    marker.put(f"/api/desk/sessions/{unreleased}/review", json={"marks": [
        {"criterion": "empathy", "decision": "override", "score": 1.0, "reason": "draft"}]})
    figures = marker.get("/api/desk/agreement", params={"cohort": a.id}).json()
    rows = {r["criterion"]: r for r in figures["criteria"]}
    empathy = rows["empathy"]
    assert empathy["n"] == 3 and empathy["overridden"] == 3  # the draft does not count
    expected = sum(abs(auto - (1.0 + i)) for i, auto in enumerate(empathy_autos)) / 3
    assert empathy["mad"] == pytest.approx(expected)
    assert rows["respect"]["mad"] == 0 and rows["respect"]["overridden"] == 0
    assert rows["overall"]["n"] == 3  # sessions, not criteria times sessions
    page = marker.get("/desk/agreement", params={"cohort": a.id})
    assert page.status_code == 200 and "ICC(2,1)" in page.text
    assert '<tr data-criterion="empathy">' in page.text


def test_one_session_is_too_few_overall_as_for_each_criterion(app) -> None:
    a = add_cohort(app, "A")
    add_user(app, "ana@example.org", cohorts=(a,))
    add_user(app, "marker@example.org", role="assessor", cohorts=(a,))
    ana = sign_in(app, "ana@example.org")
    marker = sign_in(app, "marker@example.org")
    sid = hold_session(ana)
    desk = marker.get(f"/api/desk/sessions/{sid}").json()
    marks = [{"criterion": c["id"], "decision": "override", "score": 1.0 + i % 4,
              "reason": "spread"} for i, c in enumerate(desk["grade"]["criteria"])]
    assert len(marks) >= 2
    answer = marker.put(f"/api/desk/sessions/{sid}/review", json={"marks": marks})
    assert answer.status_code == 200, answer.text
    assert marker.post(f"/api/desk/sessions/{sid}/release").status_code == 200
    rows = {r["criterion"]: r
            for r in marker.get("/api/desk/agreement", params={"cohort": a.id}).json()["criteria"]}
    assert all(rows[m["criterion"]]["weighted_kappa"] is None for m in marks)
    overall = rows["overall"]
    assert overall["n"] == 1
    assert overall["weighted_kappa"] is None and overall["icc"] is None
    page = marker.get("/desk/agreement", params={"cohort": a.id}).text
    assert "All criteria" not in page and "Overall" in page
