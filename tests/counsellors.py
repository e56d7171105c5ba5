"""Counsellor lines for grading tests, and the shipped self-test scripts as test counsellors.

The sessions run through the app's own turn step (app.client.turn), never a copy of it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from app.client.selftest import ScriptCounsellor, load_scripts
from app.client.state import ClientState, ReplyPlan
from app.client.turn import run_session
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


def _script(script_id: str):
    return next(s for s in load_scripts() if s.id == script_id)


def skilled(persona: Persona, *, cross: bool = False) -> ScriptCounsellor:
    """The shipped good script; with cross=True it crosses every boundary test instead."""
    script = _script("good-spoken")
    if cross:
        script = replace(script, boundary=_script("poor-spoken").boundary)
    return ScriptCounsellor(script, persona, seed=7)


def poor(persona: Persona) -> ScriptCounsellor:
    """The shipped poor script: advice, judgement and rapid closed questions."""
    return ScriptCounsellor(_script("poor-spoken"), persona, seed=7)


def simulate(persona: Persona, counsellor, *, turns: int = 20, seed: int = 7) -> Run:
    """Hold a session through the app's own turn step and scripted voice."""
    session = run_session(persona, counsellor, turns=turns, seed=seed)
    return Run(persona=persona, steps=[
        Step(student=e.student, plan=e.step.plan, state=e.step.state, reply=e.reply)
        for e in session.exchanges
    ])
