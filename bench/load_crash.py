"""Load and crash: many students hold sessions while the server is killed (-9) and restarted.

`rapport serve` as shipped, the scripted engine. Each student sends every message with its own
`client_message_id` and, when a request dies with the server, sends it again once the server
is back (as the page's Retry does). At evenly spaced points of the load the server gets
SIGKILL: no shutdown, no flushing. Afterwards every turn that was answered 2xx is looked up in
the database with SQL: printed are how many were lost, stored twice, or left with other than
exactly one reply.

    .venv/bin/python bench/load_crash.py [--students 200] [--turns 30] [--kills 3]
        [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.turns import LINES, Connection  # noqa: E402
from tests.support import ServerProcess  # noqa: E402

PERSONAS = ["sam-work-stress"]


@dataclass
class Load:
    """What the students saw."""

    answered: list[tuple[str, str, str]] = field(default_factory=list)  # (session, id, text)
    sent: int = 0
    resent: int = 0
    failed: int = 0
    statuses: Counter = field(default_factory=Counter)
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    def answer(self, item: tuple[str, str, str]) -> None:
        """Count one answered turn and wake the killer, which waits on exactly this."""
        self.answered.append(item)
        self.progress.set()


class Server:
    """The server under test, restarted on the same port after each kill."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process = ServerProcess(env=env, cli=True).start()
        self.port = self.process.port
        self.up = asyncio.Event()
        self.up.set()
        self.kills = 0

    async def crash_and_restart(self) -> None:
        self.up.clear()
        self.process.kill()
        self.kills += 1
        self.process = await asyncio.to_thread(
            lambda: ServerProcess(env=self.env, port=self.port, cli=True).start())
        self.up.set()


async def _post(server: Server, conn: Connection, path: str, body: dict, load: Load,
                attempts: int = 20) -> tuple[int, dict] | None:
    """POST, sending the same request again after a connection dies with the server."""
    for attempt in range(attempts):
        await server.up.wait()
        try:
            status, raw = await conn.post(path, body)
            answer = json.loads(raw) if raw else {}
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            # The server died mid-request (an empty status line or a reset connection).
            await _drop(conn)
            load.resent += 1
            await asyncio.sleep(0.2 * (attempt + 1))
            continue
        load.statuses[status] += 1
        if status in (409, 502, 503) and "turns" in path:
            # The reply is still pending somewhere (a dead worker's claim): ask again shortly.
            load.resent += 1
            await asyncio.sleep(0.5)
            continue
        return status, answer
    return None


async def student(server: Server, n: int, turns: int, load: Load) -> None:
    conn = Connection("127.0.0.1", server.port)
    try:
        created = await _post(server, conn, "/api/sessions",
                              {"persona_id": PERSONAS[n % len(PERSONAS)]}, load)
        if created is None or created[0] != 201:
            load.failed += 1
            return
        sid = created[1]["id"]
        for i in range(turns):
            message = f"s{n}-t{i}"
            words = f"{LINES[i % len(LINES)]} ({message})"
            load.sent += 1
            answer = await _post(server, conn, f"/api/sessions/{sid}/turns",
                                 {"text": words, "client_message_id": message}, load)
            if answer is not None and 200 <= answer[0] < 300:
                load.answer((sid, message, words))
            else:
                load.failed += 1
    finally:
        await _drop(conn)


async def _drop(conn: Connection) -> None:
    """Close a connection that may already have died with the server; reconnect next time."""
    with contextlib.suppress(OSError):
        await conn.close()
    conn.writer = conn.reader = None


async def run(server: Server, students: int, turns: int, kills: int) -> tuple[Load, float]:
    load = Load()
    total = students * turns

    async def killer() -> None:
        # Woken by every answered turn (not a polling interval), so each kill lands while the
        # rest of the load is still in flight however fast the machine is.
        for k in range(1, kills + 1):
            while len(load.answered) < total * k / (kills + 1):
                load.progress.clear()
                await load.progress.wait()
            await server.crash_and_restart()

    started = time.perf_counter()
    crashes = asyncio.create_task(killer())
    await asyncio.gather(*(student(server, n, turns, load) for n in range(students)))
    elapsed = time.perf_counter() - started
    # Every threshold is below the total, so the killer has already done its work.
    await crashes
    return load, elapsed


def verify(url: str, load: Load) -> dict[str, int]:
    """Look every answered turn up in the database."""
    engine = create_engine(url)
    with engine.connect() as db:
        rows = db.execute(text(
            "SELECT session_id, \"index\", speaker, client_message_id, text FROM turns"
        )).all()
    engine.dispose()
    students = Counter((r.session_id, r.client_message_id) for r in rows
                       if r.speaker == "counsellor")
    texts = Counter((r.session_id, r.text) for r in rows if r.speaker == "counsellor")
    index_of = {(r.session_id, r.client_message_id): r.index for r in rows
                if r.speaker == "counsellor"}
    speakers = {(r.session_id, r.index): r.speaker for r in rows}
    lost = duplicated = no_reply = 0
    for sid, message, words in load.answered:
        found = students[(sid, message)]
        lost += found == 0
        duplicated += found > 1 or texts[(sid, words)] > 1
        if found and speakers.get((sid, index_of[(sid, message)] + 1)) != "client":
            no_reply += 1
    # Indices are unique per session by constraint; a gap or two replies in a row would show
    # as a student turn followed by another student turn.
    doubled = sum(1 for (sid, i), who in speakers.items()
                  if who == "client" and speakers.get((sid, i + 1)) == "client")
    return {"lost": lost, "duplicated": duplicated, "without a reply": no_reply,
            "two replies in a row": doubled, "rows": len(rows)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/rapport.db"
        os.environ.pop("RAPPORT_DATABASE_URL", None)
        env = {"RAPPORT_DATA_DIR": tmp, "RAPPORT_DATABASE_URL": url,
               "RAPPORT_STREAM_DELAY": "0", "RAPPORT_ENGINE": "scripted"}

        async def go() -> tuple[Load, float, int]:
            server = Server(env)
            try:
                load, elapsed = await run(server, args.students, args.turns, args.kills)
            finally:
                server.process.stop()
            return load, elapsed, server.kills

        load, elapsed, kills = asyncio.run(go())
        found = verify(url, load)
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"load and crash: {args.students} students x {args.turns} turns, scripted engine, "
          f"{database}, rapport serve (1 worker), {kills} x kill -9 and restart")
    print(f"   sent {load.sent} messages; answered 2xx {len(load.answered)}; "
          f"gave up {load.failed}; requests sent again {load.resent}; "
          f"{len(load.answered) / elapsed:.1f} answered turns/s over {elapsed:.1f} s")
    print(f"   statuses seen: {dict(sorted(load.statuses.items()))}")
    print("   verified in SQL: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    goal = (found["lost"] == found["duplicated"] == found["without a reply"]
            == found["two replies in a row"] == 0 and load.failed == 0)
    print(f"   goal: 0 lost, 0 duplicated, one reply each -> {'met' if goal else 'NOT met'}")
    return 0 if goal else 1


if __name__ == "__main__":
    raise SystemExit(main())
