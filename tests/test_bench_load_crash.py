"""The load-and-crash benchmark still runs end to end (a small load, one kill -9) and finds
nothing lost: the script is the issue's durability evidence, so it must not rot."""

from __future__ import annotations

import subprocess
import sys

from app.config import PROJECT_ROOT


def test_the_load_and_crash_script_runs_and_loses_nothing() -> None:
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "load_crash.py"), "--students", "4",
         "--turns", "4", "--kills", "1"],
        capture_output=True, text=True, timeout=180, cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 x kill -9 and restart" in done.stdout
    assert "answered 2xx 16;" in done.stdout
    assert "lost 0, duplicated 0, without a reply 0, two replies in a row 0" in done.stdout
