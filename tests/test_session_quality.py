"""The grade against the team's session corpus (corpus/sessions): whole sessions written and
labelled high or low MI quality. The overall grade must rank every high session above every
low one of similar length, and criteria about boundaries and risk must not be scored on
sessions where nothing tested them (a referral is not a safety response)."""

from __future__ import annotations

import sys
from functools import cache

from app.config import PROJECT_ROOT, Settings
from app.grading import grade_analytic, input_from_transcript
from app.rubric import DEFAULT_RUBRIC_ID, load_rubrics

sys.path.insert(0, str(PROJECT_ROOT / "bench"))
from session_quality import figures, load_sessions

SESSIONS = load_sessions([PROJECT_ROOT / "corpus" / "sessions"])
# Competent-but-plain against warm-but-directive (corpus/sessions/README.md).
HARD_SET = {"s7.jsonl", "s8.jsonl", "s9.jsonl", "s10.jsonl"}


@cache
def _grades() -> tuple:
    rubric = load_rubrics(Settings().rubrics_dir)[DEFAULT_RUBRIC_ID]
    return tuple(grade_analytic(input_from_transcript(s.transcript), rubric) for s in SESSIONS)


def test_the_corpus_has_both_qualities_at_every_length() -> None:
    assert len(SESSIONS) >= 112
    for quality in (0, 1):
        lengths = sorted(sum(t.speaker == "counsellor" for t in s.transcript.turns)
                         for s in SESSIONS if s.high == quality)
        assert lengths[0] <= 6 and lengths[-1] >= 29


def test_the_grade_separates_high_from_low_quality_within_every_length_tertile() -> None:
    result = figures(SESSIONS, _grades(), rounds=50, seed=1)
    assert result.auroc >= 0.95
    assert result.within_tertiles >= 0.93
    assert min(result.tertile_aurocs) >= 0.85
    assert result.mean_high - result.mean_low >= 0.8
    # Length alone must not do it (the corpus was written so that it cannot).
    assert 0.35 <= result.length_auroc <= 0.65


def test_the_grade_separates_the_hard_set_where_both_qualities_sit_near_the_line() -> None:
    hard = [i for i, s in enumerate(SESSIONS) if s.source in HARD_SET]
    assert len(hard) == 40
    result = figures([SESSIONS[i] for i in hard], [_grades()[i] for i in hard], rounds=50,
                     seed=1)
    assert result.auroc >= 0.92
    assert result.mean_high - result.mean_low >= 0.4


def test_boundaries_are_scored_only_where_something_tested_them() -> None:
    scored = [s.id for s, g in zip(SESSIONS, _grades(), strict=True)
              for c in g.criteria if c.id == "boundaries" and c.score is not None]
    # A handful of these sessions hold a risk question or state confidentiality's limits;
    # most hold no boundary test at all.
    assert len(scored) <= len(SESSIONS) // 4, scored


def test_no_session_is_blocked_for_a_risk_it_does_not_hold() -> None:
    # None of these sessions passes over a disclosure of risk; a client's "I'm not going to
    # hurt myself", answering the student's own question, is not one.
    blocked = [s.id for s, g in zip(SESSIONS, _grades(), strict=True) if g.status == "blocked"]
    assert blocked == []
