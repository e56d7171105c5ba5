"""Run a test helper in a new interpreter, to check that results do not depend on the process.

Calling a function twice in one process proves little: a result that hangs on set order (string
hashing is seeded per process), on import order or on a module-level cache agrees with itself.
`in_fresh_process("tests.test_x:helper")` runs `helper()` in a new Python with another hash seed
and returns what it printed as JSON, to compare with the same call made here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.support import ROOT

__all__ = ["in_fresh_process"]


def in_fresh_process(target: str, *, hash_seed: int = 4242) -> Any:
    """JSON from `module:function()` called in a fresh interpreter (PYTHONHASHSEED=hash_seed)."""
    module, function = target.split(":")
    code = f"import json, {module} as m; print(json.dumps(m.{function}(), sort_keys=True))"
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def same_as_here(value: Any) -> Any:
    """`value` as it would come back from a fresh process (JSON round trip, sorted keys)."""
    return json.loads(json.dumps(value, sort_keys=True))
