"""Client state: trust, layers, boundary tests and risk, moved one student turn at a time.

The state machine decides *what* the client may say next (a ReplyPlan); engines only decide
*how* to say it, so every engine obeys the same disclosure gates. One turn is a sequence of
small named steps, each returning new values: settle a pending boundary test, settle a pending
risk (or carry on a safety conversation), move trust, then choose what to say from what the
student said (app/client/listen.py) — a fact for a question, the elaboration a reflection
touches, a correction for a mis-named feeling, a new layer only when trust allows *and* the
turn invites it.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.analysis import TurnAnalysis
from app.analysis.grounding import UNGROUNDED_RULES
from app.analysis.semantics import similarity
from app.analysis.sentences import normalise, stem
from app.analysis.vocabulary import STOPWORDS
from app.client import voice
from app.client.listen import FEELING_FAMILIES, Heard, family_of
from app.persona import PROCESS_KINDS, BoundaryTest, Disclosure, Persona, ReactionKind
from app.persona.sessions import layer_opens_in

__all__ = [
    "DEFAULT_WEIGHTS",
    "TRUST",
    "ClientState",
    "ReplyPlan",
    "TrustMove",
    "advance",
    "held_layers",
    "initial_state",
    "move_trust",
    "reaction_for",
    "trust_band",
]

# Default trust weights per analyzer code; a persona's `trust.weights` override these.
DEFAULT_WEIGHTS: dict[str, float] = {
    "reflection_simple": 0.6,
    "reflection_complex": 1.1,
    "question_open": 0.5,
    "question_closed": -0.3,
    "affirmation": 0.5,
    "validation": 0.6,
    "summary": 1.0,
    "information": -0.2,
    "advice_with_permission": 0.2,
    "advice_without_permission": -1.5,
    "judgement": -2.0,
    "reassurance": -0.7,
    "minimising": -1.2,
    "self_disclosure": -0.4,
    "boundary_crossing": -1.5,
    "boundary_holding": 0.4,
    "risk_inquiry": 0.5,
    "safety_response": 0.8,
    "other": 0.0,
}


@dataclass(frozen=True, slots=True)
class TrustModel:
    """The global shape of trust, calibrated on the team's counsellor scripts (see bench/)."""

    combo: float = 0.5  # share of a second positive move's weight that also counts
    repeat_decay: float = 0.5  # credit kept for each repeat of the same turn's wording
    stem_decay: float = 0.85  # credit kept for each further use of one opening stem
    robotic_after: int = 3  # reuses after which a stock phrase costs trust
    robotic_cost: float = 0.25
    parrot_at: float = 0.6  # share of words copied from the client that makes a parrot
    parrot_credit: float = 0.25
    question_run: int = 2  # questions in a row before another one earns half
    interrogation: float = -0.3  # extra cost of back-to-back closed questions
    headroom: float = 11.0  # gains shrink as trust nears the top: x (1 - trust / headroom)
    excellence_at: float = 7.0  # above this, only excellent moves earn full credit
    ordinary_credit: float = 0.3
    rupture_loss: float = -0.9  # a loss this large is a rupture
    rupture_turns: int = 3  # turns of halved gains after a rupture, unless repaired
    repair_bonus: float = 0.5
    contract_bonus: float = 0.8


TRUST = TrustModel()

_REFLECTIONS = frozenset({"reflection_simple", "reflection_complex", "summary"})
_QUESTIONS = frozenset({"question_open", "question_closed"})
_EXCELLENT = frozenset({"reflection_complex", "summary", "safety_response", "risk_inquiry"})
_ATTENTIVE = frozenset(
    {"reflection_simple", "reflection_complex", "summary", "validation", "affirmation",
     "question_open", "other"}
)

# Most damaging first: one judgement outweighs a reflection in the same breath.
_REACTION_PRIORITY: tuple[tuple[ReactionKind, frozenset[str]], ...] = (
    ("boundary_slip", frozenset({"boundary_crossing"})),
    ("judged", frozenset({"judgement"})),
    ("dismissed", frozenset({"minimising"})),
    ("advised", frozenset({"advice_without_permission"})),
    ("reassured", frozenset({"reassurance"})),
    ("heard", frozenset({"reflection_complex", "reflection_simple", "summary"})),
    ("validated", frozenset({"validation", "affirmation", "safety_response"})),
    ("questioned_open", frozenset({"question_open", "advice_with_permission", "risk_inquiry"})),
    ("questioned_closed", frozenset({"question_closed"})),
    ("boundary_slip", frozenset({"self_disclosure"})),
)
NEGATIVE_REACTIONS: frozenset[str] = frozenset(
    {"advised", "judged", "reassured", "dismissed", "boundary_slip"}
)

BoundaryOutcome = Literal["pending", "held", "crossed", "unaddressed"]
RiskOutcome = Literal["pending", "answered", "missed"]


