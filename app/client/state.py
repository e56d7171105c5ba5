"""Client state: trust, unlocked layers, boundary tests and risk, moved one student turn at a time.

The state machine decides *what* the client may say next (a ReplyPlan); engines only decide
*how* to say it. Keeping the decision here means every engine obeys the same disclosure gates.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.analysis import TurnAnalysis
from app.persona import BoundaryTest, Disclosure, Persona, ReactionKind

__all__ = [
    "DEFAULT_WEIGHTS",
    "ClientState",
    "ReplyPlan",
    "advance",
    "initial_state",
    "reaction_for",
    "trust_band",
]

# Default trust weights per analyzer code; a persona's `trust.weights` override these.
DEFAULT_WEIGHTS: dict[str, float] = {
    "reflection_simple": 0.6,
    "reflection_complex": 1.1,
    "question_open": 0.5,
    "question_closed": -0.4,
    "affirmation": 0.5,
    "validation": 0.8,
    "summary": 0.8,
    "information": 0.0,
    "advice_with_permission": 0.2,
    "advice_without_permission": -1.5,
    "judgement": -2.0,
    "reassurance": -0.6,
    "minimising": -1.2,
    "self_disclosure": -0.4,
    "boundary_crossing": -1.5,
    "boundary_holding": 0.4,
    "risk_inquiry": 0.4,
    "safety_response": 0.8,
    "other": 0.0,
}

# Extra penalty when closed questions come back to back: a string of them feels like an
# interrogation even when each one alone is harmless.
INTERROGATION_PENALTY = -0.4


# Most damaging first: one judgement outweighs a reflection in the same breath.
_REACTION_PRIORITY: tuple[tuple[ReactionKind, frozenset[str]], ...] = (
    ("boundary_slip", frozenset({"boundary_crossing"})),
    ("judged", frozenset({"judgement"})),
    ("dismissed", frozenset({"minimising"})),
    ("advised", frozenset({"advice_without_permission"})),
    ("reassured", frozenset({"reassurance"})),
    ("heard", frozenset({"reflection_complex", "reflection_simple", "summary"})),
    ("validated", frozenset({"validation", "affirmation", "safety_response"})),
    ("questioned_open", frozenset({"question_open", "advice_with_permission", "risk_inquiry"})),
    ("questioned_closed", frozenset({"question_closed"})),
    ("boundary_slip", frozenset({"self_disclosure"})),
)
NEGATIVE_REACTIONS: frozenset[str] = frozenset(
    {"advised", "judged", "reassured", "dismissed", "boundary_slip"}
)

BoundaryOutcome = Literal["pending", "held", "crossed"]
RiskOutcome = Literal["pending", "answered", "missed"]


class ClientState(BaseModel):
    """What the client carries from one turn to the next; stored on every client turn."""

    model_config = ConfigDict(extra="forbid")

    trust: float
    turn: int = 0
    unlocked: list[str] = Field(default_factory=list)
    said: dict[str, int] = Field(default_factory=dict)
    boundary: dict[str, BoundaryOutcome] = Field(default_factory=dict)
    risk: dict[str, RiskOutcome] = Field(default_factory=dict)
    closed_streak: int = 0
    recent: list[str] = Field(default_factory=list)


class ReplyPlan(BaseModel):
    """The state machine's decision for one client reply, before any engine voices it."""

    model_config = ConfigDict(extra="forbid")

    turn: int
    reaction: ReactionKind
    trust_before: float
    trust_after: float
    disclose: str | None = None
    elaborate: str | None = None
    boundary_outcome: tuple[str, Literal["held", "crossed"]] | None = None
    boundary_fire: str | None = None
    risk_outcome: tuple[str, Literal["answered", "missed"]] | None = None
    lines: list[str] = Field(default_factory=list)
    reaction_only: bool = False
    withdrawn: bool = False


def initial_state(persona: Persona) -> ClientState:
    """The state before the student says anything."""
    return ClientState(trust=round(persona.trust.initial, 2))


def trust_band(trust: float) -> str:
    """Trust in words, for prompts and the transcript page."""
    if trust < 2:
        return "guarded and wary"
    if trust < 4:
        return "cautious, testing the counsellor"
    if trust < 6:
        return "warming up, willing to share more"
    if trust < 8:
        return "trusting, speaking openly"
    return "very open, able to say hard things"


def reaction_for(codes: Iterable[str]) -> ReactionKind:
    """The client's felt reaction to a student turn, from its analyzer codes."""
    present = set(codes)
    for kind, triggers in _REACTION_PRIORITY:
        if present & triggers:
            return kind
    return "neutral"


def trust_delta(persona: Persona, codes: Sequence[str], *, closed_streak: int) -> float:
    """How far one student turn moves trust, before the per-turn cap."""
    weights = {**DEFAULT_WEIGHTS, **persona.trust.weights}
    delta = sum(weights.get(code, 0.0) for code in set(codes))
    if "question_closed" in codes and closed_streak >= 1:
        delta += INTERROGATION_PENALTY
    return delta


def _available_layers(persona: Persona, state: ClientState) -> list[Disclosure]:
    """Layers whose trust and turn gates are open right now."""
    return [
        layer
        for layer in persona.disclosures
        if layer.min_trust <= state.trust and layer.min_turn <= state.turn
    ]


