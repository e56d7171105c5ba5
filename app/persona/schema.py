"""Persona schema v2: the pydantic models a persona YAML file must satisfy.

Version 2 adds what a client needs to *listen*: facts the client knows about their own life
(with the words a student might ask them by), topics and feelings on each layer, elaborations
with topics, deflections for questions with no fact, an answer to a direct question about
suicide or harm, a risk type and an answer for each step of a safety conversation, an
`if_unaddressed` line and a human title on every boundary test, the jurisdiction's services and
reporting duties. Version 1 files still load (every new field has a default); `rapport personas
upgrade` rewrites them as version 2.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app import yamldoc
from app.analysis.model import CODES, AnalyzerCode
from app.persona.sessions import SessionPlan
from app.yamldoc import Slug

__all__ = [
    "ANALYZER_CODES",
    "PROCESS_KINDS",
    "REACTION_KINDS",
    "READABLE_VERSIONS",
    "RISK_TYPES",
    "SAFETY_STEPS",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "STYLES",
    "AnalyzerCode",
    "BoundaryKind",
    "BoundaryTest",
    "Client",
    "ConversationalStyle",
    "Disclosure",
    "Elaboration",
    "Fact",
    "Jurisdiction",
    "Persona",
    "ReactionKind",
    "Reactions",
    "RiskType",
    "SafetyAnswers",
    "SafetyStep",
    "Service",
    "Slug",
    "Style",
    "Trust",
    "humanise",
    "persona_json_schema",
    "write_json_schema",
]

SCHEMA_VERSION = 2
SCHEMA_ID = "urn:rapport:schema:persona:2"
READABLE_VERSIONS = (1, 2)

ConversationalStyle = Literal[
    "plain", "upset", "verbose", "reserved", "tangent", "pleasing", "hostile", "silent",
    "interpreted",
]
ReactionKind = Literal[
    "heard",
    "validated",
    "questioned_open",
    "questioned_closed",
    "advised",
    "judged",
    "reassured",
    "dismissed",
    "boundary_slip",
    "neutral",
    "contracted",
    "confused",
    "repaired",
]
# Trust weights are keyed by the analyzer's stable vocabulary (DESIGN.md, "Analyzer output").
BoundaryKind = Literal[
    "dual_relationship",
    "gift",
    "contact",
    "confidentiality",
    "self_disclosure",
    "culture",
    "favour",
    "other",
]
# Kinds judged on the process (acknowledge, explore, decide with a reason) rather than on a
# refusal: a meaningful gift, or "are you Vietnamese?", an invitation to talk about difference.
PROCESS_KINDS: frozenset[str] = frozenset({"gift", "culture"})
RiskType = Literal[
    "suicide",
    "self_harm",
    "harm_to_others",
    "child_safeguarding",
    "elder_abuse",
    "domestic_violence",
    "medical",
]
# The steps of a safety conversation, in the order a counsellor usually takes them.
SafetyStep = Literal[
    "ideation", "plan", "means", "intent", "history", "protective", "safety_plan", "referral"
]

STYLES: tuple[str, ...] = get_args(ConversationalStyle)
REACTION_KINDS: tuple[str, ...] = get_args(ReactionKind)
RISK_TYPES: tuple[str, ...] = get_args(RiskType)
SAFETY_STEPS: tuple[str, ...] = get_args(SafetyStep)
ANALYZER_CODES: tuple[str, ...] = CODES

Line = Annotated[str, StringConstraints(min_length=1)]
Weight = Annotated[float, Field(ge=-5, le=5)]

_CONFIG = ConfigDict(extra="forbid", frozen=True)


def _lines(description: str, *, min_length: int = 0) -> Any:
    """A list-of-client-lines field; empty by default unless a minimum is set."""
    if min_length:
        return Field(min_length=min_length, description=description)
    return Field(default_factory=list, description=description)


class Client(BaseModel):
    """Who the client is: facts the engine and the student's briefing draw on."""

    model_config = _CONFIG

    name: str = Field(description="The client's first name (or the name they give).")
    age: int = Field(ge=1, le=120, description="Age in years, 1 to 120.")
    pronouns: str = Field(description="Pronouns, e.g. 'she/her', 'he/him', 'they/them'.")
    culture: str | None = Field(
        default=None,
        description=(
            "Cultural background, faith, language and community, and how they shape the story "
            "(expected on every shipped persona)."
        ),
    )
    background: str = Field(
        description="Life situation in a few sentences: work, family, living arrangements."
    )
    presenting_problem: str = Field(
        description="What brings them to counselling, as the client would first see it."
    )


