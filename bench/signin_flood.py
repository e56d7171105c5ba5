"""Sign-in flood: does a flood of wrong passwords slow a student's turns?

A signed-in student holds a session against `rapport serve` as shipped (accounts on) while, in
alternate phases, 8 clients post wrong passwords for unknown emails as fast as they are
answered (the limits are raised so that every guess is hashed). Quiet and flood phases are
interleaved over several rounds; Rapport's liveness probe is timed the same way (how long the
event loop itself keeps a request waiting), and a bare `async def` FastAPI echo as the
machine's own noise floor. Prints each phase's p50/p99 (medians over rounds), sign-ins
answered per second and the server's CPU per request.

    .venv/bin/python bench/signin_flood.py [--rounds 5] [--turns 30] [--database-url URL]

With a PostgreSQL URL the run gets a new schema there, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.turns import LINES, Connection  # noqa: E402
from tests.support import ServerProcess  # noqa: E402
from tests.support import database_url as fresh_database  # noqa: E402

SECRET = "bench-only-secret-key-for-the-sign-in-flood-0123456789"
STUDENT = "student@bench.invalid"
PASSWORD = "bench password 0123"
FLOODERS = 8
# Rapport's liveness probe answers from the event loop with no database work: how long it
# waits under the flood is how long the loop itself is kept busy (hashing on the loop would
# show here first, whatever the database).
PROBE = "/healthz/live"
PROBES_PER_TURN = 4
PROBE_GAP = 0.01  # seconds between probes


@dataclass
class Phase:
    """One phase's turn latencies (seconds), sign-ins answered and server CPU used."""

    latencies: list[float] = field(default_factory=list)
    logins: int = 0
    seconds: float = 0.0
    cpu: float = 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _flood(port: int, stop: asyncio.Event, phase: Phase, n: int) -> None:
    async def one(i: int) -> None:
        conn = Connection("127.0.0.1", port)
        k = 0
        try:
            while not stop.is_set():
                await conn.post("/api/auth/login",
                                {"email": f"nobody-{i}-{k}@bench.invalid", "password": "wrong"})
                phase.logins += 1
                k += 1
        finally:
            await conn.close()

    await asyncio.gather(*(one(i) for i in range(n)))


async def _turns(conn: Connection, path: str, headers: dict[str, str], turns: int,
                 phase: Phase) -> None:
    for i in range(turns):
        started = time.perf_counter()
        if path == PROBE:
            await asyncio.sleep(PROBE_GAP)  # spread out, so probes land at any moment
            started = time.perf_counter()
            status, _ = await conn.request("GET", path)
        else:
            status, _ = await conn.post(path, {"text": LINES[i % len(LINES)]}, headers)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        phase.latencies.append(time.perf_counter() - started)


async def run_phase(*, target: ServerProcess, path: str, headers: dict[str, str], turns: int,
                    flood: ServerProcess, flooders: int) -> Phase:
    """Time `turns` requests to `target`, with `flooders` wrong-password clients at `flood`."""
    assert target.proc is not None
    phase = Phase()
    stop = asyncio.Event()
    flooding = (asyncio.create_task(_flood(flood.port, stop, phase, flooders))
                if flooders else None)
    if flooding is not None:
        await asyncio.sleep(0.3)  # let the flood reach its pace
    conn = Connection("127.0.0.1", target.port)
    phase.logins = 0
    cpu_before, started = cpu_seconds(target.proc.pid), time.perf_counter()
    try:
        await _turns(conn, path, headers, turns, phase)
    finally:
        phase.seconds = time.perf_counter() - started
        phase.cpu = cpu_seconds(target.proc.pid) - cpu_before
        stop.set()
        if flooding is not None:
            await flooding
        await conn.close()
    return phase


def start_servers(tmp: str, database_url: str | None) -> tuple[ServerProcess, ServerProcess]:
    """`rapport serve` with accounts on (every guess hashed) and the bare echo."""
    env = {"RAPPORT_DATA_DIR": tmp, "RAPPORT_AUTH": "on", "RAPPORT_SECRET_KEY": SECRET,
           "RAPPORT_STREAM_DELAY": "0", "RAPPORT_LOGIN_ADDRESS_LIMIT": "1000000",
           "RAPPORT_LOGIN_ACCOUNT_LIMIT": "1000000", "RAPPORT_LOGIN_RATE_LIMIT": "1000000"}
    if database_url:
        env["RAPPORT_DATABASE_URL"] = database_url
    else:
        os.environ.pop("RAPPORT_DATABASE_URL", None)
    server = ServerProcess(env=env, cli=True).start()
    echo = ServerProcess(env={"RAPPORT_DATA_DIR": tmp}, app="bench.echo_app:app").start()
    return server, echo


