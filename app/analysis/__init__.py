"""Turn analyzer: skill codes and EPITOME empathy levels for a counsellor turn in context.

Rule-based (regular expressions, lexicons and sentence-level heuristics), deterministic and
dependency-free. The same analysis drives the simulated client's reactions and the grader.
"""

from app.analysis.analyzer import analysis_to_json, analyze_transcript, analyze_turn
from app.analysis.model import CODES, MECHANISMS, ContextTurn, Evidence, TurnAnalysis

__all__ = [
    "CODES",
    "MECHANISMS",
    "ContextTurn",
    "Evidence",
    "TurnAnalysis",
    "analysis_to_json",
    "analyze_transcript",
    "analyze_turn",
]
