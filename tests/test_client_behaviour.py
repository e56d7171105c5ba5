"""The simulated client across the shipped library: trust earned, layers gated, tests fired."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.client.state import initial_state
from app.persona import Persona, load_library
from tests.counsellors import poor, simulate, skilled
from tests.fresh import in_fresh_process

LIBRARY = load_library(Path(__file__).resolve().parent.parent / "personas")
PERSONAS = list(LIBRARY.values())
IDS = [p.id for p in PERSONAS]


def layer_lines(persona: Persona) -> dict[str, list[str]]:
    return {layer.id: [layer.says, *layer.more] for layer in persona.disclosures}


@pytest.mark.parametrize("persona", PERSONAS, ids=IDS)
def test_skilled_counsellor_reaches_the_deepest_layer_within_20_turns(persona: Persona) -> None:
    run = simulate(persona, skilled(persona), turns=20)
    deepest = persona.disclosures[-1].id
    assert deepest in run.disclosed(), (
        f"{persona.id}: reached {run.disclosed()} with trust {[s.state.trust for s in run.steps]}"
    )
    assert run.steps[-1].state.trust > persona.trust.initial


@pytest.mark.parametrize("persona", PERSONAS, ids=IDS)
def test_poor_counsellor_never_gets_past_the_first_layer(persona: Persona) -> None:
    run = simulate(persona, poor(), turns=20)
    assert set(run.disclosed()) <= {persona.disclosures[0].id}
    assert run.steps[-1].state.trust < persona.trust.initial
    withdrawn = sum(step.plan.withdrawn for step in run.steps)
    assert withdrawn >= 10


@pytest.mark.parametrize("persona", PERSONAS, ids=IDS)
@pytest.mark.parametrize("who", ["skilled", "poor", "crossing"])
def test_no_layer_is_said_before_its_trust_and_turn(persona: Persona, who: str) -> None:
    counsellor = {
        "skilled": skilled(persona),
        "poor": poor(),
        "crossing": skilled(persona, cross=True),
    }[who]
    run = simulate(persona, counsellor, turns=25)
    gates = {layer.id: layer for layer in persona.disclosures}
    opened: dict[str, int] = {}
    for step in run.steps:
        for layer_id, lines in layer_lines(persona).items():
            if any(line in step.reply for line in lines):
                layer = gates[layer_id]
                opened.setdefault(layer_id, step.plan.turn)
                # At the moment a layer is first said, its gates must be open.
                if opened[layer_id] == step.plan.turn:
                    assert step.state.trust >= layer.min_trust, (layer_id, step.state.trust)
                    assert step.plan.turn >= layer.min_turn, (layer_id, step.plan.turn)
                assert layer_id in step.state.unlocked


@pytest.mark.parametrize("persona", PERSONAS, ids=IDS)
def test_each_boundary_test_fires_and_the_reply_depends_on_the_student(persona: Persona) -> None:
    held = simulate(persona, skilled(persona), turns=25)
    crossed = simulate(persona, skilled(persona, cross=True), turns=25)
    for test in persona.boundary_tests:
        fired = [s for s in held.steps if s.plan.boundary_fire == test.id]
        assert len(fired) == 1, f"{test.id} fired {len(fired)} times"
        assert fired[0].plan.turn >= test.at_turn
        assert test.says in fired[0].reply
        after_held = next(s for s in held.steps if s.plan.boundary_outcome == (test.id, "held"))
        after_crossed = next(
            s for s in crossed.steps if s.plan.boundary_outcome == (test.id, "crossed")
        )
        assert test.if_held in after_held.reply
        assert test.if_crossed in after_crossed.reply
        assert test.if_crossed not in after_held.reply
        held_move = after_held.plan.trust_after - after_held.plan.trust_before
        crossed_move = after_crossed.plan.trust_after - after_crossed.plan.trust_before
        assert crossed_move < held_move


@pytest.mark.parametrize(
    "persona",
    [p for p in PERSONAS if any(layer.risk for layer in p.disclosures)],
    ids=lambda p: p.id,
)
def test_risk_layer_answered_with_safety_or_missed(persona: Persona) -> None:
    run = simulate(persona, skilled(persona), turns=25)
    risk_layer = next(layer for layer in persona.disclosures if layer.risk)
    assert risk_layer.id in run.disclosed()
    outcome = next(s for s in run.steps if s.plan.risk_outcome)
    assert outcome.plan.risk_outcome == (risk_layer.id, "answered")
    assert any(line in outcome.reply for line in risk_layer.after_safety)


def seeded_replies(seed: int = 3) -> list[str]:
    """A skilled session's replies under one seed (called here and in a fresh process)."""
    persona = PERSONAS[0]
    return [s.reply for s in simulate(persona, skilled(persona), turns=12, seed=seed).steps]


def test_same_seed_same_session_in_any_process() -> None:
    here = seeded_replies()
    assert in_fresh_process("tests.test_client_behaviour:seeded_replies") == here
    assert initial_state(PERSONAS[0]).trust == PERSONAS[0].trust.initial


def test_trust_moves_at_most_max_step_per_turn() -> None:
    for persona in PERSONAS:
        for counsellor in (skilled(persona), poor()):
            run = simulate(persona, counsellor, turns=15)
            for step in run.steps:
                moved = abs(step.plan.trust_after - step.plan.trust_before)
                assert moved <= persona.trust.max_step + 1e-9
                assert 0 <= step.state.trust <= 10
