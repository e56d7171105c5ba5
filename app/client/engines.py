"""Choosing and checking client engines: scripted, llm (any OpenAI-compatible server) or local."""

from __future__ import annotations

from app.client.engine import ClientEngine
from app.client.scripted import ScriptedEngine
from app.config import Settings

__all__ = ["ENGINE_NAMES", "build_engine", "check_engine", "close_engine"]

ENGINE_NAMES = ("scripted", "llm", "local")


def build_engine(*, settings: Settings, name: str | None = None) -> ClientEngine:
    """The engine called `name` (default: `settings.engine`); never touches the network."""
    choice = name or settings.engine
    if choice == "scripted":
        return ScriptedEngine(chunk_delay=settings.stream_delay)
    # Imported here: the OpenAI client (and a local model runtime) load only on servers
    # that offer those engines, so a scripted-only server starts seconds sooner.
    if choice == "llm":
        from app.client.llm import LLMEngine

        return LLMEngine(settings=settings)
    if choice == "local":
        from app.client.local import LocalEngine

        return LocalEngine(settings=settings)
    raise ValueError(f"unknown client engine {choice!r}: choose one of {', '.join(ENGINE_NAMES)}")


async def check_engine(*, settings: Settings, engine: ClientEngine) -> str | None:
    """None if the engine can reply; else a message naming what is missing and how to fix it.

    For `llm` this asks the server for its model list (a missing key, a refused key and an
    unreachable server each get their own message); for `local` it loads the model now.
    """
    problem = await engine.check()
    if problem and settings.engine == engine.name:
        return (
            f"{problem} (RAPPORT_ENGINE={settings.engine}; set RAPPORT_ENGINE=scripted to "
            "practise offline meanwhile.)"
        )
    return problem


async def close_engine(engine: ClientEngine) -> None:
    """Release what an engine holds (connection pools, an embedded model server)."""
    await engine.aclose()
