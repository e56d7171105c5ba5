"""Build a GradingInput from an interchange transcript or from a stored practice session."""

from __future__ import annotations

from collections.abc import Sequence

from app.analysis import ContextTurn, TurnAnalysis, analyze_transcript, analyze_turn
from app.analysis.stored import stored_analysis
from app.grading.events import events_from_turns
from app.grading.model import CarriedRisk, GradingInput, GradingTurn
from app.grading.rows import TurnRow
from app.models import Turn
from app.persona import Persona
from app.transcripts import Transcript

__all__ = ["input_from_session", "input_from_transcript"]


def input_from_transcript(
    transcript: Transcript, *, persona: Persona | None = None
) -> GradingInput:
    """An imported transcript: analysed now; it carries no session events."""
    turns = [GradingTurn(i, t.speaker, t.text) for i, t in enumerate(transcript.turns)]
    analyses = dict(analyze_transcript(transcript.context_turns()))
    return GradingInput(
        transcript_id=transcript.id, turns=turns, analyses=analyses, persona=persona
    )


def _keep_stored(stored: Turn | TurnRow, fresh: TurnAnalysis | None) -> TurnAnalysis:
    """The codes the client reacted to, with the analyzer's quotes for those codes.

    Codes saved with the turn are what the client engine reacted to; re-analysis supplies the
    quotes (which are not stored). Using the saved codes keeps the grade and the client's
    reactions in agreement even if the analyzer has changed since the session.
    """
    codes = tuple(stored.codes or (fresh.codes if fresh else ()))
    empathy = dict(stored.empathy) if stored.empathy else dict(fresh.empathy if fresh else {})
    evidence = tuple(e for e in (fresh.evidence if fresh else ()) if e.code in codes)
    return TurnAnalysis(codes=codes, empathy=empathy, evidence=evidence)


def input_from_session(
    *, session_id: str, turns: Sequence[Turn | TurnRow], persona: Persona | None
) -> GradingInput:
    """A stored session: its saved codes, events and analyses; re-analysed only where missing.

    A turn saved with a record of its analysis by the current analyzer (app.analysis.stored)
    is read as it is; any other counsellor turn is analysed again for its quotes.
    """
    ordered = sorted(turns, key=lambda t: t.index)
    context: list[ContextTurn] | None = None  # built only if some turn must be analysed again
    analyses: dict[int, TurnAnalysis] = {}
    for position, turn in enumerate(ordered):
        if turn.speaker != "counsellor":
            continue
        kept = stored_analysis(codes=turn.codes, empathy=turn.empathy, events=turn.events)
        if kept is None:
            if context is None:
                context = [ContextTurn(speaker=t.speaker, text=t.text) for t in ordered]
            fresh = analyze_turn(
                turn.text, context=context[:position],
                client_said=[t.text for t in ordered[:position] if t.speaker == "client"],
            )
            kept = _keep_stored(turn, fresh)
        analyses[position] = kept
    # Stored indexes are list positions too (turn 0 is the opening line), so they line up.
    opening = (ordered[0].state or {}) if ordered else {}
    carried = None
    if opening.get("follow_up"):
        told_in = opening.get("follow_up_from") or int(opening.get("session_number", 2)) - 1
        carried = CarriedRisk(layer=opening["follow_up"], from_session=max(1, int(told_in)))
    return GradingInput(
        transcript_id=session_id,
        turns=[GradingTurn(i, t.speaker, t.text) for i, t in enumerate(ordered)],
        analyses=analyses,
        events=events_from_turns(ordered),
        persona=persona,
        carried_risk=carried,
    )