class ClientState(BaseModel):
    """What the client carries from one turn to the next; stored on every client turn."""

    model_config = ConfigDict(extra="forbid")

    trust: float
    turn: int = 0
    unlocked: list[str] = Field(default_factory=list)
    said: dict[str, int] = Field(default_factory=dict)  # layer id -> lines said (1 + more)
    boundary: dict[str, BoundaryOutcome] = Field(default_factory=dict)
    risk: dict[str, RiskOutcome] = Field(default_factory=dict)
    closed_streak: int = 0
    recent: list[str] = Field(default_factory=list)
    # Version 2: what the client has said (line keys), the thread, the relationship.
    used: list[str] = Field(default_factory=list)
    thread: str | None = None  # the layer the conversation is on
    safety: str | None = None  # the risk layer of an open safety conversation
    steps: list[str] = Field(default_factory=list)  # safety steps the student has taken
    question_streak: int = 0
    listening: int = 0  # attentive turns in a row
    rupture: int = 0  # turns left of a rupture's withdrawal
    contracted: bool = False
    stock: dict[str, int] = Field(default_factory=dict)  # student's wording -> uses
    stems: dict[str, int] = Field(default_factory=dict)  # student's opening stem -> uses
    said_lines: list[str] = Field(default_factory=list)  # fingerprints of every line said
    # A course of sessions (app/client/carry.py): which session this is, the layers told in
    # earlier ones, layers that may not open until a later session, what the student and
    # client agreed to last time, and a risk told last session that this one must follow up.
    session_number: int = 1
    earlier: list[str] = Field(default_factory=list)
    held: list[str] = Field(default_factory=list)
    tasks: list[str] = Field(default_factory=list)
    follow_up: str | None = None
    follow_up_from: int | None = None  # the session number the risk was told in


class ReplyPlan(BaseModel):
    """The state machine's decision for one client reply, before any engine voices it."""

    model_config = ConfigDict(extra="forbid")

    turn: int
    reaction: ReactionKind
    trust_before: float
    trust_after: float
    disclose: str | None = None
    elaborate: str | None = None
    fact: str | None = None  # topic of the fact answered
    topic: str | None = None  # what the student's words pointed at (a topic key)
    corrected: str | None = None  # a feeling the client corrected
    boundary_outcome: tuple[str, Literal["held", "crossed", "unaddressed"]] | None = None
    boundary_fire: str | None = None
    risk_outcome: tuple[str, Literal["answered", "missed"]] | None = None
    safety_steps: list[str] = Field(default_factory=list)  # steps answered this turn
    lines: list[str] = Field(default_factory=list)
    keys: list[str] = Field(default_factory=list)
    kind: str = "reaction"  # what the reply mainly is: fact, disclosure, elaboration, ...
    reaction_only: bool = False
    withdrawn: bool = False


def initial_state(persona: Persona) -> ClientState:
    """The state before the student says anything in a first session."""
    return ClientState(trust=round(persona.trust.initial, 2), held=held_layers(persona, 1))


def held_layers(persona: Persona, number: int) -> list[str]:
    """Layers the persona's `sessions:` keep closed until after session `number`."""
    return [d.id for d in persona.disclosures
            if layer_opens_in(persona.sessions, d.id) > number]


def trust_band(trust: float) -> str:
    """Trust in words, for prompts and the transcript page."""
    if trust < 2:
        return "guarded and wary"
    if trust < 4:
        return "cautious, testing the counsellor"
    if trust < 6:
        return "warming up, willing to share more"
    if trust < 8:
        return "trusting, speaking openly"
    return "very open, able to say hard things"


def reaction_for(codes: Iterable[str]) -> ReactionKind:
    """The client's felt reaction to a student turn, from its analyzer codes."""
    present = set(codes)
    for kind, triggers in _REACTION_PRIORITY:
        if present & triggers:
            return kind
    return "neutral"


# ---------------------------------------------------------------------------------------------
# Step 1: a pending boundary test is held, crossed or left unaddressed.


def settle_boundary(
    persona: Persona, state: ClientState, analysis: TurnAnalysis, heard: Heard
) -> tuple[dict[str, BoundaryOutcome], tuple[str, Literal["held", "crossed", "unaddressed"]]
           | None]:
    """The outcome of the boundary test the client raised last turn, if one is pending."""
    pending = next((k for k, v in state.boundary.items() if v == "pending"), None)
    if pending is None:
        return dict(state.boundary), None
    test = next(t for t in persona.boundary_tests if t.id == pending)
    codes = set(analysis.codes)
    if ("boundary_holding" in codes and "self_disclosure" in codes
            and analysis.confidence["self_disclosure"] < SURE_DISCLOSURE):
        # An explicit hold outranks a doubtful story of one's own in the same turn ("I'm glad
        # you felt able to ask" reads as "I..." talk, not as an answer about oneself).
        codes.discard("self_disclosure")
    outcome = boundary_outcome(test, codes, heard)
    return {**state.boundary, pending: outcome}, (pending, outcome)


# How sure the analyzer must be of a self-disclosure for it to cross a boundary the same turn
# explicitly holds.
SURE_DISCLOSURE = 0.5


