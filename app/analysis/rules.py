"""The analyzer's remaining rules: each has a name, the code it gives and why a rule does it.

Rules keep what rules do well: risk and safety language, boundary requests and the replies to
them, explicit permission-asking, and context the model cannot see in one sentence (the client
agreed to hear ideas). Everything else is the learned model's. A rule either *assigns* a code to
a unit whatever the model said, or *revises* the model's code in the light of the context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.analysis import advice, boundaries, risk
from app.analysis.features import TurnView, relation
from app.analysis.sentences import Sentence

__all__ = ["RULES", "Rule", "apply_rules", "model_code", "veto"]


@dataclass(frozen=True, slots=True)
class Rule:
    """A named rule and the one-line reason it is a rule rather than the model's call."""

    name: str
    code: str  # the code it gives; "" for a veto (the model's best code among the others)
    reason: str
    vetoes: frozenset[str] = frozenset()  # a veto's codes the model may not give here


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule("backchannel", "other",
             "nothing is left once fillers and discourse markers are removed"),
        Rule("risk_question", "risk_inquiry",
             "asking about suicide, self-harm or safety (or, once risk is raised, about a plan, "
             "the means or what keeps them going) must never be missed, whatever its form"),
        Rule("risk_preface", "risk_inquiry",
             "saying that people in such pain often think of suicide, just before asking, is "
             "the first half of the risk question (the codebook codes the two as one)"),
        Rule("safety_step", "safety_response",
             "safety plans and crisis services are a closed, known vocabulary"),
        Rule("boundary_offer", "boundary_crossing",
             "offers of contact, friendship or unconditional secrecy are explicit phrases"),
        Rule("boundary_kept", "boundary_holding",
             "declining a request or stating confidentiality's limits is explicit"),
        Rule("invitation_accepted", "boundary_crossing",
             "an unqualified yes to the client's boundary request crosses it"),
        Rule("invitation_declined", "boundary_holding",
             "a refusal or the professional frame, right after a boundary request, holds it"),
        Rule("personal_answer", "self_disclosure",
             "answering the client's question about the counsellor's own life discloses"),
        Rule("disclosure_takeover", "boundary_crossing",
             "self-disclosure that takes over the session or leans on the client is a slip"),
        Rule("permission_request", "advice_with_permission",
             "asking before advising is a fixed set of polite forms"),
        Rule("suggestion_question", "advice_without_permission",
             "a question that names an action for the client to take suggests it"),
        Rule("permission_context", "advice_with_permission",
             "advice the client asked for, agreed to, or was handed the choice of is permitted"),
        Rule("ungrounded_reflection", "other",
             "a reflection must be about what the client said: one that shares no word and "
             "almost no meaning with the client's words reflects nothing"),
        Rule("not_taken_up", "other",
             "a reflection of a topic the client has not raised anywhere in the session "
             "reflects nothing (app/analysis/grounding.py)"),
        Rule("risk_not_raised", "",
             "asking about or responding to risk needs risk: a harm or safety word in the turn, "
             "or risk talk in the conversation; a referral or follow-up alone is not one",
             vetoes=frozenset({"risk_inquiry", "safety_response"})),
        Rule("no_self_in_it", "",
             "self-disclosure is about the counsellor's own life: a sentence with no first "
             "person of that kind discloses nothing",
             vetoes=frozenset({"self_disclosure"})),
    )
}

_REFLECTIONS = frozenset({"reflection_simple", "reflection_complex", "summary"})
_RISK_CODES = RULES["risk_not_raised"].vetoes


def veto(view: TurnView, index: int, predicted: str) -> str | None:
    """The name of the veto that stops the model's code for unit `index`, or None.

    The model reads words, not definitions: without these checks it codes a referral ("you can
    call us any time") as a safety response and a remark on the client's family as the
    counsellor's own story. A veto only withholds a code; it never assigns one."""
    if predicted in _RISK_CODES:
        ctx = view.context
        if not (ctx.risk_talk or ctx.risk_signs
                or any(risk.risk_in_the_air(u.core) for u in view.units)):
            return "risk_not_raised"
    elif (predicted == "self_disclosure" and not view.context.personal_question
          and not any(boundaries.speaks_of_self(u) for u in view.units)):
        # The turn as a whole: "When I quit, the first week was awful. Honestly, brutal." is
        # one story, and an answer to "Do you have kids?" needs no "I" at all ("Two, grown.").
        return "no_self_in_it"
    return None


