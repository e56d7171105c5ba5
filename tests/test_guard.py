"""The role guard: its precision and recall on the labelled set, and its individual checks."""

from __future__ import annotations

from collections import Counter

import pytest

from app.client.guard import GuardEvent, check_reply, clean_reply, correction_for
from app.client.state import ClientState, ReplyPlan
from app.config import PROJECT_ROOT
from app.persona import Persona, load_library
from tests.guard_cases import BAD, CASES, GOOD, PERSONA_DATA, Case

PRECISION_FLOOR = 0.9
RECALL_FLOOR = 0.85

PERSONA = Persona.model_validate(PERSONA_DATA)
PERSONAS_DIR = PROJECT_ROOT / "personas"


def _context(case: Case) -> tuple[ClientState, ReplyPlan]:
    state = ClientState(trust=2.0, turn=1, unlocked=list(case.unlocked))
    plan = ReplyPlan(turn=1, reaction="heard", trust_before=2.0, trust_after=2.0)
    return state, plan


def _judge(case: Case) -> list[GuardEvent]:
    state, plan = _context(case)
    text = clean_reply(case.text, persona=PERSONA)
    return check_reply(text, persona=PERSONA, state=state, plan=plan)


def test_labelled_set_is_big_enough_and_balanced() -> None:
    assert len(CASES) >= 60
    assert len(GOOD) >= 25 and len(BAD) >= 25
    assert len({c.text for c in CASES}) == len(CASES), "duplicate case"


def test_guard_precision_and_recall_on_labelled_set() -> None:
    tp = fp = fn = tn = 0
    kind_hits: Counter[str] = Counter()
    kind_total: Counter[str] = Counter()
    misses: list[str] = []
    false_alarms: list[str] = []
    for case in CASES:
        events = _judge(case)
        flagged = bool(events)
        if case.bad:
            kind_total[case.expect[0]] += 1
            if flagged:
                tp += 1
                kind_hits[case.expect[0]] += 1
            else:
                fn += 1
                misses.append(case.text)
        elif flagged:
            fp += 1
            false_alarms.append(f"{case.text}  <- {events[0].kind}: {events[0].detail}")
        else:
            tn += 1
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    print(
        f"\nrole guard on {len(CASES)} labelled replies ({len(BAD)} role breaks, "
        f"{len(GOOD)} in role): precision {precision:.3f}, recall {recall:.3f} "
        f"(tp={tp} fp={fp} fn={fn} tn={tn})"
    )
    for kind in sorted(kind_total):
        print(f"  recall {kind:<16} {kind_hits[kind]}/{kind_total[kind]}")
    for text in misses:
        print(f"  missed: {text!r}")
    for text in false_alarms:
        print(f"  false alarm: {text!r}")
    assert precision >= PRECISION_FLOOR
    assert recall >= RECALL_FLOOR


@pytest.mark.parametrize(
    ("case_text", "kind"),
    [(c.text, c.expect[0]) for c in BAD if c.expect],
)
def test_flagged_role_breaks_name_the_right_kind(case_text: str, kind: str) -> None:
    case = next(c for c in BAD if c.text == case_text)
    events = _judge(case)
    if events:  # a miss is counted by the recall test; a hit must be for the right reason
        assert set(case.expect) & {e.kind for e in events}, [e.kind for e in events]


def test_leak_depends_on_what_is_unlocked() -> None:
    text = "I haven't told my partner I'm on a final warning at the depot."
    locked = _judge(Case(text, unlocked=("surface",)))
    unlocked = _judge(Case(text, unlocked=("surface", "shame")))
    assert [e.kind for e in locked] == ["locked_leak"]
    assert unlocked == []


def test_the_layer_disclosed_this_turn_is_not_a_leak() -> None:
    state = ClientState(trust=4.2, turn=2, unlocked=["surface"])
    plan = ReplyPlan(
        turn=2,
        reaction="heard",
        trust_before=3.1,
        trust_after=4.2,
        disclose="shame",
        lines=["I haven't told my partner I'm on a final warning at the depot."],
    )
    text = "I haven't told my partner. I'm on a final warning."
    assert check_reply(text, persona=PERSONA, state=state, plan=plan) == []


