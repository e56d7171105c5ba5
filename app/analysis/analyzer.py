"""Entry points: analyse one counsellor turn in context, or every counsellor turn of a transcript.

Each sentence of the turn is coded by the learned model, then the named rules may assign or
revise its code (app/analysis/rules.py); the turn's empathy levels come from three more heads
of the same model. Every code keeps the sentence that shows it, its probability and what
decided it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.analysis.context import speaks_of_risk
from app.analysis.features import turn_features, unit_features, view_turn
from app.analysis.grounding import Grounding, read_grounding, rule_for
from app.analysis.learned import LearnedModel, load_model
from app.analysis.model import CODE_ORDER, MECHANISMS, ContextTurn, Evidence, TurnAnalysis
from app.analysis.rules import RULES, apply_rules, model_code

__all__ = [
    "CONTEXT_TURNS",
    "UnitCoding",
    "analysis_to_json",
    "analyze_transcript",
    "analyze_turn",
    "code_units",
]

_NO_EMPATHY = dict.fromkeys(MECHANISMS, 0)
# A rule's confidence when training has not measured its precision (a model file from before).
_RULE_PRIOR = 0.9
_REFLECTIVE = frozenset({"reflection_simple", "reflection_complex", "summary"})
# The turns before a counsellor turn that the analysis reads. Fixed, so the live session, the
# grader and `rapport analyze` code a turn the same way whatever history they hold.
CONTEXT_TURNS = 6


@dataclass(frozen=True, slots=True)
class UnitCoding:
    """What the analyzer made of one sentence of a turn."""

    text: str
    code: str
    confidence: float
    source: str
    probabilities: dict[str, float]


def code_units(
    text: str, *, context: Sequence[ContextTurn] = (), model: LearnedModel | None = None,
    client_said: Sequence[str] = (),
) -> tuple[list[UnitCoding], dict[str, int]]:
    """Code each sentence of a counsellor turn and rate the turn's empathy mechanisms.

    `context` is the session before the turn: the last CONTEXT_TURNS are read closely, and
    risk talked of in any earlier turn still counts as risk in the conversation. `client_said`
    is everything the client has said earlier in the session (the context window's client
    turns when not given): a reflection must take some of it up."""
    model = model or load_model()
    said = list(client_said) or [t.text for t in context if t.speaker == "client"]
    view = view_turn(text, context[-CONTEXT_TURNS:],
                     risk_before=any(speaks_of_risk(t.text) for t in context[:-CONTEXT_TURNS]))
    behaviour = model.heads["behaviour"]
    precision = model.meta.get("rule_precision", {})
    coded: list[tuple[str, float, str | None, str | None, Grounding | None, dict]] = []
    previous = None
    for index, unit in enumerate(view.units):
        probs = behaviour.probabilities(unit_features(view, index))
        predicted, confidence, vetoed = model_code(view, index, probs)
        rule = apply_rules(view, index, predicted, previous=previous,
                           vocabulary=model.vocabulary)
        reading = read_grounding(unit, said) if rule is None and predicted in _REFLECTIVE \
            else None
        coded.append((predicted, confidence, vetoed, rule, reading, probs))
        if unit.words:
            previous = unit
    # A reflection is one act however many sentences it takes: "You're dreading Monday. And
    # underneath it, you're tired of being the one who copes." The second sentence brings its
    # own words, as complex reflections do, so once any sentence of the turn takes up the
    # client's words, every reflective sentence of it is as grounded as the best one.
    taken = [r.weight for *_, r, _ in coded if r is not None and not r.foreign]
    turn_weight = max(taken, default=None)
    units: list[UnitCoding] = []
    for unit, (predicted, confidence, vetoed, rule, reading, probs) in zip(
        view.units, coded, strict=True
    ):
        if reading is not None:
            if turn_weight is None:
                rule = rule_for(reading, vocabulary=model.vocabulary)
                confidence *= reading.weight
            else:
                confidence *= max(reading.weight, turn_weight)
        if rule is None:
            units.append(UnitCoding(unit.text, predicted, confidence, vetoed or "model", probs))
        else:
            confidence = float(precision.get(rule, _RULE_PRIOR))  # type: ignore[union-attr]
            units.append(UnitCoding(unit.text, RULES[rule].code, confidence, rule, probs))
    if not any(u.code != "other" for u in units):
        # Nothing but backchannels and pleasantries: no empathy to rate.
        return units, dict(_NO_EMPATHY)
    features = turn_features(view, [u.probabilities for u in units])
    empathy = {}
    heads = [model.heads[mechanism] for mechanism in MECHANISMS]
    # The three heads share one feature index: look the features up once.
    shared = len({id(head.index) for head in heads}) == 1
    rows = heads[0].rows(features) if shared else None
    for mechanism, head in zip(MECHANISMS, heads, strict=True):
        probs = head.probabilities(features, rows=rows)
        empathy[mechanism] = int(max(probs, key=probs.__getitem__))
    return units, empathy


def analyze_turn(
    text: str, *, context: Sequence[ContextTurn] = (), model: LearnedModel | None = None,
    client_said: Sequence[str] = (),
) -> TurnAnalysis:
    """Code one counsellor turn; context = the turns before it, oldest first; client_said =
    every earlier client turn of the session (defaults to the context's)."""
    units, empathy = code_units(text, context=context, model=model, client_said=client_said)
    best: dict[str, UnitCoding] = {}
    for unit in units:
        held = best.get(unit.code)
        if held is None or unit.confidence > held.confidence:
            best[unit.code] = unit
    if len(best) > 1:
        best.pop("other", None)  # a backchannel beside a real act adds nothing
    codes = tuple(sorted(best, key=CODE_ORDER.__getitem__)) or ("other",)
    evidence = tuple(
        Evidence(code=code, quote=best[code].text, confidence=round(best[code].confidence, 3),
                 source=best[code].source)
        for code in codes
        if code in best
    )
    return TurnAnalysis(codes=codes, empathy=empathy, evidence=evidence)


def analyze_transcript(
    turns: Sequence[ContextTurn], *, model: LearnedModel | None = None
) -> list[tuple[int, TurnAnalysis]]:
    """(0-based turn index, analysis) for each counsellor turn, in order."""
    return [
        (
            index,
            analyze_turn(
                turn.text, context=turns[:index], model=model,
                client_said=[t.text for t in turns[:index] if t.speaker == "client"],
            ),
        )
        for index, turn in enumerate(turns)
        if turn.speaker == "counsellor"
    ]


def analysis_to_json(index: int, analysis: TurnAnalysis) -> dict:
    """The interchange form of one analysed turn: {"turn", "codes", "empathy", "confidence"}."""
    return {
        "turn": index,
        "codes": list(analysis.codes),
        "empathy": {m: analysis.empathy[m] for m in MECHANISMS},
        "confidence": analysis.confidence,
    }
