"""Unit tests of the turn analyzer (app.analysis): codes, empathy levels, evidence, API."""

from __future__ import annotations

import dataclasses
import time

import pytest

from app.analysis import (
    CODES,
    MECHANISMS,
    ContextTurn,
    Evidence,
    TurnAnalysis,
    analysis_to_json,
    analyze_transcript,
    analyze_turn,
)
from tests.analysis_cases import CASES, Case
from tests.fresh import in_fresh_process, same_as_here

# Codes whose false positives hurt a student (the client withdraws, the grade drops).
HARMFUL = ("judgement", "advice_without_permission", "minimising", "boundary_crossing")


def _context(case: Case) -> list[ContextTurn]:
    turns = [ContextTurn(speaker=s, text=t) for s, t in case.history]
    if case.client is not None:
        turns.append(ContextTurn(speaker="client", text=case.client))
    return turns


def _analyse(case: Case) -> TurnAnalysis:
    return analyze_turn(case.text, context=_context(case))


def test_enough_cases_and_every_code_covered() -> None:
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
    covered = {code for case in CASES for code in case.present}
    assert covered == set(CODES)
    assert sum(bool(c.empathy) for c in CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_expected_codes(case: Case) -> None:
    result = _analyse(case)
    missing = [code for code in case.present if code not in result.codes]
    assert not missing, f"missing {missing}; got {result.codes}"
    unwanted = [code for code in case.absent if code in result.codes]
    assert not unwanted, f"unexpected {unwanted}; got {result.codes}"
    false_harm = [code for code in HARMFUL if code in result.codes and code not in case.present]
    assert not false_harm, f"harmful false positive {false_harm}; got {result.codes}"


EMPATHY_CASES = [c for c in CASES if c.empathy]


@pytest.mark.parametrize("case", EMPATHY_CASES, ids=[c.id for c in EMPATHY_CASES])
def test_expected_empathy(case: Case) -> None:
    result = _analyse(case)
    got = {m: result.empathy[m] for m in case.empathy}
    assert got == case.empathy


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_result_shape_and_evidence(case: Case) -> None:
    result = _analyse(case)
    assert result.codes, "codes are never empty"
    assert len(set(result.codes)) == len(result.codes)
    assert list(result.codes) == sorted(result.codes, key=CODES.index)
    assert set(result.codes) <= set(CODES)
    assert ("other" in result.codes) == (result.codes == ("other",))
    assert set(result.empathy) == set(MECHANISMS)
    assert all(level in (0, 1, 2) for level in result.empathy.values())
    evidenced = {e.code for e in result.evidence}
    for code in result.codes:
        if code != "other":
            assert code in evidenced, f"no evidence for {code}"
    for item in result.evidence:
        assert item.code in result.codes
        assert item.quote.strip()
        assert item.quote in case.text, f"quote {item.quote!r} is not verbatim"


def test_public_constants_are_stable() -> None:
    assert CODES == (
        "reflection_simple", "reflection_complex", "question_open", "question_closed",
        "affirmation", "validation", "summary", "information", "advice_with_permission",
        "advice_without_permission", "judgement", "reassurance", "minimising",
        "self_disclosure", "boundary_crossing", "boundary_holding", "risk_inquiry",
        "safety_response", "other",
    )
    assert MECHANISMS == ("emotional_reactions", "interpretations", "explorations")


def test_types_are_frozen() -> None:
    result = analyze_turn("You're not sleeping much.")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.codes = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Evidence(code="other", quote="x").code = "judgement"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ContextTurn(speaker="client", text="x").text = "y"  # type: ignore[misc]


@pytest.mark.parametrize("text", ["", "   ", "...", "\n\n", "?"], ids=repr)
def test_empty_or_punctuation_only_turn_is_other(text: str) -> None:
    result = analyze_turn(text)
    assert result.codes == ("other",)
    assert result.evidence == ()
    assert result.empathy == dict.fromkeys(MECHANISMS, 0)


def analysed_cases() -> list[dict]:
    """Every case's analysis as JSON (called here and in a fresh process)."""
    return [analysis_to_json(i, _analyse(case)) for i, case in enumerate(CASES)]


def test_deterministic_across_processes() -> None:
    here = analysed_cases()
    assert in_fresh_process("tests.test_analysis:analysed_cases") == same_as_here(here)
    # Not a constant answer: the cases are read as many different things.
    assert len({tuple(a["codes"]) for a in here}) > 10


def test_context_changes_the_reading_of_a_yes() -> None:
    reply = "Yeah, that would be lovely."
    assert "boundary_crossing" not in analyze_turn(reply).codes
    invited = [ContextTurn(speaker="client", text="Could we go for dinner after our last session?")]
    assert "boundary_crossing" in analyze_turn(reply, context=invited).codes


def test_context_makes_advice_welcome() -> None:
    advice = "You could try a wind-down routine without screens."
    assert "advice_without_permission" in analyze_turn(advice).codes
    asked = [ContextTurn(speaker="client", text="Have you got any tips for sleeping?")]
    codes = analyze_turn(advice, context=asked).codes
    assert "advice_with_permission" in codes
    assert "advice_without_permission" not in codes


def test_risk_context_turns_thanks_into_safety_response() -> None:
    thanks = "Thank you for telling me that."
    assert "safety_response" not in analyze_turn(thanks).codes
    risky = [ContextTurn(speaker="client", text="I've been thinking about killing myself.")]
    assert "safety_response" in analyze_turn(thanks, context=risky).codes


def test_only_the_client_turn_counts_as_an_invitation() -> None:
    # The counsellor mentioning coffee is not a client invitation to accept.
    history = [ContextTurn(speaker="counsellor", text="Would you like a coffee before we start?")]
    assert "boundary_crossing" not in analyze_turn("Sure.", context=history).codes


TRANSCRIPT = [
    ContextTurn("counsellor", "Hi Sam, come in. What brings you here today?"),
    ContextTurn("client", "My GP said I should come. Work's been a lot."),
    ContextTurn("counsellor", "Work's been a lot."),
    ContextTurn("client", "Yeah. I'm not sleeping, and I'm on a final warning."),
    ContextTurn("client", "And I haven't told my partner."),
    ContextTurn("counsellor", "You should tell your partner."),
]


def test_analyze_transcript_indexes_counsellor_turns() -> None:
    results = analyze_transcript(TRANSCRIPT)
    assert [index for index, _ in results] == [0, 2, 5]
    assert "question_open" in results[0][1].codes
    assert "reflection_simple" in results[1][1].codes
    assert "advice_without_permission" in results[2][1].codes
    # Each turn is analysed with the turns before it as context: "yes" to an invitation crosses
    # a boundary only after the invitation.
    invited = [ContextTurn("client", "Could we go for dinner after our last session?"),
               ContextTurn("counsellor", "Yeah, that would be lovely.")]
    assert "boundary_crossing" in analyze_transcript(invited)[0][1].codes
    assert "boundary_crossing" not in analyze_transcript(invited[1:])[0][1].codes


def test_analyze_transcript_without_counsellor_turns() -> None:
    assert analyze_transcript([ContextTurn("client", "Hello?")]) == []
    assert analyze_transcript([]) == []


def test_analysis_to_json() -> None:
    analysis = analyze_turn("What's been the hardest part of this week for you?")
    payload = analysis_to_json(7, analysis)
    assert payload == {
        "turn": 7,
        "codes": list(analysis.codes),
        "empathy": {m: analysis.empathy[m] for m in MECHANISMS},
    }
    assert list(payload["empathy"]) == list(MECHANISMS)
    assert payload["codes"] == ["question_open"]


def test_quotes_survive_typographic_text() -> None:
    text = "Honestly?  You’re being  ridiculous…\nWhy would you do that?"
    result = analyze_turn(text)
    assert "judgement" in result.codes
    assert all(e.quote in text for e in result.evidence)


def test_long_transcript_is_fast() -> None:
    lines = [case.text for case in CASES]
    turns: list[ContextTurn] = []
    for i in range(60):
        turns.append(ContextTurn("client", "I'm not sure. Work's been a lot and I can't sleep."))
        turns.append(ContextTurn("counsellor", lines[i % len(lines)]))
    analyze_transcript(turns[:4])  # warm up
    started = time.perf_counter()
    results = analyze_transcript(turns)
    elapsed = time.perf_counter() - started
    assert len(results) == 60
    # Target is well under 1 ms per turn; the bound leaves room for slow CI machines.
    assert elapsed < 0.5, f"60 counsellor turns took {elapsed:.3f}s"
