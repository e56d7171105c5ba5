"""Scripted practice counsellors for behaviour tests: one skilled, one poor, written by the team."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from app.analysis import ContextTurn, analyze_turn
from app.client.scripted import compose
from app.client.state import ClientState, ReplyPlan, advance, initial_state
from app.persona import Persona

GOOD_LINES = [
    "What's brought you here today?",
    "It sounds like this has been weighing on you for a while.",
    "That makes a lot of sense, given everything you're carrying.",
    "What's that been like for you?",
    "So part of you wants things to change, and part of you is worn out from trying.",
    "It sounds like you've been holding a lot of this on your own.",
    "Can you tell me more about that?",
    "You're feeling pretty alone with it.",
    "It took real courage to say that out loud.",
    "How has that been affecting you day to day?",
]
HOLD_BOUNDARY = (
    "I can't meet outside our sessions or keep in touch that way, but I'm really glad you feel "
    "comfortable talking with me here."
)
CROSS_BOUNDARY = {
    "self_disclosure": (
        "Yes, I have, actually. I went through exactly the same thing myself a few years ago."
    ),
    "confidentiality": "Of course. I promise I won't tell anyone, it all stays between us.",
}
CROSS_ANY = "Sure, why not! I'd love to, let's do that."
SAFETY = (
    "I'm really glad you told me that. Are you having thoughts of ending your life? "
    "I'd like us to think together about how to keep you safe."
)
POOR_LINES = [
    "You should just talk to someone about it.",
    "Do you sleep at all?",
    "Have you tried exercising more?",
    "Well, that's a pretty silly way to look at it.",
    "Is it every day?",
    "You need to pull yourself together.",
    "Did you tell anyone?",
    "Don't worry, it's not that bad.",
]


@dataclass
class Step:
    student: str
    plan: ReplyPlan
    state: ClientState
    reply: str


@dataclass
class Run:
    persona: Persona
    steps: list[Step] = field(default_factory=list)

    def disclosed(self) -> list[str]:
        return [s.plan.disclose for s in self.steps if s.plan.disclose]


Counsellor = Callable[[str, ClientState, ReplyPlan | None], str]


def skilled(persona: Persona, *, cross: bool = False) -> Counsellor:
    """Reflects, validates, asks open questions; answers tests and risk as taught."""
    lines: Iterator[str] = itertools.cycle(GOOD_LINES)
    kinds = {test.id: test.kind for test in persona.boundary_tests}

    def speak(last_client: str, state: ClientState, plan: ReplyPlan | None) -> str:
        if plan is not None and plan.boundary_fire:
            if not cross:
                return HOLD_BOUNDARY
            kind = kinds[plan.boundary_fire]
            return CROSS_BOUNDARY.get(kind, CROSS_ANY)
        if any(outcome == "pending" for outcome in state.risk.values()):
            return SAFETY
        return next(lines)

    return speak


def poor() -> Counsellor:
    """Advises, judges and fires closed questions."""
    lines = itertools.cycle(POOR_LINES)
    return lambda last_client, state, plan: next(lines)


def simulate(persona: Persona, counsellor: Counsellor, *, turns: int = 20, seed: int = 7) -> Run:
    """Hold a session through the state machine and scripted voice, as the app does."""
    import random

    state = initial_state(persona)
    history = [ContextTurn(speaker="client", text=persona.style.opening_line)]
    run = Run(persona=persona)
    plan: ReplyPlan | None = None
    for _ in range(turns):
        student = counsellor(history[-1].text, state, plan)
        analysis = analyze_turn(student, context=history)
        history.append(ContextTurn(speaker="counsellor", text=student))
        state, plan = advance(persona, state, analysis, seed=seed)
        rng = random.Random(f"{seed}:{plan.turn}:voice")
        reply = compose(persona, plan, rng=rng)
        history.append(ContextTurn(speaker="client", text=reply))
        run.steps.append(Step(student=student, plan=plan, state=state, reply=reply))
    return run
