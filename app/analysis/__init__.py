"""Turn analyzer: skill codes and EPITOME empathy levels for a counsellor turn in context.

A small learned model (linear softmax heads over word n-grams, hand-made features and a static
embedding's similarity to the client's words; app/analysis/learned.py, trained from the team
corpus by app/analysis/training.py) codes each sentence; named rules (app/analysis/rules.py)
decide risk and safety language, boundary replies, permission-asking and reflections about
nothing the client said. Deterministic and offline. The same analysis drives the simulated
client's reactions and the grader. See docs/analyzer.md.
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
