"""Speed of grading a stored session: CPU per grade, and how much of it is the analyzer.

The session is held through Rapport's own practice functions (analysis, client state, saved
turns in a real SQLite database), with `--counsellor-turns` student turns (60 by default, so
121 turns with the client's replies and the opening line). Each run grades it the way ending
a session does (app.grading.service: read the turns, build the input, grade) and is timed in
CPU seconds of this thread, so a busy neighbour on the shared machine slows the wall clock
but not the figure much. Then the same with the analyzer call counted separately.

Usage: .venv/bin/python bench/grade_speed.py [--runs N] [--counsellor-turns N] [--quick]
Goal (issue 14): <= 3 ms CPU for 60 counsellor turns.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import practice  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import build_engine, migrate  # noqa: E402
from app.grading import analytic, inputs  # noqa: E402
from app.grading.service import session_input  # noqa: E402
from app.persona import load_library  # noqa: E402
from app.rubric import DEFAULT_RUBRIC_ID, load_rubrics  # noqa: E402

COUNSELLOR = [
    "What's brought you here today?",
    "It sounds like this has been weighing on you for a while.",
    "You should just try to get more sleep.",
    "That makes a lot of sense, given everything you're carrying.",
    "Do you sleep at all?",
    "So part of you wants things to change, and part of you is worn out from trying.",
    "Well, that's a pretty silly way to look at it.",
    "It took real courage to say that out loud.",
    "How has that been affecting you day to day?",
    "Don't worry, it's not that bad.",
]
CLIENT = [
    "I'm not really sure why I'm here. My GP said I should come.",
    "Work's been a lot lately. I'm not sleeping much. Four hours on a good night.",
    "I lie there going over emails in my head. Stuff I forgot, stuff I said in meetings.",
    "Yeah, I've tried that.",
    "There was a restructure at the start of the year. I'm basically doing two jobs now.",
    "I haven't told anyone at home how bad it is. They think it's just a busy patch.",
]


def hold_session(*, db: Session, persona, counsellor_turns: int):
    """A stored session of `counsellor_turns` student turns, each answered, via app.practice."""
    user = practice.get_or_create_local_user(db=db)
    session, _ = practice.create_session(db=db, persona=persona, owner_id=user.id or 0,
                                         engine="scripted", seed=7)
    for i in range(counsellor_turns):
        pending = practice.add_student_turn(
            db=db, session=session, persona=persona, text=COUNSELLOR[i % len(COUNSELLOR)],
            client_message_id=None,
        )
        practice.add_client_turn(db=db, pending=pending, text=CLIENT[i % len(CLIENT)],
                                 meta={"engine": "scripted"})
    return session.id


def cpu_ms(fn) -> float:
    started = time.thread_time()
    fn()
    return (time.thread_time() - started) * 1000


def main(argv: Sequence[str] | None = None) -> int:
    """Grade one stored session many times; print CPU p50/p95 and the analyzer's share."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--counsellor-turns", type=int, default=60)
    parser.add_argument("--rubric", default=DEFAULT_RUBRIC_ID)
    parser.add_argument("--persona", default="sam-work-stress")
    parser.add_argument("--quick", action="store_true", help="10 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 10
    settings = Settings()
    rubric = load_rubrics(settings.rubrics_dir)[args.rubric]
    persona = load_library(settings.personas_dir)[args.persona]
    with tempfile.TemporaryDirectory() as tmp:
        engine = build_engine(Settings(data_dir=Path(tmp),
                                       RAPPORT_DATABASE_URL=f"sqlite:///{tmp}/grade.db"))
        migrate(engine)
        with Session(engine) as db:
            sid = hold_session(db=db, persona=persona, counsellor_turns=args.counsellor_turns)

        def grade() -> None:
            with Session(engine) as db:
                session = practice.get_session(db=db, session_id=sid, owner_id=None)
                analytic.grade_analytic(session_input(db=db, session=session, persona=persona),
                                        rubric)

        analyzer_ms: list[float] = []
        # Whichever analyzer entry point the grader calls (one turn, or the whole transcript).
        names = [n for n in ("analyze_turn", "analyze_transcript") if hasattr(inputs, n)]
        real = {n: getattr(inputs, n) for n in names}

        def counting(fn):
            def counted(*a, **k):
                started = time.thread_time()
                try:
                    return fn(*a, **k)
                finally:
                    analyzer_ms.append((time.thread_time() - started) * 1000)
            return counted

        for _ in range(3):  # warm caches and imports
            grade()
        timings = sorted(cpu_ms(grade) for _ in range(args.runs))
        for n in names:
            setattr(inputs, n, counting(real[n]))
        try:
            shares = []
            for _ in range(args.runs):
                analyzer_ms.clear()
                total = cpu_ms(grade)
                shares.append(sum(analyzer_ms) / total if total else 0.0)
        finally:
            for n in names:
                setattr(inputs, n, real[n])
        engine.dispose()
    p50 = statistics.median(timings)
    p95 = timings[int(0.95 * (len(timings) - 1))]
    share = statistics.median(shares)
    verdict = "met" if p50 <= 3 else "NOT met"
    print(
        f"grading a stored session of {args.counsellor_turns} counsellor turns "
        f"({2 * args.counsellor_turns + 1} turns, {rubric.id}), {args.runs} runs, CPU of this "
        f"thread (shared machine: expect 10-30 % noise): p50 {p50:.2f} ms, p95 {p95:.2f} ms; "
        f"re-running the analyzer: {share:.0%} of it"
    )
    print(f"goal (issue 14): <= 3 ms CPU -> {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
