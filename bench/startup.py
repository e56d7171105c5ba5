"""Start-up: `rapport serve` from launch to its first 200 on /healthz, beside a bare FastAPI app.

Each round starts Rapport as shipped (`python -m app.cli serve`, SQLite in a fresh folder, so
the migrations run too) and the bare echo app (bench/echo_app.py under uvicorn), alternately,
and times launch to the first answered /healthz. Prints the medians and the modules Rapport
imported that it did not need to serve (PDF, LLM, PostgreSQL drivers), read from a
`-X importtime` start, and how long a student's first turn takes one second after start-up
(the analyzer must be ready by then, without having held up /healthz). The machine is
shared: expect 10-30 % noise.

    .venv/bin/python bench/startup.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import free_port  # noqa: E402

# Heavy modules a server with the scripted engine, SQLite and no export should never load.
UNNEEDED = ("fpdf", "openai", "psycopg", "llama_cpp", "jinja2.ext", "rich")


def time_to_ready(
    command: list[str], env: dict[str, str], port: int, first_turn: list[float] | None = None
) -> float:
    """Seconds from launch to the first 200 on /healthz; the process is stopped after.

    With `first_turn`, a student's first turn is also timed, sent one second after /healthz
    answered (a person takes that long to pick a persona), and appended to it.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command} exited with {proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    ready = time.perf_counter() - started
                    if first_turn is not None:
                        first_turn.append(_first_turn(port))
                    return ready
            except httpx.HTTPError:
                time.sleep(0.02)
            if time.perf_counter() - started > 60:
                raise RuntimeError("not ready in 60 s")
    finally:
        proc.terminate()
        proc.wait(10)


def _first_turn(port: int) -> float:
    """Seconds a new session's first student turn takes, one second after start-up."""
    time.sleep(1.0)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        made = http.post("/api/sessions", json={"persona_id": "sam-work-stress"})
        made.raise_for_status()
        began = time.perf_counter()
        http.post(f"/api/sessions/{made.json()['id']}/turns",
                  json={"text": "What brings you in today?"}).raise_for_status()
        return time.perf_counter() - began


def loaded_unneeded(env: dict[str, str]) -> list[str]:
    """The UNNEEDED modules importing the app (as a worker does) pulls in."""
    probe = ("import sys, app.asgi; print(' '.join(sorted({m.split('.')[0] for m in sys.modules "
             f"if m.split('.')[0] in {UNNEEDED!r}}})))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True)
    return out.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rapport, bare, first = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            data = Path(tmp) / f"round{r}"
            env = {**os.environ, "RAPPORT_DATA_DIR": str(data),
                   "RAPPORT_DATABASE_URL": f"sqlite:///{data}/rapport.db"}
            port = free_port()
            rapport.append(time_to_ready(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port)], env, port,
                first_turn=first))
            port = free_port()
            bare.append(time_to_ready(
                [sys.executable, "-m", "uvicorn", "bench.echo_app:app", "--port", str(port)],
                env, port))
        env = {**os.environ, "RAPPORT_DATA_DIR": f"{tmp}/probe",
               "RAPPORT_DATABASE_URL": f"sqlite:///{tmp}/probe/rapport.db"}
        unneeded = loaded_unneeded(env)
    ready = statistics.median(rapport)
    print(f"start to /healthz, median of {args.rounds} interleaved rounds (shared 2-core "
          f"machine, expect 10-30 % noise): rapport serve {ready:.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in rapport)}); bare FastAPI "
          f"{statistics.median(bare):.2f} s")
    print(f"a student's first turn, 1 s after /healthz: median "
          f"{statistics.median(first) * 1000:.0f} ms "
          f"(runs: {', '.join(f'{t * 1000:.0f}' for t in first)} ms)")
    print(f"modules loaded but not needed to serve: {', '.join(unneeded) or 'none'}")
    print(f"goal (issue 14): ready in <= 3 s -> {'met' if ready <= 3 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