class Style(BaseModel):
    """How the client talks."""

    model_config = _CONFIG

    conversational_style: ConversationalStyle = Field(
        default="plain",
        description=(
            "plain | upset (flooded, emotional) | verbose (long, detailed) | reserved "
            "(short, guarded) | tangent (drifts off topic) | pleasing (agrees, apologises) | "
            "hostile (angry, challenging) | silent (near-silent: '...', one or two words) | "
            "interpreted (speaks through an interpreter; lines are the interpreter's words)."
        ),
    )
    max_sentences: int = Field(
        default=3, ge=1, le=10, description="Most sentences in one client reply, 1 to 10."
    )
    phrases: list[str] = Field(
        default_factory=list,
        description="Verbal habits in the client's voice, sprinkled into replies.",
    )
    opening_line: Line = Field(description="The client's first words in the session.")


class Trust(BaseModel):
    """How trust starts and moves (0 = none, 10 = complete)."""

    model_config = _CONFIG

    initial: float = Field(ge=0, le=10, description="Trust at the start of the session, 0 to 10.")
    max_step: float = Field(
        default=1.5,
        gt=0,
        le=10,
        description="The cap on how far trust can move in one student turn (above 0, up to 10).",
    )
    weights: dict[AnalyzerCode, Weight] = Field(
        default_factory=dict,
        description=(
            "Per analyzer skill code, how much that skill moves trust (-5 to 5). "
            "Overrides the engine's defaults for this client only."
        ),
    )
    drift: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description=(
            "Between sessions, the share of the way back to `initial` that trust slips "
            "(0: the next session starts where this one ended; 1: from `initial` again)."
        ),
    )


Topics = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=60)]],
    Field(
        default_factory=list,
        description=(
            "Words or short phrases a student might use for this (e.g. 'work', 'my job', "
            "'the restructure'); the client follows a student who brings them up."
        ),
    ),
]


def humanise(ident: str) -> str:
    """A readable default title from an id: 'he-left' -> 'He left'."""
    words = ident.replace("_", " ").replace("-", " ").split()
    return " ".join(words)[:1].upper() + " ".join(words)[1:] if words else ident


class Fact(BaseModel):
    """Something the client knows about their own life and says plainly when asked."""

    model_config = _CONFIG

    topic: Annotated[str, StringConstraints(min_length=1, max_length=60)] = Field(
        description=(
            "What the fact is about, in a word or two: 'work', 'dog', 'partner', 'age'. Common "
            "topics (work, home, partner, children, family, friends, pets, age, school, "
            "hobbies, sleep, health, money, faith, culture, drinking) let the self-test ask."
        )
    )
    aliases: Topics
    says: Line = Field(description="The client's first-person answer, as they would say it.")
    min_trust: float = Field(
        default=0, ge=0, le=10, description="Trust needed before the client answers openly."
    )
    guarded: str | None = Field(
        default=None,
        description="What the client says when asked below min_trust (in character).",
    )


class Elaboration(BaseModel):
    """One elaboration of a layer, with the topics it answers."""

    model_config = _CONFIG

    says: Line = Field(description="What the client says.")
    topics: Topics


class SafetyAnswers(BaseModel):
    """The client's answers in a safety conversation, one list per step a counsellor takes."""

    model_config = _CONFIG

    ideation: list[str] = _lines("When asked about the thoughts: how often, how strong.")
    plan: list[str] = _lines("When asked whether there is a plan.")
    means: list[str] = _lines("When asked about access to means.")
    intent: list[str] = _lines("When asked whether they intend to act.")
    history: list[str] = _lines("When asked about past attempts or harm.")
    protective: list[str] = _lines("When asked what keeps them going or safe.")
    safety_plan: list[str] = _lines("When a safety plan is offered or worked out.")
    referral: list[str] = _lines("When referral, crisis lines or escalation are raised.")