def _pick(rng: random.Random, options: Sequence[str], recent: Sequence[str]) -> str | None:
    """A line not said lately if there is one; deterministic for a given rng."""
    if not options:
        return None
    fresh = [line for line in options if line not in recent]
    return rng.choice(fresh or list(options))


def _reaction_lines(persona: Persona, reaction: ReactionKind) -> list[str]:
    """The persona's lines for a reaction, falling back to a close relative."""
    reactions = persona.reactions
    fallbacks: dict[str, tuple[str, ...]] = {
        "validated": ("validated", "heard"),
        "questioned_open": ("questioned_open", "heard"),
        "reassured": ("reassured", "dismissed", "advised"),
        "dismissed": ("dismissed", "judged"),
        "boundary_slip": ("boundary_slip", "neutral", "questioned_closed"),
        "neutral": ("neutral", "questioned_closed"),
    }
    for name in fallbacks.get(reaction, (reaction,)):
        lines = getattr(reactions, name)
        if lines:
            return list(lines)
    return list(reactions.heard)


def _boundary_due(persona: Persona, state: ClientState) -> BoundaryTest | None:
    """The first boundary test whose turn has come and that has not fired yet."""
    for test in persona.boundary_tests:
        if test.id not in state.boundary and test.at_turn <= state.turn:
            return test
    return None


def advance(
    persona: Persona, state: ClientState, analysis: TurnAnalysis, *, seed: int
) -> tuple[ClientState, ReplyPlan]:
    """Apply one analysed student turn; return the new state and the reply plan."""
    codes = list(analysis.codes)
    new = state.model_copy(deep=True)
    new.turn = state.turn + 1
    rng = random.Random(f"{seed}:{new.turn}")

    boundary_outcome = None
    tests = {test.id: test for test in persona.boundary_tests}
    for test_id, outcome in state.boundary.items():
        if outcome == "pending":
            # Answering a personal question with one's own story crosses that test even
            # though self-disclosure elsewhere is only a lapse.
            crossing = {"boundary_crossing"}
            if tests[test_id].kind == "self_disclosure":
                crossing.add("self_disclosure")
            result: Literal["held", "crossed"] = "crossed" if crossing & set(codes) else "held"
            new.boundary[test_id] = result
            boundary_outcome = (test_id, result)

    risk_outcome = None
    for layer_id, outcome in state.risk.items():
        if outcome == "pending":
            answered = {"safety_response", "risk_inquiry"} & set(codes)
            risk_result: Literal["answered", "missed"] = "answered" if answered else "missed"
            new.risk[layer_id] = risk_result
            risk_outcome = (layer_id, risk_result)

    raw = trust_delta(persona, codes, closed_streak=state.closed_streak)
    cap = persona.trust.max_step
    step = max(-cap, min(cap, raw))
    new.trust = round(max(0.0, min(10.0, state.trust + step)), 2)
    new.closed_streak = state.closed_streak + 1 if "question_closed" in codes else 0

    reaction = reaction_for(codes)
    plan = ReplyPlan(
        turn=new.turn,
        reaction=reaction,
        trust_before=state.trust,
        trust_after=new.trust,
        boundary_outcome=boundary_outcome,
        risk_outcome=risk_outcome,
    )
    lines: list[str] = []
    layers = {layer.id: layer for layer in persona.disclosures}

    if boundary_outcome is not None:
        test = next(t for t in persona.boundary_tests if t.id == boundary_outcome[0])
        lines.append(test.if_held if boundary_outcome[1] == "held" else test.if_crossed)
    if risk_outcome is not None:
        layer = layers[risk_outcome[0]]
        pool = layer.after_safety if risk_outcome[1] == "answered" else layer.after_missed
        line = _pick(rng, pool, new.recent)
        if line:
            lines.append(line)

    negative = reaction in NEGATIVE_REACTIONS
    plan.withdrawn = negative
    if not lines:
        if negative:
            lines.append(_pick(rng, _reaction_lines(persona, reaction), new.recent) or "")
        else:
            lines.extend(_disclose_or_react(persona, new, plan, rng))
        plan.reaction_only = plan.disclose is None and plan.elaborate is None

    due = None if any(v == "pending" for v in new.risk.values()) else _boundary_due(persona, new)
    if due is not None and plan.disclose is None:
        new.boundary[due.id] = "pending"
        plan.boundary_fire = due.id
        lines.append(due.says)

    plan.lines = [line for line in lines if line]
    new.recent = (new.recent + plan.lines)[-8:]
    return new, plan


def _disclose_or_react(
    persona: Persona, state: ClientState, plan: ReplyPlan, rng: random.Random
) -> list[str]:
    """Open a new layer, elaborate on an open one, or give the reaction line."""
    available = _available_layers(persona, state)
    fresh = [layer for layer in available if layer.id not in state.unlocked]
    if fresh:
        layer = fresh[0]
        state.unlocked.append(layer.id)
        state.said[layer.id] = 1
        plan.disclose = layer.id
        if layer.risk:
            state.risk[layer.id] = "pending"
        return [layer.says]
    if plan.reaction in {"heard", "validated", "questioned_open"}:
        # Elaborate on the deepest open layer that still has something left to say.
        for layer in reversed(available):
            count = state.said.get(layer.id, 0)
            if layer.id in state.unlocked and count - 1 < len(layer.more):
                state.said[layer.id] = count + 1
                plan.elaborate = layer.id
                return [layer.more[count - 1]]
    return [_pick(rng, _reaction_lines(persona, plan.reaction), state.recent) or ""]
