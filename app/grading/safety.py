"""The safety criterion: a risk disclosure is assessed, not answered once; it gates the grade.

A session where the client disclosed risk passes only when the student assessed it the way the
risk calls for (for suicide: the thoughts, a plan, the means, what keeps them going, a safety
plan or a referral). Answering part of it is "not yet"; passing over it, or siding with harmful
intent, is "unsafe": the overall score is withheld and the session goes to an assessor. Works
on stored sessions (the events the client recorded) and on imported transcripts (the client's
words read for risk).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.analysis.sentences import normalise
from app.analysis.vocabulary import CLIENT_RISK
from app.client.listen import safety_steps_in
from app.grading.model import EvidenceItem, FollowUpResult, GradingInput, SafetyResult

__all__ = ["EXPECTED_STEPS", "assess_safety"]


# What a risk calls for, by type: the steps a trainer looks for (at least `need` of them, and
# always one of `closing`: a plan for safety, or a referral or escalation).
EXPECTED_STEPS: dict[str, tuple[tuple[str, ...], int]] = {
    "suicide": (("ideation", "plan", "means", "intent", "history", "protective"), 3),
    "self_harm": (("ideation", "means", "history", "protective", "intent"), 2),
    "harm_to_others": (("ideation", "plan", "means", "intent", "history"), 2),
    "domestic_violence": (("ideation", "plan", "history", "protective"), 1),
    "child_safeguarding": (("ideation", "history"), 1),
    "elder_abuse": (("ideation", "history"), 1),
    "medical": (("ideation", "history"), 1),
}
_CLOSING = ("safety_plan", "referral")
_SAFETY_CODES = frozenset({"risk_inquiry", "safety_response"})
_CLIENT_RISK = re.compile(CLIENT_RISK)
# Siding with harmful intent: "he deserves it", "I'd do the same", "can't blame you".
_COLLUSION = re.compile(
    r"\b(?:(?:he|she|they) (?:deserves?|had it coming|asked for it)|i(?:'d| would) (?:do|feel) "
    r"the same|(?:can't|cannot|don't) blame you|fair enough(?: too)?|who could blame you|"
    r"serves? (?:him|her|them) right|good on you|go for it|you should (?:teach|show) (?:him|"
    r"her|them))\b"
)
_HARM_OTHERS = frozenset({"harm_to_others"})
# How many counsellor turns after a disclosure the safety conversation is looked for in.
WINDOW = 6


@dataclass(frozen=True, slots=True)
class _Moment:
    client_turn: int
    risk_type: str
    missed: bool  # the client recorded the risk as passed over


def _moments(inp: GradingInput) -> list[_Moment]:
    """Risk disclosures: from the client's recorded layers, else from the client's words."""
    persona = inp.persona
    layers = {d.id: d for d in persona.disclosures} if persona else {}
    found: list[_Moment] = []
    missed_turns = {e.turn for e in inp.events if e.name == "risk_missed"}
    for event in inp.events:
        if event.name == "layer_unlocked" and event.detail in layers:
            layer = layers[event.detail]
            if layer.risk:
                # Credited to the counsellor turn before; the client turn is the next one.
                found.append(_Moment(event.turn + 1, layer.kind_of_risk or "suicide",
                                     missed=False))
    if found:
        return [
            _Moment(m.client_turn, m.risk_type, missed=(m.client_turn + 1) in missed_turns)
            for m in found
        ]
    if inp.events:
        return []
    for turn in inp.turns:  # an imported transcript: read the client's words
        if turn.speaker == "client" and _discloses(normalise(turn.text)):
            return [_Moment(turn.index, "suicide", missed=False)]
    return []


# A denial is not a disclosure: "I'm not going to hurt myself", "I'd never kill myself". The
# negation must sit just before the risk words: "I don't want to be here" is itself the risk.
_DENIAL = re.compile(r"\b(?:not|never|no|n't|wouldn't|won't|couldn't)\b(?:\W+\w+){0,3}\W*$")


def _discloses(text: str) -> bool:
    """Risk talk in a client turn that is not only a denial of it."""
    return any(not _DENIAL.search(text[max(0, m.start() - 30):m.start()])
               for m in _CLIENT_RISK.finditer(text))


def _quote(text: str) -> str:
    first = re.split(r"(?<=[.!?])\s+", text.strip())[0]
    return first if first else text


def _follow_up(inp: GradingInput) -> FollowUpResult | None:
    """Whether the student checked in on a risk the client told in the last session."""
    carried = inp.carried_risk
    if carried is None:
        return None
    layer = next((d for d in inp.persona.disclosures if d.id == carried.layer), None) \
        if inp.persona else None
    risk_type = (layer.kind_of_risk if layer else None) or "suicide"
    for turn in inp.counsellor_turns():
        analysis = inp.analyses.get(turn.index)
        codes = set(analysis.codes) if analysis else set()
        if codes & _SAFETY_CODES or (safety_steps_in(turn.text) and "?" in turn.text):
            return FollowUpResult(from_session=carried.from_session, layer=carried.layer,
                                  risk_type=risk_type, followed_up=True, turn=turn.index)
    return FollowUpResult(from_session=carried.from_session, layer=carried.layer,
                          risk_type=risk_type, followed_up=False)


def assess_safety(inp: GradingInput) -> SafetyResult:
    """The safety criterion of one transcript, with the follow-up of a risk told last session."""
    result = _assess(inp)
    follow = _follow_up(inp)
    if follow is None:
        return result
    told = f"In session {follow.from_session} the client told you about " \
        f"{follow.risk_type.replace('_', ' ')} risk"
    if follow.followed_up:
        note = f"{told}; at turn {follow.turn} you checked in on it. Good continuity of care."
        if result.status == "not_tested":
            return result.model_copy(update={
                "status": "pass", "risk_type": follow.risk_type, "follow_up": follow,
                "feedback": note})
        return result.model_copy(update={"follow_up": follow,
                                         "feedback": f"{result.feedback} {note}"})
    note = (f"{told}, and this session did not follow it up. Check in on risk early in the "
            "next session: ask how they have been, and about those thoughts, directly.")
    if result.status in ("not_tested", "pass"):
        return result.model_copy(update={
            "status": "unsafe", "risk_type": follow.risk_type, "follow_up": follow,
            "needs_assessor": True, "missing": ["follow-up of last session's risk"],
            "feedback": note if result.status == "not_tested" else f"{result.feedback} {note}"})
    return result.model_copy(update={"follow_up": follow, "needs_assessor": True,
                                     "feedback": f"{result.feedback} {note}"})


def _assess(inp: GradingInput) -> SafetyResult:
    """The safety criterion of the risk disclosed in this transcript (if any)."""
    moments = _moments(inp)
    screened = [t for t in inp.counsellor_turns()
                if "risk_inquiry" in (inp.analyses.get(t.index).codes
                                      if inp.analyses.get(t.index) else ())]
    if not moments:
        feedback = ("No risk was disclosed. You asked about safety directly, which is good "
                    "practice." if screened else "No risk was disclosed in this session.")
        return SafetyResult(status="not_tested", feedback=feedback)
    moment = moments[0]
    after = [t for t in inp.counsellor_turns() if t.index > moment.client_turn][:WINDOW]
    asked = inp.analyses.get(moment.client_turn - 1)
    if asked is not None and "risk_inquiry" in asked.codes:
        # The disclosure answers the student's own direct question: the assessment began there.
        after = [inp.turns[moment.client_turn - 1], *after[: WINDOW - 1]]
    first = after[0] if after else None
    steps: list[str] = []
    evidence: list[EvidenceItem] = []
    colluded = None
    for i, turn in enumerate(after):
        analysis = inp.analyses.get(turn.index)
        codes = set(analysis.codes) if analysis else set()
        taken = [s for s in safety_steps_in(turn.text) if s not in steps]
        engaged = bool(codes & _SAFETY_CODES) or (bool(taken) and "?" in turn.text)
        if moment.risk_type in _HARM_OTHERS and _COLLUSION.search(normalise(turn.text)):
            colluded = turn
        if not engaged:
            if i == 0:
                break  # the first reply passed over it
            continue
        steps.extend(taken)
        evidence.append(EvidenceItem(turn=turn.index, quote=_quote(turn.text),
                                     code="safety_response", effect="+"))
    expected, need = EXPECTED_STEPS.get(moment.risk_type, EXPECTED_STEPS["suicide"])
    assessed = [s for s in steps if s in expected]
    closed = any(s in steps for s in _CLOSING)
    missing = [s for s in expected if s not in steps][: max(0, need - len(assessed))]
    if not closed:
        missing.append("safety_plan or referral")
    missed = moment.missed or not evidence
    if colluded is not None:
        evidence.append(EvidenceItem(turn=colluded.index, quote=_quote(colluded.text),
                                     code="collusion", effect="-"))
        return SafetyResult(
            status="unsafe", risk_type=moment.risk_type, turn=moment.client_turn, steps=steps,
            missing=missing, evidence=evidence, needs_assessor=True,
            feedback=(f"At turn {colluded.index} your words could be heard as siding with the "
                      "harm the client described. Stay with the person, not the intent: ask "
                      "about it directly and say what must happen to keep everyone safe."),
        )
    if missed:
        said = first.text if first else ""
        if first is not None:
            evidence.append(EvidenceItem(turn=first.index, quote=_quote(said),
                                         code="risk_missed", effect="-"))
        return SafetyResult(
            status="unsafe", risk_type=moment.risk_type, turn=moment.client_turn, steps=[],
            missing=[*expected[:need], "safety_plan or referral"], evidence=evidence,
            needs_assessor=True,
            feedback=(f"At turn {moment.client_turn} the client disclosed risk "
                      f"({moment.risk_type.replace('_', ' ')}) and the next reply passed over it. "
                      "Ask about it directly and calmly, then explore safety."),
        )
    if len(assessed) >= need and closed:
        return SafetyResult(
            status="pass", risk_type=moment.risk_type, turn=moment.client_turn, steps=steps,
            evidence=evidence,
            feedback=("You assessed the risk: " + ", ".join(s.replace("_", " ") for s in steps)
                      + "."),
        )
    return SafetyResult(
        status="not_yet", risk_type=moment.risk_type, turn=moment.client_turn, steps=steps,
        missing=missing, evidence=evidence,
        feedback=("You responded to the risk, but the assessment is not complete yet: still "
                  "to explore " + ", ".join(m.replace("_", " ") for m in missing) + "."),
    )


def steps_named(steps: Sequence[str]) -> str:
    """Steps in words, for feedback."""
    return ", ".join(s.replace("_", " ") for s in steps)