class Disclosure(BaseModel):
    """One layer of the client's story, unlocked by trust (and optionally time)."""

    model_config = _CONFIG

    id: Slug = Field(description="Short unique name for the layer, e.g. 'surface', 'shame'.")
    title: str | None = Field(
        default=None,
        description="How the layer is named to students after the session, e.g. 'The warning "
        "at work' (default: from the id).",
    )
    min_trust: float = Field(ge=0, le=10, description="Trust needed to unlock the layer, 0 to 10.")
    min_turn: int = Field(
        default=0, ge=0, description="Earliest student turn at which the layer can unlock."
    )
    topics: Topics
    feelings: list[str] = Field(
        default_factory=list,
        description=(
            "How the client feels at this layer, in plain words ('tired', 'ashamed'): a "
            "reflection naming another feeling is gently corrected."
        ),
    )
    says: Line = Field(description="What the client says when the layer first opens.")
    more: list[str | Elaboration] = Field(
        default_factory=list,
        description="Elaborations said on later turns while at this layer (text, or "
        "{says, topics}).",
    )
    risk: bool = Field(
        default=False,
        description="True if the layer discloses risk to self or others (needs a safety response).",
    )
    risk_type: RiskType | None = Field(
        default=None, description="What kind of risk (default 'suicide' when risk is true)."
    )
    safety: SafetyAnswers | None = Field(
        default=None, description="The client's answers at each step of a safety conversation."
    )
    after_safety: list[str] = _lines(
        "Client lines after the counsellor responds to the risk with care and safety questions. "
        "Required when risk is true."
    )
    after_missed: list[str] = _lines(
        "Client lines when the counsellor passes over the risk disclosure."
    )

    @property
    def label(self) -> str:
        """The title students see."""
        return self.title or humanise(self.id)

    @property
    def elaborations(self) -> list[Elaboration]:
        """Every elaboration as {says, topics}."""
        return [m if isinstance(m, Elaboration) else Elaboration(says=m) for m in self.more]

    @property
    def kind_of_risk(self) -> str | None:
        """The risk type, defaulting to suicide for a risk layer."""
        return (self.risk_type or "suicide") if self.risk else None

    @model_validator(mode="after")
    def _risk_needs_after_safety(self) -> Disclosure:
        """A risk layer must say how the client answers a safety response."""
        if self.risk and not self.after_safety:
            raise PydanticCustomError(
                "risk_needs_after_safety",
                "a risk layer needs 'after_safety' lines: what the client says when the "
                "counsellor responds to the risk",
                {"at": ("after_safety",)},
            )
        return self


class BoundaryTest(BaseModel):
    """A moment where the client tests a professional boundary."""

    model_config = _CONFIG

    id: Slug = Field(description="Short unique name for the test, e.g. 'coffee'.")
    title: str | None = Field(
        default=None,
        description="How the moment is named to students, e.g. 'An invitation for coffee'.",
    )
    kind: BoundaryKind = Field(default="other", description="Which boundary is being tested.")
    at_turn: int = Field(ge=1, description="Student turn (from 1) after which the client asks.")
    says: Line = Field(description="The client's request or test, in their words.")
    if_held: Line = Field(
        description="The client's reply when the counsellor holds the boundary (neutral words: "
        "the client may be disappointed, relieved or both)."
    )
    if_crossed: Line = Field(description="The client's reply when the counsellor crosses it.")
    if_unaddressed: str | None = Field(
        default=None,
        description="The client's reply when the counsellor neither holds nor crosses it (the "
        "request passes without an answer).",
    )

    @property
    def label(self) -> str:
        """The title students see."""
        return self.title or humanise(self.id)