def model_code(
    view: TurnView, index: int, probs: Mapping[str, float]
) -> tuple[str, float, str | None]:
    """The model's code for unit `index` after the vetoes: (code, probability, veto or None).

    A vetoed unit takes the most probable code the veto allows, with its probability among
    those codes."""
    allowed = dict(probs)
    first = None
    while True:
        predicted = max(allowed, key=allowed.__getitem__)
        vetoed = veto(view, index, predicted)
        if vetoed is None:
            break
        first = first or vetoed
        # The next best may be vetoed too (a referral read as self-disclosure, then as a
        # safety response): drop each vetoed code in turn.
        for code in RULES[vetoed].vetoes:
            allowed.pop(code, None)
    if first is None:
        return predicted, probs[predicted], None
    total = sum(allowed.values())
    return predicted, (allowed[predicted] / total if total else 0.0), first


def _permitted(view: TurnView) -> bool:
    """Advice here is permitted: the client asked or agreed, or the turn hands the choice back."""
    ctx = view.context
    return (ctx.permission_granted or ctx.advice_requested
            or any(advice.supports_autonomy(u) for u in view.units))


def apply_rules(
    view: TurnView, index: int, predicted: str, *, previous: Sentence | None,
    vocabulary: frozenset[str] = frozenset(),
) -> str | None:
    """The name of the rule that decides unit `index`, or None to keep the model's code."""
    unit = view.units[index]
    if not unit.words:
        return "backchannel"
    ctx = view.context
    risk_context = ctx.risk_talk or any(risk.names_risk(u) for u in view.units)
    if risk.is_risk_inquiry(unit, previous=previous, risk_context=risk_context):
        return "risk_question"
    following = view.units[index + 1] if index + 1 < len(view.units) else None
    if risk.is_risk_preface(unit, following=following, risk_context=risk_context):
        return "risk_preface"
    if risk.is_safety_response(unit, risk_context=risk_context):
        return "safety_step"
    if boundaries.crosses_boundary(unit):
        return "boundary_offer"
    if boundaries.holds_boundary(unit):
        return "boundary_kept"
    turn_norm = " ".join(u.norm for u in view.units)
    if ctx.invitation and not ctx.personal_question:
        if index == 0 and boundaries.accepts_invitation(unit) and not boundaries.declines(
            turn_norm
        ):
            return "invitation_accepted"
        if boundaries.declines(unit.norm):
            return "invitation_declined"
    if ctx.personal_question and index == 0 and boundaries.answers_personal_question(
        unit, turn_norm
    ):
        return "personal_answer"
    if predicted == "self_disclosure" and boundaries.disclosure_is_slip(
        [u for u in view.units if boundaries.is_self_disclosure(u)] or [unit]
    ) and boundaries.is_slip_statement(unit):
        return "disclosure_takeover"
    if advice.asks_permission(unit):
        return "permission_request"
    if predicted in ("question_closed", "question_open") and advice.suggests_as_question(unit):
        return "permission_context" if _permitted(view) else "suggestion_question"
    if predicted == "advice_without_permission" and _permitted(view):
        return "permission_context"
    if predicted in _REFLECTIONS and _ungrounded(view, index, vocabulary):
        return "ungrounded_reflection"
    return None


# A reflection this far from the client's words in meaning (and sharing none of them) is about
# something else when it also uses words never seen in counselling talk (the corpus's
# vocabulary): on the team corpus, leave-one-batch-out, this fires on 1.9 % of real reflections
# and on every nonsense reflection of the test set.
UNGROUNDED_SIMILARITY = 0.3


def _ungrounded(view: TurnView, index: int, vocabulary: frozenset[str]) -> bool:
    """A reflection-shaped unit that shares no content word with the client, brings in topics
    of its own that counselling talk does not use, and is far from the client in meaning."""
    unit = view.units[index]
    sim = view.sims[index]
    if sim is None or len(unit.words) < 4 or not vocabulary:
        return False
    if len(view.client_history) < 6:
        return False  # too little of the client's own talk to say what it was not about
    rel = relation(unit.words, view.client_history)
    if rel.shared or rel.novel < 2 or sim >= UNGROUNDED_SIMILARITY:
        return False
    return any(len(w) >= 3 and w not in vocabulary for w in unit.words)
