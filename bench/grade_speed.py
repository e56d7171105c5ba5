"""Speed of the analytic grader: a 60-turn transcript, analysis included (prints figures).

Usage: .venv/bin/python bench/grade_speed.py [--runs N] [--rubric ID]
Target: p50 under 20 ms on one core. The transcript is synthetic (the team's practice lines),
so the figure does not depend on any evaluation data.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence

from app.config import Settings
from app.grading import grade_analytic, input_from_transcript
from app.rubric import DEFAULT_RUBRIC_ID, load_rubrics
from app.transcripts import Transcript

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


def transcript(turns: int) -> Transcript:
    """A transcript of `turns` turns, client and counsellor alternating."""
    lines = [
        {"speaker": "client", "text": CLIENT[i // 2 % len(CLIENT)]}
        if i % 2 == 0
        else {"speaker": "counsellor", "text": COUNSELLOR[i // 2 % len(COUNSELLOR)]}
        for i in range(turns)
    ]
    return Transcript.model_validate({"id": "speed", "turns": lines})


def main(argv: Sequence[str] | None = None) -> int:
    """Grade the same 60-turn transcript many times; print p50/p95 and pass/fail."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--rubric", default=DEFAULT_RUBRIC_ID)
    args = parser.parse_args(argv)
    rubric = load_rubrics(Settings().rubrics_dir)[args.rubric]
    session = transcript(args.turns)
    for _ in range(5):  # warm up regex caches and imports
        grade_analytic(input_from_transcript(session), rubric)
    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        grade_analytic(input_from_transcript(session), rubric)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(0.95 * (len(timings) - 1))]
    verdict = "ok" if p50 < 20 else "TOO SLOW"
    print(
        f"analytic grade of a {args.turns}-turn transcript ({rubric.id}), {args.runs} runs: "
        f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {timings[-1]:.2f} ms  [{verdict}: p50 < 20 ms]"
    )
    return 0 if p50 < 20 else 1


if __name__ == "__main__":
    sys.exit(main())