def boundary_outcome(
    test: BoundaryTest, codes: set[str], heard: Heard
) -> Literal["held", "crossed", "unaddressed"]:
    """How the student answered a boundary test.

    A crossing is explicit (or, for a personal question, answering with one's own story).
    Holding needs an explicit hold; for a confidentiality question, the limits must be said;
    for a meaningful gift or a question about identity ("are you X?"), the process counts:
    acknowledging and exploring it, or deciding with a reason. Anything else leaves the
    request unaddressed.
    """
    crossing = {"boundary_crossing"}
    if test.kind == "self_disclosure":
        crossing.add("self_disclosure")
    if codes & crossing:
        return "crossed"
    if test.kind == "confidentiality":
        return "held" if "limits" in heard.contract else "unaddressed"
    if test.kind in PROCESS_KINDS:
        # Acknowledging and exploring *this* request (not just any open question after it),
        # or deciding with a reason.
        explored = codes & {"question_open", "reflection_simple", "reflection_complex",
                            "summary", "validation", "affirmation"}
        about = bool(_PROCESS.search(heard.said)) or bool(
            _content_stems(heard.said) & _content_stems(normalise(test.says))
        )
        return "held" if (explored and about) or "boundary_holding" in codes else "unaddressed"
    return "held" if "boundary_holding" in codes else "unaddressed"


# Words of acknowledging and exploring a gift or a question about who the counsellor is.
_PROCESS = re.compile(
    r"\b(?:what (?:would|does|might|did) it mean|what makes you (?:ask|wonder)|what's behind|"
    r"curious|wonder(?:ing)?|thank you|thanks|thoughtful|kind of you|touched|lovely|means a "
    r"lot|fair (?:question|thing)|difference|different|background|culture|faith|religion|"
    r"where (?:i'm|you're) from|made (?:it|this|them) for)\b"
)


def _content_stems(norm: str) -> set[str]:
    return {stem(w) for w in re.findall(r"[a-z]+", norm) if len(w) >= 4 and w not in STOPWORDS}


# ---------------------------------------------------------------------------------------------
# Step 2: a pending risk disclosure is answered or missed; an open safety conversation goes on.


@dataclass(frozen=True, slots=True)
class RiskMove:
    """What this turn did about risk."""

    risk: dict[str, RiskOutcome]
    outcome: tuple[str, Literal["answered", "missed"]] | None
    safety: str | None  # the layer whose safety conversation is open after this turn
    steps: tuple[str, ...]  # steps taken this turn
    all_steps: tuple[str, ...]


_SAFETY_CODES = frozenset({"safety_response", "risk_inquiry"})


def settle_risk(
    persona: Persona, state: ClientState, analysis: TurnAnalysis, heard: Heard
) -> RiskMove:
    """Answer or miss a fresh risk disclosure; follow the student through a safety talk."""
    codes = set(analysis.codes)
    pending = next((k for k, v in state.risk.items() if v == "pending"), None)
    # Right after a disclosure (or inside a safety talk) a question about the plan, the means
    # or what keeps them going engages with the risk even when it names no risk word.
    followed = (pending is not None or state.safety is not None) and bool(
        heard.safety_steps and (heard.question or codes & {"question_open", "question_closed"})
    )
    engaged = bool(codes & _SAFETY_CODES) or followed
    steps = tuple(sorted(heard.safety_steps)) if engaged else ()
    if pending is not None:
        outcome: Literal["answered", "missed"] = "answered" if engaged else "missed"
        safety = pending if engaged else None
        return RiskMove(
            {**state.risk, pending: outcome}, (pending, outcome), safety, steps,
            tuple(dict.fromkeys([*state.steps, *steps])),
        )
    if state.safety is not None:
        safety = state.safety if engaged else None
        return RiskMove(dict(state.risk), None, safety, steps,
                        tuple(dict.fromkeys([*state.steps, *steps])))
    return RiskMove(dict(state.risk), None, None, (), tuple(state.steps))


# ---------------------------------------------------------------------------------------------
# Step 3: trust moves with the skill shown, not with the number of turns.


@dataclass(frozen=True, slots=True)
class TrustMove:
    """How far trust moved this turn and why."""

    delta: float
    gain: float
    loss: float
    bonus: float
    rupture: int  # turns of rupture left after this turn
    repaired: bool
    contracted: bool
    notes: tuple[str, ...] = ()


