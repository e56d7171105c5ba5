"""The scripted engine: composes replies from the persona's own lines, offline and deterministic."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import AsyncIterator

from app.analysis.analyzer import CONTEXT_TURNS
from app.client.engine import ReplyEvent, ReplyRequest
from app.client.state import ReplyPlan
from app.persona import Persona

__all__ = ["ScriptedEngine", "compose"]

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_WORD = re.compile(r"\S+\s*")

# How often each conversational style reaches for one of the persona's verbal habits.
_PHRASE_RATE = {
    "plain": 0.15,
    "reserved": 0.35,
    "upset": 0.4,
    "verbose": 0.5,
    "tangent": 0.45,
    "pleasing": 0.5,
    "hostile": 0.3,
    "silent": 0.1,
    "interpreted": 0.0,
}


def _sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(text.strip()) if part]


def _trim(text: str, limit: int) -> str:
    """Keep at most `limit` sentences of a reaction line."""
    parts = _sentences(text)
    return " ".join(parts[:limit]) if parts else text


def compose(persona: Persona, plan: ReplyPlan, *, rng: random.Random) -> str:
    """Join a plan's lines in the persona's conversational style."""
    style = persona.style
    lines = list(plan.lines)
    if plan.reaction_only and lines:
        # Reaction lines bend to max_sentences; disclosures, boundary and risk lines are said
        # whole because the persona's author wrote them to be heard whole.
        lines[0] = _trim(lines[0], style.max_sentences)
    text = " ".join(line.strip() for line in lines if line.strip())
    phrases = [p for p in style.phrases if p.lower() not in text.lower()]
    if (plan.boundary_outcome or plan.risk_outcome or plan.boundary_fire
            or plan.kind in ("safety", "risk_screen", "correction")):
        # Boundary tests, the answers to them and risk responses are said exactly as the
        # author wrote them, with nothing tacked on after the question.
        phrases = []
    if not plan.reaction_only and (plan.kind == "fact"
                                   or style.conversational_style not in {"reserved", "upset"}):
        # After a disclosure, a fact or an elaboration only a lead-in fits ("honestly, ..."):
        # a habit tacked on after the author's line would undercut it. (Reserved and upset
        # clients put their habit first, except before a fact: there "I guess." or "Kinda."
        # reads as the answer to the question, and may contradict the fact after it.)
        phrases = [p for p in phrases if _is_lead_in(p)]
    if plan.reaction_only:
        # A short reaction has no room for a lead-in, and a grumble ("you wouldn't get it")
        # would contradict feeling heard.
        phrases = [p for p in phrases if not _is_lead_in(p)]
        if plan.reaction in {"heard", "validated"}:
            phrases = []
    if not phrases or rng.random() >= _PHRASE_RATE.get(style.conversational_style, 0.3):
        return text
    phrase = rng.choice(phrases).strip()
    if _is_lead_in(phrase):
        # "random, but" and "to be honest" only make sense in front of what follows.
        return f"{_capitalise(phrase.rstrip(','))}… {text}"
    if not phrase.endswith((".", "!", "?", "…")):
        phrase = phrase.rstrip(",") + "."
    # Hesitant and upset clients lead with the habit; the rest trail off with it.
    if style.conversational_style in {"reserved", "upset"}:
        return f"{_capitalise(phrase)} {text}"
    return f"{text} {_capitalise(phrase)}"


_LEAD_IN_ENDINGS = ("but", "and", "so", "me", "honest", "reckon", "mean", "like", "thing is")


def _is_lead_in(phrase: str) -> bool:
    """A verbal habit that introduces the sentence after it."""
    bare = phrase.lower().rstrip()
    return bare.endswith(",") or bare.endswith(_LEAD_IN_ENDINGS)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


class ScriptedEngine:
    """Offline engine: never calls a model, so it is fast, free and reproducible."""

    name = "scripted"
    model: str | None = None
    demo_quality = False
    # The analyzer's context window; the state travels on the last client turn.
    history_turns = CONTEXT_TURNS

    def __init__(self, *, chunk_delay: float = 0.0) -> None:
        # A small delay between words makes the typing visible in the browser; tests use 0.
        self._chunk_delay = chunk_delay

    async def check(self) -> str | None:
        """The scripted engine needs nothing: it can always reply."""
        return None

    async def aclose(self) -> None:
        """Nothing to release."""

    async def reply(self, request: ReplyRequest) -> AsyncIterator[ReplyEvent]:
        """Stream the composed reply word by word, then `done`."""
        started = time.perf_counter()
        rng = random.Random(f"{request.seed}:{request.plan.turn}:voice")
        text = compose(request.persona, request.plan, rng=rng)
        first_at: float | None = time.perf_counter() if request.whole else None
        for word in () if request.whole else _WORD.findall(text):
            if first_at is None:
                first_at = time.perf_counter()
            yield ReplyEvent(kind="delta", text=word)
            if self._chunk_delay:
                await asyncio.sleep(self._chunk_delay)
        total = time.perf_counter() - started
        yield ReplyEvent(
            kind="done",
            text=text,
            meta={
                "engine": self.name,
                "model": None,
                "ttft_ms": round(((first_at or time.perf_counter()) - started) * 1000, 3),
                "total_ms": round(total * 1000, 3),
                "prompt_tokens": None,
                "completion_tokens": None,
                "guard_events": [],
            },
        )