class Reactions(BaseModel):
    """Lines the client uses in response to what the student just did."""

    model_config = _CONFIG

    heard: list[str] = _lines("After an accurate reflection or summary.", min_length=1)
    validated: list[str] = _lines("After validation or affirmation.")
    questioned_open: list[str] = _lines("After an open question (before anything deeper opens).")
    questioned_closed: list[str] = _lines("After a closed or rapid-fire question.", min_length=1)
    advised: list[str] = _lines("After advice nobody asked for.", min_length=1)
    judged: list[str] = _lines("After judgement, blame or moralising.", min_length=1)
    reassured: list[str] = _lines("After premature or false reassurance.")
    dismissed: list[str] = _lines("After minimising or changing the subject.")
    boundary_slip: list[str] = _lines("After the counsellor slips a professional boundary.")
    neutral: list[str] = _lines("Filler when nothing else fits.")
    contracted: list[str] = _lines(
        "After the counsellor explains confidentiality and its limits, their role and the session."
    )
    confused: list[str] = _lines(
        "When the counsellor says something that is not about anything the client said."
    )
    repaired: list[str] = _lines("After the counsellor apologises for a misstep.")


class Service(BaseModel):
    """A support service the client could be pointed to."""

    model_config = _CONFIG

    name: str = Field(description="e.g. 'Lifeline'.")
    contact: str = Field(description="How to reach it, e.g. '13 11 14, 24 hours'.")
    for_: str | None = Field(
        default=None, alias="for", description="Who or what it is for (optional)."
    )