def move_trust(
    persona: Persona, state: ClientState, analysis: TurnAnalysis, heard: Heard,
    *, model: TrustModel | None = None,
) -> TrustMove:
    """The change in trust for one student turn, with the reasons."""
    model = model or TRUST
    weights = {**DEFAULT_WEIGHTS, **persona.trust.weights}
    confidence = analysis.confidence
    codes = set(analysis.codes)
    notes: list[str] = []
    repeats = state.stock.get(heard.stock or "", 0)
    stem_uses = state.stems.get(heard.stem or "", 0)
    positives: list[float] = []
    loss = 0.0
    for code in codes:
        weight = weights.get(code, 0.0) * confidence.get(code, 1.0)
        if weight < 0:
            loss += weight
            continue
        if weight == 0:
            continue
        if code in _REFLECTIONS and heard.parroting >= model.parrot_at:
            weight *= model.parrot_credit
            notes.append("parroting")
        if code in _QUESTIONS and state.question_streak >= model.question_run:
            weight *= 0.5
            notes.append("question run")
        positives.append(weight)
    positives.sort(reverse=True)
    gain = positives[0] + model.combo * sum(positives[1:]) if positives else 0.0
    if repeats:
        gain *= model.repeat_decay ** repeats
        notes.append(f"repeated wording x{repeats + 1}")
        if repeats >= model.robotic_after:
            loss -= model.robotic_cost
    elif stem_uses > 1:
        gain *= model.stem_decay ** (stem_uses - 1)
        notes.append(f"same opening x{stem_uses + 1}")
    if "question_closed" in codes and state.closed_streak >= 1:
        loss += model.interrogation
    gain *= max(0.1, 1 - state.trust / model.headroom)
    if state.trust >= model.excellence_at and not codes & _EXCELLENT:
        gain *= model.ordinary_credit
    if state.rupture:
        gain *= 0.5
    bonus = 0.0
    repaired = False
    if heard.apology and state.rupture:
        bonus += model.repair_bonus
        repaired = True
        notes.append("repair")
    contracted = False
    if not state.contracted and state.turn < 3 and len(heard.contract) >= 2 and (
        heard.contract & {"confidentiality", "limits"}
    ):
        bonus += model.contract_bonus
        contracted = True
        notes.append("contract")
    cap = persona.trust.max_step
    delta = max(-cap, min(cap, gain + loss + bonus))
    if loss <= model.rupture_loss:
        rupture = model.rupture_turns
    elif repaired:
        rupture = 0
    else:
        rupture = max(0, state.rupture - 1)
    return TrustMove(round(delta, 3), round(gain, 3), round(loss, 3), round(bonus, 3),
                     rupture, repaired, contracted, tuple(notes))


# ---------------------------------------------------------------------------------------------
# Step 4: what to say, from what the student said.


@dataclass(slots=True)
class _Choice:
    """Lines chosen so far for one reply."""

    lines: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    kind: str = "reaction"
    disclose: str | None = None
    elaborate: str | None = None
    fact: str | None = None
    topic: str | None = None
    corrected: str | None = None
    safety_steps: list[str] = field(default_factory=list)

    def say(self, key: str, line: str) -> None:
        self.keys.append(key)
        self.lines.append(line)


def line_hash(text: str) -> str:
    """A short fingerprint of a line's words, to notice a line about to be said twice."""
    words = " ".join(text.lower().split())
    return hashlib.blake2s(words.encode(), digest_size=5).hexdigest()


# How much nearer in meaning to the student's words one line must be than the next before it
# is chosen for them (the static vectors are coarse: below this, either line may fit).
ANSWER_MARGIN = 0.03


class _Lines:
    """Picks lines by key, never one said already in the session while another is left."""

    def __init__(self, used: Iterable[str], said: Iterable[str], rng: random.Random) -> None:
        self.used = set(used)
        self.said = set(said)
        self.rng = rng

    def fresh(self, key: str, line: str) -> bool:
        """Neither this line nor the same words under another key has been said."""
        return key not in self.used and line_hash(line) not in self.said

    def take(self, key: str, line: str) -> None:
        self.used.add(key)
        self.said.add(line_hash(line))

    def pick(
        self, options: Sequence[tuple[str, str]], *, answering: str | None = None
    ) -> tuple[str, str] | None:
        """A fresh option, at random; with `answering` (the student's words), the one nearest
        in meaning to them when it is clearly nearest."""
        fresh = [o for o in options if o[1] and self.fresh(*o)]
        if not fresh:
            return None
        choice = fresh[0] if len(fresh) == 1 else None
        if choice is None and answering:
            near = sorted(((similarity(answering, normalise(o[1])), o) for o in fresh),
                          key=lambda pair: pair[0], reverse=True)
            if near[0][0] - near[1][0] >= ANSWER_MARGIN:
                choice = near[0][1]
        if choice is None:
            choice = self.rng.choice(fresh)
        self.take(*choice)
        return choice

    def fallback(self, style: str, persona: Persona) -> tuple[str, str]:
        """A short acknowledgement not said before (composed from two small lists)."""
        heads, tails = voice.FALLBACK.get(style, voice.FALLBACK["default"])
        for i, head in enumerate(heads):
            for j, tail in enumerate(tails):
                key, line = f"x:{i}:{j}", _speak(persona, f"{head} {tail}".strip())
                if self.fresh(key, line):
                    self.take(key, line)
                    return key, line
        return "x:last", _speak(persona, heads[0])


def _reaction_options(persona: Persona, kind: str) -> list[tuple[str, str]]:
    """The persona's lines for a reaction (with close relatives), then the style's own."""
    fallbacks: dict[str, tuple[str, ...]] = {
        "validated": ("validated", "heard"),
        "questioned_open": ("questioned_open", "heard"),
        "reassured": ("reassured", "dismissed", "advised"),
        "dismissed": ("dismissed", "judged"),
        "boundary_slip": ("boundary_slip", "neutral", "questioned_closed"),
        "neutral": ("neutral", "questioned_closed"),
    }
    options: list[tuple[str, str]] = []
    for name in fallbacks.get(kind, (kind,)):
        lines = getattr(persona.reactions, name, None) or []
        options.extend((f"r:{name}:{i}", line) for i, line in enumerate(lines))
    style = persona.style.conversational_style
    options.extend((f"s:{kind}:{i}", _speak(persona, line)) for i, line in
                   enumerate(voice.style_lines(kind, style)))
    return options