def test_length_allows_some_slack_over_max_sentences() -> None:
    state, plan = _context(Case("x"))
    seven = " ".join(f"It's work, day {i}." for i in range(7))
    eight = " ".join(f"It's work, day {i}." for i in range(8))
    assert check_reply(seven, persona=PERSONA, state=state, plan=plan) == []
    assert [e.kind for e in check_reply(eight, persona=PERSONA, state=state, plan=plan)] == [
        "too_long"
    ]


def test_empty_reply_is_rejected() -> None:
    state, plan = _context(Case("x"))
    assert [e.kind for e in check_reply("  ", persona=PERSONA, state=state, plan=plan)] == ["empty"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Sam: It's fine, I guess.", "It's fine, I guess."),
        ("Client: Yeah.", "Yeah."),
        ("**Sam:** Yeah.", "Yeah."),
        ('"I dunno. It\'s work."', "I dunno. It's work."),
        ("\u201cNot really.\u201d", "Not really."),
        ("Note: I'm fine.", "Note: I'm fine."),
        ('"Fine," I said. "Fine."', '"Fine," I said. "Fine."'),
    ],
)
def test_clean_reply_strips_labels_and_wrapping_quotes(raw: str, clean: str) -> None:
    assert clean_reply(raw, persona=PERSONA) == clean


def test_events_carry_the_action_and_a_correction_names_the_reasons() -> None:
    events = [GuardEvent("ai_reference", "spoke as an AI"), GuardEvent("too_long", "9 > 3")]
    assert events[0].as_meta(action="regenerate") == {
        "kind": "ai_reference",
        "detail": "spoke as an AI",
        "action": "regenerate",
    }
    note = correction_for(events, persona=PERSONA)
    assert "AI" in note and "too long" in note and "Sam" in note and "3 sentences" in note


def test_guard_is_fast() -> None:
    import time

    state, plan = _context(Case("x"))
    started = time.perf_counter()
    for case in CASES:
        check_reply(case.text, persona=PERSONA, state=state, plan=plan)
    per_reply_ms = (time.perf_counter() - started) * 1000 / len(CASES)
    assert per_reply_ms < 2.0, per_reply_ms


def _shipped() -> list[Persona]:
    return list(load_library(PERSONAS_DIR).values())


def _everyday_lines(persona: Persona) -> list[str]:
    reactions = persona.reactions
    lines = [persona.style.opening_line]
    for kind in type(reactions).model_fields:
        lines.extend(getattr(reactions, kind))
    for test in persona.boundary_tests:
        lines.extend((test.says, test.if_held, test.if_crossed))
    return lines


def test_shipped_personas_own_lines_pass_the_guard() -> None:
    """Every line a trainer wrote is in role: a guard event on one is a false alarm."""
    checked = alarms = 0
    for persona in _shipped():
        ids = [layer.id for layer in persona.disclosures]
        for depth, layer in enumerate(persona.disclosures):
            state = ClientState(trust=layer.min_trust, turn=30, unlocked=ids[: depth + 1])
            plan = ReplyPlan(turn=30, reaction="heard", trust_before=1.0, trust_after=1.0)
            said = [
                line
                for open_layer in persona.disclosures[: depth + 1]
                for line in (open_layer.says, *(m.says for m in open_layer.elaborations))
            ]
            for line in said + _everyday_lines(persona):
                checked += 1
                events = check_reply(line, persona=persona, state=state, plan=plan)
                if events:
                    alarms += 1
                    print(f"  false alarm [{persona.id}]: {line!r} <- {events[0].detail}")
    print(f"\nshipped persona lines checked: {checked}, false alarms: {alarms}")
    assert checked > 500
    assert alarms / checked <= 0.01


def test_locked_lines_said_early_are_caught() -> None:
    """A model never sees a locked layer, so a leak is a coincidence; verbatim ones are caught."""
    total = caught = 0
    for persona in _shipped():
        ids = [layer.id for layer in persona.disclosures]
        for depth in range(len(ids) - 1):
            state = ClientState(trust=0.0, turn=30, unlocked=ids[: depth + 1])
            plan = ReplyPlan(turn=30, reaction="heard", trust_before=0.0, trust_after=0.0)
            for layer in persona.disclosures[depth + 1 :]:
                for line in (layer.says, *(m.says for m in layer.elaborations)):
                    total += 1
                    events = check_reply(line, persona=persona, state=state, plan=plan)
                    caught += any(e.kind == "locked_leak" for e in events)
    rate = caught / total
    print(f"\nlocked lines said verbatim too early: {caught}/{total} caught ({rate:.2f})")
    assert total > 100 and rate >= 0.85
