"""Assign skill codes to the clauses of one counsellor turn, with verbatim evidence."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.analysis import advice, boundaries, harms, risk, support
from app.analysis.context import Context
from app.analysis.questions import is_tag_only, question_form
from app.analysis.reflections import gives_own_view, names_new_harm, reflection_kind, warns
from app.analysis.sentences import Sentence, split_clauses, split_sentences

# Codes that leave room for a question code on the same clause; every other act (advice,
# judgement, risk inquiry, a permission request...) *is* what the question does.
_QUESTION_COMPATIBLE = frozenset({"affirmation", "validation", "self_disclosure", "summary"})
_REFLECTIONS = ("reflection_simple", "reflection_complex")


@dataclass(slots=True)
class Clause:
    """One clause of the turn and what the rules made of it."""

    clause: Sentence
    form: str | None  # question form: open / closed / declarative / None
    codes: set[str] = field(default_factory=set)
    advice: str | None = None  # "strong" or "soft" when the clause gives advice
    marked: bool = False  # a reflection opened by a reflective stem or said as a question


@dataclass(slots=True)
class Coding:
    """The coded clauses of a turn plus turn-level evidence, in order of appearance."""

    clauses: list[Clause]
    evidence: list[tuple[str, str]]  # (code, verbatim quote)
    turn_norm: str


def code_turn(text: str, ctx: Context) -> Coding:
    """Code every clause of a counsellor turn and resolve the turn-level codes."""
    clauses: list[Clause] = []
    for sentence in split_sentences(text):
        for clause in split_clauses(sentence):
            clauses.append(Clause(clause=clause, form=question_form(clause)))
    turn_norm = " ".join(c.clause.norm for c in clauses)
    risk_context = ctx.client_risk or any(risk.names_risk(c.clause) for c in clauses)

    previous: Sentence | None = None
    for item in clauses:
        if not item.clause.empty:
            _code_clause(item, ctx, risk_context=risk_context, previous=previous)
            previous = item.clause

    _resolve_advice(clauses, ctx)
    _resolve_invitation(clauses, ctx, turn_norm)
    _resolve_disclosure(clauses)
    evidence = [(code, item.clause.text) for item in clauses for code in sorted(item.codes)]
    evidence.extend(_summary(clauses))
    return Coding(clauses=clauses, evidence=evidence, turn_norm=turn_norm)


def _code_clause(item: Clause, ctx: Context, *, risk_context: bool,
                 previous: Sentence | None) -> None:
    clause, codes = item.clause, item.codes
    if risk.is_risk_inquiry(clause, previous=previous):
        codes.add("risk_inquiry")
    if risk.is_safety_response(clause, risk_context=risk_context):
        codes.add("safety_response")
    if boundaries.crosses_boundary(clause):
        codes.add("boundary_crossing")
    elif boundaries.holds_boundary(clause):
        codes.add("boundary_holding")
    if boundaries.is_self_disclosure(clause):
        codes.add("self_disclosure")
    if harms.is_judgement(clause):
        codes.add("judgement")
    if harms.is_minimising(clause):
        codes.add("minimising")
    if harms.is_reassurance(clause):
        codes.add("reassurance")
    if advice.asks_permission(clause):
        codes.add("advice_with_permission")
    elif not codes & {"risk_inquiry", "judgement", "boundary_crossing"}:
        item.advice = advice.advice_strength(clause)
    if support.is_affirmation(clause):
        codes.add("affirmation")
    if support.is_validation(clause):
        codes.add("validation")
    if support.is_summary_stem(clause):
        codes.add("summary")

    if item.advice or (codes - _QUESTION_COMPATIBLE):
        return
    if item.form in ("open", "closed"):
        if item.form == "closed" and is_tag_only(clause) and previous is not None:
            return  # "..., right?" checks the statement before it
        codes.add(f"question_{item.form}")
        return
    if codes:
        return
    kind, by_stem = reflection_kind(clause, ctx, rising=item.form == "declarative")
    if kind and by_stem:
        codes.add(kind)
        item.marked = True
    elif (support.is_information(clause) and not support.is_personal(clause)) or (
        not kind and (names_new_harm(clause, ctx) or gives_own_view(clause) or warns(clause))
    ):
        codes.add("information")
    elif kind:
        codes.add(kind)


def _resolve_advice(clauses: list[Clause], ctx: Context) -> None:
    """Advice is with permission when asked for, granted, requested first, or offered softly."""
    asked_before = ctx.permission_granted or ctx.advice_requested
    autonomy = any(advice.supports_autonomy(c.clause) for c in clauses)
    for item in clauses:
        if "advice_with_permission" in item.codes:
            asked_before = True
        if item.advice is None:
            continue
        if item.advice == "offer":
            # "Some people find..." is information unless it is offered as an option.
            code = "advice_with_permission" if (asked_before or autonomy) else "information"
        elif asked_before or (item.advice == "soft" and autonomy):
            code = "advice_with_permission"
        else:
            code = "advice_without_permission"
        item.codes.add(code)


_ACCEPTED_KINDS = frozenset(
    {"meet", "social", "contact", "gift", "secret", "touch", "favour", "frame"}
)


def _resolve_invitation(clauses: list[Clause], ctx: Context, turn_norm: str) -> None:
    """After a boundary request, an unqualified yes crosses it and a kind no holds it."""
    spoken = [c for c in clauses if not c.clause.empty] or clauses
    if not spoken:
        return
    if ctx.personal_question and not ctx.invitation:
        if boundaries.answers_personal_question(clauses[0].clause, turn_norm):
            clauses[0].codes.add("self_disclosure")
        elif boundaries.declines(turn_norm):
            target = next((c for c in spoken if boundaries.declines(c.clause.norm)), spoken[0])
            target.codes.add("boundary_holding")
        return
    if ctx.invitation not in _ACCEPTED_KINDS:
        return
    if boundaries.declines(turn_norm):
        if not any("boundary_holding" in c.codes for c in clauses):
            target = next((c for c in spoken if boundaries.declines(c.clause.norm)), spoken[0])
            target.codes.add("boundary_holding")
        return
    head = spoken[0]
    if boundaries.accepts_invitation(head.clause):
        head.codes.add("boundary_crossing")


def _resolve_disclosure(clauses: list[Clause]) -> None:
    """Self-disclosure that takes over the session is also a boundary crossing."""
    slips = [c for c in clauses if boundaries.is_slip_statement(c.clause)]
    for item in slips:
        item.codes.add("self_disclosure")
    disclosed = [c for c in clauses if "self_disclosure" in c.codes]
    if boundaries.disclosure_is_slip([c.clause for c in disclosed]):
        target = slips[0] if slips else max(disclosed, key=lambda c: len(c.clause.words))
        target.codes.add("boundary_crossing")


_SUMMARY_MIN_WORDS = 30


def _summary(clauses: list[Clause]) -> list[tuple[str, str]]:
    """Several reflections gathered in one long turn amount to a summary."""
    if any("summary" in c.codes for c in clauses):
        return []
    reflective = [c for c in clauses if c.codes & set(_REFLECTIONS)]
    words = sum(len(c.clause.words) for c in clauses)
    if len(reflective) >= 3 and words >= _SUMMARY_MIN_WORDS:
        return [("summary", reflective[0].clause.text)]
    return []

