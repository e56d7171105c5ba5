"""CPU seconds a server has used, read from /proc (Linux), its worker processes included."""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["process_tree", "settle", "tree_cpu_seconds"]

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    return raw[raw.rindex(")") + 2:].split()


def process_tree(pid: int) -> list[int]:
    """`pid` and every live descendant of it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its live descendants (utime, stime)."""
    total = 0
    for member in process_tree(pid):
        fields = _stat(member)
        if fields is not None:
            # After the name: state is fields[0], so utime (field 14) is fields[11].
            total += int(fields[11]) + int(fields[12])
    return total / _TICKS


def settle(pid: int, *, window: float = 0.5, idle_share: float = 0.05,
           timeout: float = 60.0) -> float:
    """Wait until `pid`'s tree uses under `idle_share` of a core over `window` seconds.

    A server may still be busy after its last answer: Rapport starts its grading process on
    the first ended session, and that process's imports would otherwise be counted in the CPU
    of whatever is measured next. Returns the seconds waited (the timeout at most)."""
    started = time.perf_counter()
    before = tree_cpu_seconds(pid)
    while time.perf_counter() - started < timeout:
        time.sleep(window)
        after = tree_cpu_seconds(pid)
        if after - before < idle_share * window:
            break
        before = after
    return time.perf_counter() - started
