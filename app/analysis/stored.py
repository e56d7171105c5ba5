"""A turn's analysis kept with the turn, so the grader reads it instead of analysing again.

The live session analyses every student turn before the client answers; the record of that
analysis (its evidence: code, quote, confidence, what decided it) is saved in the turn's
events under "analysis", stamped with the analyzer's version. A record made by another
analyzer (a retrained model, changed rules or features) does not count: the grader analyses
that turn again, exactly as it did before records existed.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from typing import Any

from app.analysis.model import Evidence, TurnAnalysis

__all__ = ["EVENTS_KEY", "analysis_record", "analyzer_version", "stored_analysis"]

# The key of the record in a student turn's `events`.
EVENTS_KEY = "analysis"


@lru_cache(maxsize=1)
def analyzer_version() -> str:
    """A digest of what decides an analysis: the model file and the analyzer's own code."""
    package = resources.files("app.analysis")
    digest = hashlib.sha256(package.joinpath("data", "analyzer.model").read_bytes())
    # The code too: a changed rule or feature changes the analysis without a new model file.
    for name in sorted(p.name for p in package.iterdir() if p.name.endswith(".py")):
        digest.update(name.encode())
        digest.update(package.joinpath(name).read_bytes())
    return digest.hexdigest()[:16]


def analysis_record(analysis: TurnAnalysis) -> dict[str, Any]:
    """The part of an analysis the turn's codes and empathy do not already hold (JSON-ready)."""
    return {
        "version": analyzer_version(),
        "evidence": [[e.code, e.quote, e.confidence, e.source] for e in analysis.evidence],
    }


def stored_analysis(
    *, codes: list[str] | None, empathy: dict[str, int] | None, events: dict | None
) -> TurnAnalysis | None:
    """The analysis saved with a student turn; None if absent, malformed or by another analyzer."""
    record = (events or {}).get(EVENTS_KEY)
    if not isinstance(record, dict) or record.get("version") != analyzer_version():
        return None
    try:
        evidence = tuple(
            Evidence(code=str(code), quote=str(quote), confidence=float(confidence),
                     source=str(source))
            for code, quote, confidence, source in record.get("evidence") or ()
        )
    except (TypeError, ValueError):
        return None
    if codes is None or empathy is None:
        return None
    return TurnAnalysis(codes=tuple(codes), empathy=dict(empathy), evidence=evidence)
