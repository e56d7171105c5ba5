"""One turn of the practice loop without a database: analyse, listen, advance, compose.

The web app, the self-test and the behaviour tests all go through `take_turn`, so what the
tests measure is what students meet. `run_session` drives a whole session in memory with the
scripted voice (the same `compose` the scripted engine streams).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from app.analysis import ContextTurn, TurnAnalysis, analyze_turn
from app.client.listen import Heard, listen
from app.client.state import ClientState, ReplyPlan, advance, initial_state
from app.persona import Persona

__all__ = ["Exchange", "Session", "TurnStep", "run_session", "take_turn"]


class _Spoken(Protocol):
    speaker: str
    text: str


@dataclass(frozen=True, slots=True)
class TurnStep:
    """Everything one student turn decided."""

    analysis: TurnAnalysis
    heard: Heard
    state: ClientState
    plan: ReplyPlan


def take_turn(
    *, persona: Persona, state: ClientState, history: Sequence[_Spoken], student_text: str,
    seed: int,
) -> TurnStep:
    """Analyse the student's words in context, read what they point at, and plan the reply."""
    context = [ContextTurn(speaker=t.speaker, text=t.text) for t in history]
    analysis = analyze_turn(student_text, context=context,
                            client_said=[t.text for t in context if t.speaker == "client"])
    last_client = next((t.text for t in reversed(history) if t.speaker == "client"), "")
    heard = listen(persona=persona, text=student_text, analysis=analysis, last_client=last_client)
    new_state, plan = advance(persona, state, analysis, seed=seed, heard=heard)
    return TurnStep(analysis=analysis, heard=heard, state=new_state, plan=plan)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One student turn and the client's reply."""

    student: str
    reply: str
    step: TurnStep


@dataclass(slots=True)
class Session:
    """A whole in-memory session."""

    persona: Persona
    opening: str
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def trust(self) -> list[float]:
        """Trust after each student turn."""
        return [e.step.state.trust for e in self.exchanges]

    @property
    def disclosed(self) -> list[str]:
        """Layer ids in the order they opened."""
        return [e.step.plan.disclose for e in self.exchanges if e.step.plan.disclose]

    @property
    def replies(self) -> list[str]:
        """The client's replies (without the opening line)."""
        return [e.reply for e in self.exchanges]


# A counsellor for run_session: given the client's last words, the state and the last plan,
# says the student's next turn.
Counsellor = Callable[[str, ClientState, ReplyPlan | None], str]


def run_session(
    persona: Persona, counsellor: Counsellor, *, turns: int, seed: int = 7
) -> Session:
    """Play `turns` student turns against the scripted voice, in memory."""
    from app.client.scripted import compose

    session = Session(persona=persona, opening=persona.style.opening_line)
    history: list[ContextTurn] = [ContextTurn(speaker="client", text=session.opening)]
    state = initial_state(persona)
    plan: ReplyPlan | None = None
    for _ in range(turns):
        student = counsellor(history[-1].text, state, plan)
        step = take_turn(persona=persona, state=state, history=history, student_text=student,
                         seed=seed)
        reply = compose(persona, step.plan, rng=random.Random(f"{seed}:{step.plan.turn}:voice"))
        session.exchanges.append(Exchange(student=student, reply=reply, step=step))
        history += [ContextTurn("counsellor", student), ContextTurn("client", reply)]
        state, plan = step.state, step.plan
    return session
