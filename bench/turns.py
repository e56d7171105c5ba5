"""Turn benchmark: N concurrent students hold whole sessions against a real Rapport server.

In the same run, the same students drive a bare FastAPI JSON echo served the same way, so the
figures come with a baseline from the same noisy machine. Prints turns/s, p50/p99 latency,
errors and the ratio to echo.

    .venv/bin/python bench/turns.py --students 100 --turns 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


class Connection:
    """A minimal keep-alive HTTP/1.1 JSON client, one per student.

    httpx's pool costs more CPU per request than the servers being measured, and on this
    2-core machine the client shares the cores with the server, so a thin client keeps the
    figures about the server.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(
        self, path: str, payload: dict, headers: dict[str, str] | None = None
    ) -> tuple[int, dict]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = json.dumps(payload).encode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        assert self.reader is not None
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        data = await self.reader.readexactly(length)
        return status, json.loads(data) if data else {}

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def rapport_student(conn: Connection, persona: str, turns: int, out: Result) -> None:
    status, session = await conn.post("/api/sessions", {"persona_id": persona})
    if status != 201:
        out.errors += 1
        return
    sid = session["id"]
    for i in range(turns):
        started = time.perf_counter()
        status, _ = await conn.post(f"/api/sessions/{sid}/turns", {"text": LINES[i % len(LINES)]})
        if status != 200:
            out.errors += 1
            continue
        out.latencies.append(time.perf_counter() - started)
    await conn.post(f"/api/sessions/{sid}/end", {})


async def echo_student(conn: Connection, turns: int, out: Result) -> None:
    for i in range(turns):
        started = time.perf_counter()
        status, _ = await conn.post("/echo", {"text": LINES[i % len(LINES)]})
        if status != 200:
            out.errors += 1
            continue
        out.latencies.append(time.perf_counter() - started)


async def drive(url: str, students: int, turns: int, *, echo: bool, personas: list[str]) -> Result:
    out = Result()
    port = int(url.rsplit(":", 1)[1])
    conns = [Connection("127.0.0.1", port) for _ in range(students)]
    started = time.perf_counter()

    async def student(i: int) -> None:
        try:
            if echo:
                await echo_student(conns[i], turns, out)
            else:
                await rapport_student(conns[i], personas[i % len(personas)], turns, out)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            out.errors += 1

    await asyncio.gather(*(student(i) for i in range(students)))
    out.elapsed = time.perf_counter() - started
    await asyncio.gather(*(c.close() for c in conns))
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
    parser.add_argument("--workers", type=int, default=1, help="server processes for both apps")
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
        server = ServerProcess(env=env, workers=args.workers).start()
        echo_server = ServerProcess(
            env={"RAPPORT_DATA_DIR": tmp}, app="bench.echo_app:app", workers=args.workers
        )
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

    database = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"{args.students} concurrent students x {args.turns} turns, scripted engine, {database}, "
        f"{args.workers} worker(s) per app"
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