def signed_in_session(url: str, tmp: str, database_url: str | None) -> tuple[str, dict]:
    """Create the student, sign in, start a session: (turns path, headers to send)."""
    from sqlmodel import Session

    from app.audit import Actor
    from app.auth.accounts import create_user
    from app.config import Settings
    from app.db import build_engine

    engine = build_engine(Settings(data_dir=Path(tmp), database_url=database_url))
    with Session(engine) as db:
        create_user(db=db, email=STUDENT, name="Bench Student", role="student",
                    password=PASSWORD, actor=Actor(user_id=None, label="bench"))
    engine.dispose()
    with httpx.Client(base_url=url) as http:
        csrf = http.post("/api/auth/login",
                         json={"email": STUDENT, "password": PASSWORD}).json()["csrf_token"]
        headers = {"X-CSRF-Token": csrf,
                   "Cookie": "; ".join(f"{k}={v}" for k, v in http.cookies.items())}
        sid = http.post("/api/sessions", json={"persona_id": "sam-work-stress"},
                        headers={"X-CSRF-Token": csrf}).json()["id"]
    return f"/api/sessions/{sid}/turns", headers


def measure(*, rounds: int, turns: int, database_url: str | None = None) -> dict[str, list]:
    """Interleaved quiet and flood phases for turns, the probe and the echo: each per round."""
    results: dict[str, list[Phase]] = {"quiet": [], "flood": [], "probe quiet": [],
                                       "probe flood": [], "echo quiet": [], "echo flood": []}
    with tempfile.TemporaryDirectory() as tmp:
        server, echo = start_servers(tmp, database_url)
        try:
            path, headers = signed_in_session(server.url, tmp, database_url)
            # Warm-up: first requests import and connect.
            asyncio.run(run_phase(target=server, path=path, headers=headers, turns=3,
                                  flood=server, flooders=0))
            for _ in range(rounds):
                for name, flooders in (("quiet", 0), ("flood", FLOODERS)):
                    results[name].append(asyncio.run(run_phase(
                        target=server, path=path, headers=headers, turns=turns,
                        flood=server, flooders=flooders)))
                    results[f"probe {name}"].append(asyncio.run(run_phase(
                        target=server, path=PROBE, headers={}, turns=turns * PROBES_PER_TURN,
                        flood=server, flooders=flooders)))
                    # The echo while Rapport takes the same flood: the machine's own noise.
                    results[f"echo {name}"].append(asyncio.run(run_phase(
                        target=echo, path="/echo", headers={}, turns=turns, flood=server,
                        flooders=flooders)))
        finally:
            server.stop()
            echo.stop()
    return results


def summary(phases: list[Phase]) -> dict[str, float]:
    """Medians over rounds."""
    return {
        "p50": statistics.median(p.pct(0.50) for p in phases),
        "p90": statistics.median(p.pct(0.90) for p in phases),
        "p99": statistics.median(p.pct(0.99) for p in phases),
        "logins_per_s": statistics.median(p.logins / p.seconds for p in phases),
        # Every request the server answered in the phase: the student's and the flood's.
        "cpu_ms_per_request": statistics.median(
            p.cpu / (len(p.latencies) + p.logins) * 1000 for p in phases),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=30, help="student turns per phase")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()
    # A PostgreSQL run gets a schema of its own, so runs neither collide nor inherit the last
    # run's failed sign-ins.
    schema = (fresh_database(Path(tempfile.gettempdir()), pg=args.database_url)
              if args.database_url else contextlib.nullcontext(None))
    with schema as url:
        results = measure(rounds=args.rounds, turns=args.turns, database_url=url)
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"sign-in flood: {FLOODERS} clients posting wrong passwords; one student, "
          f"{args.turns} turns per phase, {args.rounds} interleaved rounds, {database}, "
          "rapport serve (1 worker)")
    figures = {name: summary(phases) for name, phases in results.items()}
    for name, f in figures.items():
        logins = "" if name.startswith(("echo", "probe")) else (
            f"  wrong sign-ins answered {f['logins_per_s']:5.1f}/s")
        print(f"{name:>11}: p50 {f['p50']:7.1f} ms  p90 {f['p90']:7.1f} ms  "
              f"p99 {f['p99']:7.1f} ms  "
              f"server CPU {f['cpu_ms_per_request']:6.1f} ms/request{logins}")
    ratio = figures["flood"]["p99"] / figures["quiet"]["p99"]
    echo_ratio = figures["echo flood"]["p99"] / figures["echo quiet"]["p99"]
    print(f"      ratio: flood p99 / quiet p99 = {ratio:.2f} (echo under the same flood: "
          f"{echo_ratio:.2f})")
    print(f"       goal: flood p99 <= 2x quiet p99 -> {'met' if ratio <= 2 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
