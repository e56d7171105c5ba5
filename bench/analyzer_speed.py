"""Speed and size of the turn analyzer (prints figures; not a test).

Each measurement runs in a fresh interpreter so import and load costs are counted as a server
pays them: the model file's load time (with the embedding table), the resident memory the
analyzer adds to a process that has already imported the web app, and per-turn analysis time
over the team corpus's utterances with their context (p50/p95 of several rounds).

Usage: .venv/bin/python bench/analyzer_speed.py [--turns N] [--rounds R]
Goals (issue 8): analysis p50 <= 1 ms per turn, model load <= 0.5 s, added RSS <= 60 MB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PROBE = r"""
import json, sys, time
from pathlib import Path

def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

import app.main  # noqa: F401  (the web app, as a worker has it before the first turn)
before = rss_mb()
started = time.perf_counter()
from app.analysis.learned import load_model
from app.analysis.semantics import embedder
model = load_model()
embedder().vector("warm up the table")
load_s = time.perf_counter() - started
from app.analysis import ContextTurn, analyze_turn
analyze_turn("So it's been a hard week, and you're worn out.",
             context=[ContextTurn("client", "Work has been awful and I can't sleep.")])
added = rss_mb() - before  # before the benchmark's own corpus is read
from app.analysis.corpus import load_corpus
rows = load_corpus([Path(sys.argv[1])])[:: 7][: int(sys.argv[2])]
turns = [(" ".join(s.text for s in r.segments), list(r.context)) for r in rows]
analyze_turn(turns[0][0], context=turns[0][1])
times = []
for text, context in turns:
    t0 = time.perf_counter()
    analyze_turn(text, context=context)
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(json.dumps({"load_s": load_s, "added_rss_mb": added,
                  "p50_ms": times[len(times) // 2], "p95_ms": times[int(len(times) * 0.95)],
                  "turns": len(times)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1500, help="corpus utterances per round")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes to take medians of")
    args = parser.parse_args()
    results = []
    for _ in range(args.rounds):
        out = subprocess.run(
            [sys.executable, "-c", _PROBE, str(ROOT / "corpus" / "analyzer"), str(args.turns)],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    model = ROOT / "app" / "analysis" / "data" / "analyzer.model"
    print(f"model file: {model.stat().st_size / 1e6:.2f} MB")
    for key, goal, unit in (("p50_ms", 1.0, "ms per turn"), ("p95_ms", None, "ms per turn"),
                            ("load_s", 0.5, "s"), ("added_rss_mb", 60.0, "MB")):
        values = [r[key] for r in results]
        median = statistics.median(values)
        verdict = "" if goal is None else (f"  (goal <= {goal:g}: " + ("met" if median <= goal
                                                                      else "MISSED") + ")")
        print(f"{key:>13}: median {median:.3f} {unit} over {len(values)} rounds "
              f"(min {min(values):.3f}, max {max(values):.3f}){verdict}")
    print(f"({results[0]['turns']} corpus utterances per round, with their context; a shared "
          "2-core machine: figures are noisy)")


if __name__ == "__main__":
    main()