def _speak(persona: Persona, line: str) -> str:
    """A style line in this client's words (pronouns filled for an interpreted session)."""
    return voice.speak_of(line, persona.client.pronouns)


def _react(choice: _Choice, persona: Persona, picker: _Lines, kind: str) -> None:
    picked = picker.pick(_reaction_options(persona, kind))
    if picked is None:
        picked = picker.fallback(persona.style.conversational_style, persona)
    choice.say(*picked)


def _deflect(choice: _Choice, persona: Persona, picker: _Lines) -> None:
    style = persona.style.conversational_style
    options = [(f"d:{i}", line) for i, line in enumerate(persona.deflections)]
    options += [(f"sd:{i}", _speak(persona, line))
                for i, line in enumerate(voice.style_lines("deflect", style))]
    picked = picker.pick(options) or picker.fallback(style, persona)
    choice.kind = "deflection"
    choice.say(*picked)


def _available(persona: Persona, trust: float, turn: int, unlocked: Sequence[str],
               held: Collection[str] = ()) -> list[Disclosure]:
    """Layers whose trust and turn gates are open and that have not been said yet."""
    return [
        layer for layer in persona.disclosures
        if layer.id not in unlocked and layer.min_trust <= trust and layer.min_turn <= turn
        and layer.id not in held
    ]


def _next_elaboration(layer: Disclosure, used: set[str], heard: Heard) -> tuple[str, str] | None:
    """The unused elaboration of a layer that best fits the student's words (else the next)."""
    options = [(f"m:{layer.id}:{n}", e.says) for n, e in enumerate(layer.elaborations)
               if f"m:{layer.id}:{n}" not in used]
    if not options:
        return None
    scores = dict(heard.matches)
    best = max(options, key=lambda o: (scores.get(f"more:{o[0][2:]}", 0.0), -options.index(o)))
    return best


def _correction(persona: Persona, layer: Disclosure | None, heard: Heard, rng: random.Random
                ) -> tuple[str, str] | None:
    """A gentle correction when the student named a feeling the client does not have here."""
    if layer is None or not layer.feelings or not heard.named_feelings:
        return None
    felt = [f for f in layer.feelings if family_of(f)]
    felt_families = {family_of(f) for f in felt}
    for named in heard.named_feelings:
        family = family_of(named)
        if family is None or family in felt_families or family == "relief":
            continue
        if any(named in FEELING_FAMILIES[f] for f in felt_families if f):
            continue
        actual = felt[0] if felt else layer.feelings[0]
        style = persona.style.conversational_style
        template = rng.choice(voice.CORRECTIONS.get(style, voice.CORRECTIONS["plain"]))
        line = template.replace("{named}", named).replace("{felt}", actual)
        line = line.replace("{Named}", named.capitalize()).replace("{Felt}", actual.capitalize())
        return f"c:{named}", _speak(persona, line)
    return None


def _layer(persona: Persona, layer_id: str | None) -> Disclosure | None:
    return next((d for d in persona.disclosures if d.id == layer_id), None)


def _open_layer(choice: _Choice, layer: Disclosure, *, unlocked: list[str],
                risk: dict[str, RiskOutcome]) -> None:
    unlocked.append(layer.id)
    choice.disclose = layer.id
    choice.kind = "disclosure"
    choice.say(f"l:{layer.id}", layer.says)
    if layer.risk:
        risk[layer.id] = "pending"


def _elaborate(choice: _Choice, layer: Disclosure, picker: _Lines, heard: Heard) -> bool:
    picked = _next_elaboration(layer, picker.used, heard)
    if picked is None:
        return False
    picker.take(*picked)
    choice.elaborate = layer.id
    choice.kind = "elaboration"
    choice.say(*picked)
    return True


def _answer_fact(choice: _Choice, persona: Persona, topic: str, trust: float,
                 picker: _Lines) -> None:
    fact = next(f for f in persona.facts if f.topic == topic)
    choice.fact = topic
    choice.kind = "fact"
    if trust < fact.min_trust:
        if fact.guarded and picker.fresh(f"fg:{topic}", fact.guarded):
            picker.take(f"fg:{topic}", fact.guarded)
            choice.say(f"fg:{topic}", fact.guarded)
        else:
            _deflect(choice, persona, picker)
            choice.fact = topic
        return
    for n, lead in enumerate(_AGAIN):
        key = f"f:{topic}" if n == 0 else f"f:{topic}:{n}"
        text = fact.says if not lead else lead + fact.says[:1].lower() + fact.says[1:]
        if picker.fresh(key, text):
            picker.take(key, text)
            choice.say(key, text)
            return
    _deflect(choice, persona, picker)