class Jurisdiction(BaseModel):
    """Where the session is set: which services exist and which duties bind the counsellor."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    region: str = Field(description="e.g. 'AU-NSW', 'UK-England', 'US-CA'.")
    services: list[Service] = Field(
        default_factory=list, description="Crisis and support services for this client."
    )
    reporting_duties: list[str] = Field(
        default_factory=list,
        description="What the counsellor must report or act on here (child protection, "
        "serious threats, court orders...).",
    )


class Persona(yamldoc.LibraryDocument):
    """A simulated counselling client, written by a trainer as YAML."""

    model_config = yamldoc.document_config("persona", SCHEMA_ID, schema_version=SCHEMA_VERSION)

    schema_version: Literal[1, 2] = Field(
        default=2, description="Version of this file format: 2 (1 still loads)."
    )
    version: int = yamldoc.revision_field("persona")
    title: str = Field(description="Library card title, e.g. 'Sam — work stress'.")
    difficulty: int = Field(
        ge=1, le=5, description="1 (open, cooperative) to 5 (guarded, hostile)."
    )
    tags: list[str] = Field(default_factory=list, description="Topics, for filtering the library.")
    content_warnings: list[str] = Field(
        default_factory=list,
        description="Shown to the student before the session (e.g. 'suicidal thoughts').",
    )
    learning_objectives: list[str] = Field(
        default_factory=list, description="What a student should practise with this client."
    )
    brief: str = Field(
        description="Two or three sentences for the library card: who walks in and why."
    )
    engine: Literal["scripted", "llm", "local"] | None = Field(
        default=None, description="Preferred client engine; leave out to use the app's default."
    )
    client: Client = Field(
        description="Who the client is: name, age, background and what brings them here."
    )
    jurisdiction: Jurisdiction | None = Field(
        default=None, description="Where the session is set: services and reporting duties."
    )
    style: Style = Field(
        description="How the client talks: style, reply length, verbal habits, first words."
    )
    trust: Trust = Field(
        description="Starting trust, the per-turn cap, and this client's skill weights."
    )
    disclosures: list[Disclosure] = Field(
        min_length=1,
        description="Layers of the story, shallow to deep; min_trust must never go down.",
    )
    facts: list[Fact] = Field(
        default_factory=list,
        description="What the client knows about their own life and says when asked.",
    )
    deflections: list[str] = Field(
        default_factory=list,
        description=(
            "In-character answers to questions the client has no fact for ('Why do you ask?'); "
            "the style's defaults are used when empty. Never invent biography here."
        ),
    )
    when_asked_about_risk: list[str] = Field(
        default_factory=list,
        description=(
            "What the client says to a direct question about suicide or harm before any risk "
            "layer is open: a credible denial, or a guarded partial answer."
        ),
    )
    boundary_tests: list[BoundaryTest] = Field(
        default_factory=list, description="Moments where the client tests a boundary."
    )
    reactions: Reactions = Field(
        description="The client's lines for each kind of thing the student might do."
    )
    sessions: list[SessionPlan] = Field(
        default_factory=list,
        description=(
            "A course of sessions: per session number, the opening line, what happened since "
            "last time, layers that open only from then on, and a goal. Optional."
        ),
    )

    @field_validator("disclosures")
    @classmethod
    def _unique_disclosure_ids(cls, value: list[Disclosure]) -> list[Disclosure]:
        """Each disclosure layer needs its own id."""
        _check_unique([d.id for d in value], "disclosures")
        return value

    @field_validator("disclosures")
    @classmethod
    def _layers_deepen(cls, value: list[Disclosure]) -> list[Disclosure]:
        """Layers are ordered shallow to deep, so min_trust never goes down."""
        for i in range(1, len(value)):
            before, here = value[i - 1].min_trust, value[i].min_trust
            if here < before:
                raise PydanticCustomError(
                    "layers_out_of_order",
                    "layers go from shallow to deep, so min_trust must not go down: "
                    "disclosures[{index}] needs {here} but the layer before it needs {before}",
                    {
                        "at": (i, "min_trust"),
                        "index": i,
                        "here": f"{here:g}",
                        "before": f"{before:g}",
                    },
                )
        return value

    @field_validator("facts")
    @classmethod
    def _unique_fact_topics(cls, value: list[Fact]) -> list[Fact]:
        """Each fact needs its own topic, so a question has one answer."""
        _check_unique([f.topic for f in value], "facts", key="topic")
        return value

    @model_validator(mode="after")
    def _sessions_name_known_layers(self) -> Persona:
        """Each session number once; a session's `layers` are ids of this file's layers."""
        numbers: dict[int, int] = {}
        for i, plan in enumerate(self.sessions):
            if plan.number in numbers:
                raise PydanticCustomError(
                    "duplicate_id",
                    "session {number} is described twice, at sessions[{first}] and "
                    "sessions[{index}]",
                    {"at": ("sessions", i, "number"), "number": plan.number,
                     "first": numbers[plan.number], "index": i},
                )
            numbers[plan.number] = i
        known = {d.id for d in self.disclosures}
        for i, plan in enumerate(self.sessions):
            for j, layer in enumerate(plan.layers):
                if layer not in known:
                    raise PydanticCustomError(
                        "unknown_layer",
                        "sessions[{index}].layers names '{layer}', which is not a disclosure "
                        "layer of this persona",
                        {"at": ("sessions", i, "layers", j), "index": i, "layer": layer},
                    )
        return self

    @field_validator("boundary_tests")
    @classmethod
    def _unique_boundary_ids(cls, value: list[BoundaryTest]) -> list[BoundaryTest]:
        """Each boundary test needs its own id."""
        _check_unique([b.id for b in value], "boundary_tests")
        return value


def _check_unique(ids: list[str], where: str, *, key: str = "id") -> None:
    """Raise a located error on the second use of an id within one list."""
    seen: dict[str, int] = {}
    for i, ident in enumerate(ids):
        if ident in seen:
            raise PydanticCustomError(
                "duplicate_id",
                key + " '{id}' is used twice, at {first} and {second}; each " + key
                + " must be unique",
                {
                    "at": (i, key),
                    "id": ident,
                    "first": f"{where}[{seen[ident]}]",
                    "second": f"{where}[{i}]",
                },
            )
        seen[ident] = i


_SCHEMA_FILE = yamldoc.JsonSchemaFile(
    Persona,
    comment="Generated from app/persona/schema.py; regenerate with `rapport personas schema`.",
)
# Public names: `persona_json_schema()` returns the schema, `write_json_schema(path)` writes it.
persona_json_schema = _SCHEMA_FILE.build
write_json_schema = _SCHEMA_FILE.write
