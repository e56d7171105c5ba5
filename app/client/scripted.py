"""The scripted engine: composes replies from the persona's own lines, offline and deterministic."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import AsyncIterator

from app.client.engine import ReplyEvent, ReplyRequest
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
}


def _sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(text.strip()) if part]


def _trim(text: str, limit: int) -> str:
    """Keep at most `limit` sentences of a reaction line."""
    parts = _sentences(text)
    return " ".join(parts[:limit]) if parts else text


def compose(persona: Persona, lines: list[str], *, disclosing: bool, rng: random.Random) -> str:
    """Join a plan's lines in the persona's conversational style."""
    style = persona.style
    limit = style.max_sentences
    out: list[str] = []
    for i, line in enumerate(lines):
        # Disclosures and boundary lines are said whole; the persona wrote them to be said.
        is_reaction = i == 0 and not disclosing and len(lines) == 1
        out.append(_trim(line, limit) if is_reaction else line)
    text = " ".join(out).strip()
    phrases = [p for p in style.phrases if p.lower() not in text.lower()]
    if phrases and rng.random() < _PHRASE_RATE[style.conversational_style]:
        phrase = rng.choice(phrases).strip()
        if not phrase.endswith((".", "!", "?", "…", ",")):
            phrase += "."
        if style.conversational_style in {"reserved", "pleasing"}:
            text = f"{text} {phrase}" if style.conversational_style == "pleasing" else (
                f"{phrase} {text}"
            )
        elif style.conversational_style == "upset":
            text = f"{phrase} {text}"
        else:
            text = f"{text} {phrase}"
    return text


class ScriptedEngine:
    """Offline engine: never calls a model, so it is fast, free and reproducible."""

    name = "scripted"
    model: str | None = None
    demo_quality = False

    def __init__(self, *, chunk_delay: float = 0.0) -> None:
        # A small delay between words makes the typing visible in the browser; tests use 0.
        self._chunk_delay = chunk_delay

    async def reply(self, request: ReplyRequest) -> AsyncIterator[ReplyEvent]:
        """Stream the composed reply word by word, then `done`."""
        started = time.perf_counter()
        rng = random.Random(f"{request.seed}:{request.plan.turn}:voice")
        text = compose(
            request.persona,
            request.plan.lines,
            disclosing=request.plan.disclose is not None or request.plan.elaborate is not None,
            rng=rng,
        )
        first_at: float | None = None
        for word in _WORD.findall(text):
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
