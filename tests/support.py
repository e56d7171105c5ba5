"""Test support: per-test databases (SQLite or PostgreSQL) and real server processes."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
# Two shared cores under a parallel suite can take far longer than an idle laptop to import
# and migrate; a server that is merely slow must not fail a test.
START_TIMEOUT = 120.0
PG_URL_ENV = "RAPPORT_DATABASE_URL"


def base_database_url() -> str | None:
    """The PostgreSQL URL the suite was asked to run against, if any."""
    url = os.environ.get(PG_URL_ENV)
    return url if url and url.startswith("postgresql") else None


@contextmanager
def database_url(tmp_path: Path, *, pg: str | None = None) -> Iterator[str]:
    """A fresh, empty database for one test: a SQLite file, or a new PostgreSQL schema.

    PostgreSQL is the one at `pg`, else the one the suite was asked to run against.
    """
    pg = pg or base_database_url()
    if pg is None:
        yield f"sqlite:///{(tmp_path / 'rapport.db').as_posix()}"
        return
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg else "?"
    try:
        yield f"{pg}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def llm_env(base_url: str, *, model: str = "fake-model", **extra: str) -> dict[str, str]:
    """Server environment for the llm engine on the model server at `base_url`."""
    return {
        "RAPPORT_ENGINE": "llm",
        "RAPPORT_LLM_BASE_URL": base_url,
        "RAPPORT_LLM_API_KEY": "test-key",
        "RAPPORT_LLM_MODEL": model,
        "RAPPORT_LLM_RETRIES": "0",
        "RAPPORT_LLM_TIMEOUT": "5",
        **extra,
    }


def free_port() -> int:
    """A TCP port nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A real `uvicorn app.asgi:app` process on a free port."""

    def __init__(
        self,
        *,
        env: dict[str, str],
        port: int | None = None,
        app: str = "app.asgi:app",
        workers: int = 1,
        cli: bool = False,
    ) -> None:
        self.app = app
        self.workers = workers
        # cli: run `rapport serve` exactly as shipped (its uvicorn options included).
        self.cli = cli
        self.port = port or free_port()
        self.env = {**os.environ, **env}
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(env.get("RAPPORT_DATA_DIR", ".")) / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT) -> ServerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        if self.cli:
            command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1",
                       "--port", str(self.port), "--workers", str(self.workers)]
        else:
            # As `rapport serve` runs it: forwarded headers are the app's business. Info keeps
            # uvicorn's start-up lines, so a server that never came up says how far it got.
            command = [sys.executable, "-m", "uvicorn", self.app, "--host", "127.0.0.1",
                       "--port", str(self.port), "--log-level", "info", "--no-access-log",
                       "--no-proxy-headers"]
            if self.workers > 1:
                command += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing; what is committed is all that survives."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def self_rate(client, session_id: str) -> None:
    """The student's own reflection, which the report asks for before it opens."""
    answer = client.post(f"/api/sessions/{session_id}/self-rating",
                         json={"ratings": {}, "answers": {}})
    assert answer.status_code == 201, answer.text


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run every call on its own thread, released together."""
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | BaseException | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # reported below, with the others
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]