# How a client answers a question about a fact a second or third time.
_AGAIN = ("", "Like I said, ", "I mentioned it before — ", "Yeah, as I said, ")


def _risk_lines(choice: _Choice, layer: Disclosure, move: RiskMove, picker: _Lines, *,
                answering: str) -> None:
    """The client's answers in a safety conversation: one per step the student took."""
    answered = False
    if layer.safety is not None:
        for step in move.steps:
            pool = getattr(layer.safety, step, [])
            # "How often?" and "Have you thought of ending your life?" are both the ideation
            # step: each gets the line that answers it, not whichever comes up first.
            picked = picker.pick([(f"y:{layer.id}:{step}:{i}", line)
                                  for i, line in enumerate(pool)], answering=answering)
            if picked:
                choice.say(*picked)
                choice.safety_steps.append(step)
                answered = True
            if len(choice.lines) >= 2:
                break
    if not answered:
        picked = picker.pick([(f"k:{layer.id}:safe:{i}", line)
                              for i, line in enumerate(layer.after_safety)])
        if picked:
            choice.say(*picked)
    choice.kind = "safety"


def choose_content(
    persona: Persona, state: ClientState, analysis: TurnAnalysis, heard: Heard, *,
    trust: float, turn: int, reaction: ReactionKind, move: RiskMove, boundary: tuple | None,
    trust_move: TrustMove, rng: random.Random,
) -> tuple[_Choice, list[str], dict[str, RiskOutcome], int]:
    """Choose the reply's lines; return them with the new unlocked list, risk and listening."""
    choice = _Choice()
    picker = _Lines(state.used, state.said_lines, rng)
    unlocked = list(state.unlocked)
    risk = dict(move.risk)
    codes = set(analysis.codes)
    negative = reaction in NEGATIVE_REACTIONS
    # Attentive listening keeps the client talking; a stock phrase said again or the client's
    # own words parroted back are not attention, however warm they sound.
    echoed = heard.parroting >= TRUST.parrot_at
    hollow = bool(state.stock.get(heard.stock or "", 0)) or echoed
    attentive = not negative and not hollow and bool(codes & _ATTENTIVE or heard.backchannel)
    listening = state.listening + 1 if attentive else 0
    thread = _layer(persona, state.thread)

    if boundary is not None and not (boundary[1] == "unaddressed" and "risk_inquiry" in codes):
        # (A direct question about risk is answered first; the request stays unanswered.)
        test = next(t for t in persona.boundary_tests if t.id == boundary[0])
        line = {"held": test.if_held, "crossed": test.if_crossed}.get(
            boundary[1], test.if_unaddressed or ""
        )
        if not line:
            _react(choice, persona, picker, "neutral")
        else:
            choice.say(f"b:{test.id}:{boundary[1]}", line)
        choice.kind = "boundary"
        return choice, unlocked, risk, listening

    if move.outcome is not None:
        layer = _layer(persona, move.outcome[0])
        assert layer is not None
        if move.outcome[1] == "answered":
            _risk_lines(choice, layer, move, picker, answering=heard.said)
        else:
            picked = picker.pick([(f"k:{layer.id}:missed:{i}", line)
                                  for i, line in enumerate(layer.after_missed)])
            if picked:
                choice.say(*picked)
            else:
                _react(choice, persona, picker, "dismissed")
            choice.kind = "risk_missed"
        return choice, unlocked, risk, listening
    if move.safety is not None and move.steps:
        layer = _layer(persona, move.safety)
        if layer is not None:
            _risk_lines(choice, layer, move, picker, answering=heard.said)
            if choice.lines:
                return choice, unlocked, risk, listening

    asked = "risk_inquiry" in codes
    # A safety step offered before the client has said anything of risk ("Could we work out
    # how to keep you safe tonight?") is answered like a first question about it, not with a
    # line of feeling understood ("Yeah. That's it, near enough.", seen in the browser).
    if asked or "safety_response" in codes:
        risk_layer = next((d for d in persona.disclosures
                           if d.risk and d.id not in unlocked and d.id not in state.held), None)
        if asked and risk_layer is not None and trust >= risk_layer.min_trust - 2 and (
            turn >= risk_layer.min_turn - 3
        ):
            # Asking directly is skilled practice: it can open the risk layer a little early.
            _open_layer(choice, risk_layer, unlocked=unlocked, risk=risk)
            return choice, unlocked, risk, listening
        if not any(d.risk and d.id in unlocked for d in persona.disclosures):
            kind = "risk_guarded" if risk_layer is not None else "risk_denial"
            # The file's lines answer "are you thinking of suicide?". Asked first about a
            # plan, the means or what keeps them going, a client not ready to say answers
            # guardedly instead of to a question nobody asked ("Have I thought about it?" to
            # "What has kept you going?").
            other_step = not asked or (bool(heard.safety_steps)
                                       and "ideation" not in heard.safety_steps)
            options = [] if other_step and risk_layer is not None else [
                (f"q:{i}", line) for i, line in enumerate(persona.when_asked_about_risk)]
            options += [(f"sq:{kind}:{i}", _speak(persona, line)) for i, line in
                        enumerate(voice.style_lines(kind, persona.style.conversational_style))]
            # Not ready to say is not "Yeah.": once the guarded lines are used, the client's
            # own ways of not answering come next.
            deflections = [(f"d:{i}", line) for i, line in enumerate(persona.deflections)
                           if risk_layer is not None]
            picked = (picker.pick(options) or picker.pick(deflections)
                      or picker.fallback(persona.style.conversational_style, persona))
            choice.say(*picked)
            choice.kind = "risk_screen"
            return choice, unlocked, risk, listening

    if negative:
        _react(choice, persona, picker, reaction)
        return choice, unlocked, risk, listening

    ungrounded = any(e.source in UNGROUNDED_RULES for e in analysis.evidence)
    if ungrounded and not codes - {"other"}:
        _react(choice, persona, picker, "confused")
        choice.kind = "confused"
        return choice, unlocked, risk, listening

    if trust_move.repaired:
        _react(choice, persona, picker, "repaired")
        choice.kind = "repaired"
        return choice, unlocked, risk, listening
    if trust_move.contracted and not heard.question:
        _react(choice, persona, picker, "contracted")
        choice.kind = "contracted"
        return choice, unlocked, risk, listening

    withdrawn = state.rupture > 0 and trust_move.rupture > 0
    available = [] if withdrawn else _available(persona, trust, turn, unlocked, state.held)
    scores = dict(heard.matches)

    def matched_layer() -> Disclosure | None:
        best = max(available, key=lambda d: scores.get(f"layer:{d.id}", 0.0), default=None)
        if best is not None and scores.get(f"layer:{best.id}", 0.0) >= 0.5:
            return best
        return None

    def open_next_if_earned(min_listening: int) -> bool:
        if available and listening >= min_listening:
            _open_layer(choice, available[0], unlocked=unlocked, risk=risk)
            return True
        return False

    reflective = bool(codes & (_REFLECTIONS | {"validation", "affirmation"}))
    if heard.question:
        fact_topic = heard.best("fact:")
        layer_key = heard.best("layer:")
        layer_score = scores.get(layer_key, 0.0) if layer_key else 0.0
        fact_score = scores.get(fact_topic, 0.0) if fact_topic else 0.0
        invited = matched_layer()
        thread_left = thread is not None and _next_elaboration(thread, picker.used, heard)
        if heard.anaphoric and thread_left and max(layer_score, fact_score) < 0.95:
            # "What's that like?" asks about what the client just said, not a new topic.
            assert thread is not None
            _elaborate(choice, thread, picker, heard)
            choice.topic = f"layer:{thread.id}"
        elif invited is not None and heard.question in ("open", "wh") and \
                layer_score > fact_score:
            _open_layer(choice, invited, unlocked=unlocked, risk=risk)
            choice.topic = f"layer:{invited.id}"
        elif fact_topic is not None:
            _answer_fact(choice, persona, fact_topic[5:], trust, picker)
            choice.topic = f"fact:{fact_topic[5:]}"
        else:
            target = _matched_unlocked(persona, unlocked, scores) or thread
            if target is not None and heard.question == "open" and \
                    _elaborate(choice, target, picker, heard):
                choice.topic = f"layer:{target.id}"
            elif heard.question == "open" and analysis.empathy.get("explorations", 0) >= 1 \
                    and open_next_if_earned(0):
                pass  # an open question that explores the client's experience goes deeper
            elif heard.question == "wh" or not _about_thread(heard, thread):
                # A closed question about something the file does not say gets no invented
                # yes or no: the client deflects in character.
                _deflect(choice, persona, picker)
            else:
                _react(choice, persona, picker, reaction)
    elif reflective:
        target = _matched_unlocked(persona, unlocked, scores) or thread
        correction = _correction(persona, target, heard, rng)
        if correction is not None:
            choice.say(*correction)
            choice.corrected = correction[0][2:]
            choice.kind = "correction"
        invited = matched_layer()
        if invited is not None and correction is None:
            _open_layer(choice, invited, unlocked=unlocked, risk=risk)
        elif target is not None and _elaborate(choice, target, picker, heard):
            choice.topic = f"layer:{target.id}"
        elif correction is None and not open_next_if_earned(2):
            # Their own words said back are not being understood: "Yeah.", not "That's the
            # bit I don't say." (a repeat may still draw more of the thread, as above).
            _react(choice, persona, picker, "neutral" if echoed else reaction)
    elif heard.backchannel:
        target = thread
        if not (target is not None and _elaborate(choice, target, picker, heard)) and \
                not open_next_if_earned(2):
            _react(choice, persona, picker, "neutral")
    else:
        _react(choice, persona, picker, reaction)
    return choice, unlocked, risk, listening


