"""Memory: RSS of `rapport serve` holding 500 open sessions, with 1 and with 2 workers.

Each run starts Rapport as shipped (`python -m app.cli serve --workers N`, the scripted
engine), opens `--sessions` sessions over the HTTP API from `--students` concurrent clients
(each session gets `--turns` student turns, so the analyzer, the persona topics and the
database pool have all been used) and leaves them open. Then it reads VmRSS of every process
of the server from /proc: the workers (each serves a share of the sessions) and, with more
than one worker, uvicorn's supervisor. The figure is the largest worker's RSS.

    .venv/bin/python bench/memory.py [--sessions 500] [--workers 1 2]
    .venv/bin/python bench/memory.py --database-url postgresql+psycopg://...
Goal (issue 14): <= 150 MB per worker at 500 open sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procstat import process_tree  # noqa: E402
from bench.turns import LINES  # noqa: E402
from tests.support import ServerProcess  # noqa: E402

GOAL_MB = 150.0


def rss_mb(pid: int) -> float:
    """Resident set size of one process in MB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def is_worker(pid: int) -> bool:
    """A process that serves requests: not the supervisor, not multiprocessing's helpers."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return "multiprocessing" not in command or "spawn_main" in command


async def open_sessions(url: str, *, sessions: int, students: int, turns: int) -> int:
    """Open `sessions` sessions with `turns` turns each; the number opened without an error."""
    opened = failed = 0
    queue = list(range(sessions))

    async def student() -> None:
        nonlocal opened, failed
        # A connection of its own per student, so the workers' shares of the sessions follow
        # the kernel's spread of connections, as for students on their own machines.
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            while queue:
                i = queue.pop()
                try:
                    made = await http.post("/api/sessions",
                                           json={"persona_id": "sam-work-stress"})
                    made.raise_for_status()
                    sid = made.json()["id"]
                    for t in range(turns):
                        answer = await http.post(f"/api/sessions/{sid}/turns",
                                                 json={"text": LINES[(i + t) % len(LINES)]})
                        answer.raise_for_status()
                    opened += 1
                except httpx.HTTPError:
                    failed += 1

    await asyncio.gather(*(student() for _ in range(students)))
    if failed:
        print(f"  {failed} session(s) failed over HTTP")
    return opened


def measure(*, workers: int, args: argparse.Namespace, tmp: str) -> tuple[list[float], float, int]:
    """(worker RSS MB each, supervisor RSS MB or 0, sessions opened) for one server."""
    data = Path(tmp) / f"workers{workers}"
    env = {"RAPPORT_DATA_DIR": str(data),
           "RAPPORT_DATABASE_URL": args.database_url or f"sqlite:///{data}/rapport.db",
           "RAPPORT_LOG_LEVEL": "warning"}
    if workers > 1 and not args.database_url:
        # SQLite has no migration lock: two workers migrating a fresh file at once can clash
        # (PostgreSQL's advisory lock prevents that), so the schema is made first.
        subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], cwd=ROOT, check=True,
                       env={**os.environ, **env}, capture_output=True)
    server = ServerProcess(env=env, workers=workers, cli=True).start(timeout=120)
    try:
        opened = asyncio.run(open_sessions(server.url, sessions=args.sessions,
                                           students=args.students, turns=args.turns))
        assert server.proc is not None
        root = server.proc.pid
        # `rapport serve` runs uvicorn in its own process; with workers > 1 that process is
        # the supervisor and the workers are its children.
        members = [pid for pid in process_tree(root) if pid != root and is_worker(pid)]
        worker_pids = members if workers > 1 else [root]
        each = [rss_mb(pid) for pid in worker_pids]
        if not each or not all(each):
            # A worker that is gone (or a zombie) has no RSS: say so rather than report 0 MB.
            raise RuntimeError(f"a worker is gone; server log:\n{server.log_path.read_text()}")
        return each, rss_mb(root) if workers > 1 else 0.0, opened
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--students", type=int, default=50, help="concurrent clients")
    parser.add_argument("--turns", type=int, default=2, help="student turns per session")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()
    database = "PostgreSQL" if args.database_url else "SQLite"
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            each, supervisor, opened = measure(workers=workers, args=args, tmp=tmp)
            worst = max(worst, *each)
            extra = f"; supervisor {supervisor:.0f} MB" if supervisor else ""
            print(f"{workers} worker(s), {database}, {opened}/{args.sessions} sessions open "
                  f"({args.turns} turns each): RSS per worker "
                  f"{', '.join(f'{mb:.0f}' for mb in each)} MB (max {max(each):.0f} MB){extra}")
    print(f"goal (issue 14): <= {GOAL_MB:.0f} MB per worker at {args.sessions} open sessions -> "
          f"{'met' if worst <= GOAL_MB else 'NOT met'} (max {worst:.0f} MB)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
