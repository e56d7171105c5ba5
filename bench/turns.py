"""Turn benchmark: N concurrent students hold whole sessions against a real Rapport server.

In the same run, the same students drive a bare FastAPI JSON echo served the same way, so the
figures come with a baseline from the same noisy machine. Prints turns/s, p50/p99 latency,
errors and the ratio to echo.

    .venv/bin/python bench/turns.py --students 100 --turns 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import ServerProcess  # noqa: E402

LINES = [
    "What brings you in today?",
    "It sounds like things have been really heavy lately.",
    "That makes sense, given everything you've been juggling.",
    "What's that been like for you?",
    "You've been carrying a lot of this on your own.",
    "Can you tell me more about that?",
    "So part of you wants things to change, and part of you is tired of trying.",
    "How has it been affecting your sleep?",
    "It took courage to say that.",
    "What matters most to you right now?",
]


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def rapport_student(http: httpx.AsyncClient, persona: str, turns: int, out: Result) -> None:
    try:
        response = await http.post("/api/sessions", json={"persona_id": persona})
        response.raise_for_status()
        sid = response.json()["id"]
    except httpx.HTTPError:
        out.errors += 1
        return
    for i in range(turns):
        started = time.perf_counter()
        try:
            response = await http.post(
                f"/api/sessions/{sid}/turns", json={"text": LINES[i % len(LINES)]}
            )
            response.raise_for_status()
        except httpx.HTTPError:
            out.errors += 1
            continue
        out.latencies.append(time.perf_counter() - started)
    await http.post(f"/api/sessions/{sid}/end")


async def echo_student(http: httpx.AsyncClient, turns: int, out: Result) -> None:
    for i in range(turns):
        started = time.perf_counter()
        try:
            response = await http.post("/echo", json={"text": LINES[i % len(LINES)]})
            response.raise_for_status()
        except httpx.HTTPError:
            out.errors += 1
            continue
        out.latencies.append(time.perf_counter() - started)


async def drive(url: str, students: int, turns: int, *, echo: bool, personas: list[str]) -> Result:
    out = Result()
    limits = httpx.Limits(max_connections=students, max_keepalive_connections=students)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                echo_student(http, turns, out)
                if echo
                else rapport_student(http, personas[i % len(personas)], turns, out)
                for i in range(students)
            )
        )
        out.elapsed = time.perf_counter() - started
    return out


def report(name: str, result: Result) -> None:
    print(
        f"{name:>8}: {len(result.latencies):5d} turns in {result.elapsed:6.2f}s "
        f"= {result.rate:7.1f} turns/s  p50 {result.pct(0.50):7.1f} ms  "
        f"p99 {result.pct(0.99):7.1f} ms  errors {result.errors}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--turns", type=int, default=10, help="student turns per session")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "RAPPORT_DATA_DIR": tmp,
            "RAPPORT_ENGINE": "scripted",
            # The typing pace is cosmetic; the benchmark measures the server's own work.
            "RAPPORT_STREAM_DELAY": "0",
        }
        if args.database_url:
            env["RAPPORT_DATABASE_URL"] = args.database_url
        else:
            env.pop("RAPPORT_DATABASE_URL", None)
            os.environ.pop("RAPPORT_DATABASE_URL", None)
        server = ServerProcess(env=env).start()
        echo_server = ServerProcess(env={"RAPPORT_DATA_DIR": tmp}, app="bench.echo_app:app")
        echo_server.start()
        try:
            personas = [p["id"] for p in httpx.get(f"{server.url}/api/personas").json()]
            # Warm both servers so imports and first connections don't count.
            asyncio.run(drive(server.url, 4, 2, echo=False, personas=personas))
            asyncio.run(drive(echo_server.url, 4, 2, echo=True, personas=personas))
            rapport = asyncio.run(
                drive(server.url, args.students, args.turns, echo=False, personas=personas)
            )
            echo = asyncio.run(
                drive(echo_server.url, args.students, args.turns, echo=True, personas=personas)
            )
        finally:
            server.stop()
            echo_server.stop()

    print(
        f"{args.students} concurrent students x {args.turns} turns, one worker each, SQLite"
        if not args.database_url
        else f"{args.students} students x {args.turns} turns"
    )
    report("rapport", rapport)
    report("echo", echo)
    ratio = rapport.rate / echo.rate if echo.rate else float("nan")
    print(f"   ratio: {ratio:.2f} of echo throughput")
    goal = rapport.errors == 0 and rapport.pct(0.99) < 250 and ratio >= 0.3
    print(f"    goal: 0 errors, p99 < 250 ms, ratio >= 0.3 -> {'met' if goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