def _about_thread(heard: Heard, thread: Disclosure | None) -> bool:
    """Whether the student's words touch the layer the conversation is on."""
    if thread is None:
        return False
    return any(key == f"layer:{thread.id}" or key.startswith(f"more:{thread.id}:")
               for key, _ in heard.matches)


def _matched_unlocked(persona: Persona, unlocked: Sequence[str], scores: dict[str, float]
                      ) -> Disclosure | None:
    """The unlocked layer the student's words point at most (its topics or elaborations)."""
    best, best_score = None, 0.5
    for layer in persona.disclosures:
        if layer.id not in unlocked:
            continue
        score = max([scores.get(f"layer:{layer.id}", 0.0)]
                    + [v for k, v in scores.items() if k.startswith(f"more:{layer.id}:")])
        if score >= best_score:
            best, best_score = layer, score
    return best


def _boundary_due(persona: Persona, boundary: dict[str, BoundaryOutcome], turn: int
                  ) -> BoundaryTest | None:
    """The first boundary test whose turn has come and that has not fired yet."""
    for test in persona.boundary_tests:
        if test.id not in boundary and test.at_turn <= turn:
            return test
    return None


# ---------------------------------------------------------------------------------------------


def advance(
    persona: Persona, state: ClientState, analysis: TurnAnalysis, *, seed: int, heard: Heard,
    model: TrustModel | None = None,
) -> tuple[ClientState, ReplyPlan]:
    """Apply one analysed student turn; return the new state and the reply plan."""
    turn = state.turn + 1
    rng = random.Random(f"{seed}:{turn}")
    codes = set(analysis.codes)
    boundary, boundary_result = settle_boundary(persona, state, analysis, heard)
    move = settle_risk(persona, state, analysis, heard)
    trust_move = move_trust(persona, state, analysis, heard, model=model)
    trust = round(max(0.0, min(10.0, state.trust + trust_move.delta)), 2)
    reaction = reaction_for(codes)
    if trust_move.repaired:
        reaction = "repaired"
    elif trust_move.contracted and reaction in ("neutral", "validated"):
        reaction = "contracted"
    elif reaction == "neutral" and any(e.source in UNGROUNDED_RULES
                                       for e in analysis.evidence):
        reaction = "confused"

    choice, unlocked, risk, listening = choose_content(
        persona, state, analysis, heard, trust=trust, turn=turn, reaction=reaction, move=move,
        boundary=boundary_result, trust_move=trust_move, rng=rng,
    )
    said = dict(state.said)
    if choice.disclose:
        said[choice.disclose] = 1
    if choice.elaborate:
        said[choice.elaborate] = said.get(choice.elaborate, 1) + 1
    thread = choice.disclose or choice.elaborate or state.thread
    safety = move.safety if not choice.disclose else None
    if choice.disclose and _layer(persona, choice.disclose).risk:  # type: ignore[union-attr]
        safety = None

    due = None
    if not choice.disclose and safety is None and "pending" not in risk.values() \
            and boundary_result is None:
        due = _boundary_due(persona, boundary, turn)
    if due is not None:
        boundary = {**boundary, due.id: "pending"}
        choice.say(f"t:{due.id}", due.says)

    stock, stems = dict(state.stock), dict(state.stems)
    if heard.stock and not heard.backchannel:
        stock[heard.stock] = stock.get(heard.stock, 0) + 1
        stock = dict(list(stock.items())[-64:])  # the oldest entries matter least
    if heard.stem and not heard.backchannel:
        stems[heard.stem] = stems.get(heard.stem, 0) + 1
        stems = dict(list(stems.items())[-64:])

    negative = reaction in NEGATIVE_REACTIONS
    lines = [line for line in choice.lines if line]
    new = ClientState(
        trust=trust,
        turn=turn,
        unlocked=unlocked,
        said=said,
        boundary=boundary,
        risk=risk,
        closed_streak=state.closed_streak + 1 if "question_closed" in codes else 0,
        recent=(state.recent + lines)[-8:],
        used=list(dict.fromkeys([*state.used, *choice.keys])),
        said_lines=list(dict.fromkeys([*state.said_lines, *(line_hash(x) for x in lines)])),
        thread=thread,
        safety=safety,
        steps=list(move.all_steps),
        question_streak=state.question_streak + 1 if codes & _QUESTIONS and not
        codes & _REFLECTIONS else 0,
        listening=listening,
        rupture=trust_move.rupture,
        contracted=state.contracted or trust_move.contracted,
        stock=stock,
        stems=stems,
        session_number=state.session_number,
        earlier=state.earlier,
        held=state.held,
        tasks=state.tasks,
        # A check-in on last session's risk settles the follow-up; until then it is carried.
        follow_up=None if codes & _SAFETY_CODES else state.follow_up,
        follow_up_from=None if codes & _SAFETY_CODES else state.follow_up_from,
    )
    plan = ReplyPlan(
        turn=turn,
        reaction=reaction,
        trust_before=state.trust,
        trust_after=trust,
        disclose=choice.disclose,
        elaborate=choice.elaborate,
        fact=choice.fact,
        topic=choice.topic,
        corrected=choice.corrected,
        boundary_outcome=boundary_result,
        boundary_fire=due.id if due else None,
        risk_outcome=move.outcome,
        safety_steps=choice.safety_steps,
        lines=lines,
        keys=choice.keys,
        kind=choice.kind,
        reaction_only=choice.kind in ("reaction", "deflection", "confused", "contracted",
                                      "repaired"),
        withdrawn=negative,
    )
    return new, plan
