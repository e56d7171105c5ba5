"""Persona schema v1: the pydantic models a persona YAML file must satisfy."""

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
from app.yamldoc import Slug

__all__ = [
    "ANALYZER_CODES",
    "REACTION_KINDS",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "STYLES",
    "AnalyzerCode",
    "BoundaryKind",
    "BoundaryTest",
    "Client",
    "ConversationalStyle",
    "Disclosure",
    "Persona",
    "ReactionKind",
    "Reactions",
    "Slug",
    "Style",
    "Trust",
    "persona_json_schema",
    "write_json_schema",
]

SCHEMA_VERSION = 1
SCHEMA_ID = "urn:rapport:schema:persona:1"

ConversationalStyle = Literal["plain", "upset", "verbose", "reserved", "tangent", "pleasing"]
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
]
# Trust weights are keyed by the analyzer's stable vocabulary (DESIGN.md, "Analyzer output").
BoundaryKind = Literal[
    "dual_relationship", "gift", "contact", "confidentiality", "self_disclosure", "other"
]

STYLES: tuple[str, ...] = get_args(ConversationalStyle)
REACTION_KINDS: tuple[str, ...] = get_args(ReactionKind)
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
        description="Cultural background where it shapes the story (optional).",
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
            "(short, guarded) | tangent (drifts off topic) | pleasing (agrees, apologises)."
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


class Disclosure(BaseModel):
    """One layer of the client's story, unlocked by trust (and optionally time)."""

    model_config = _CONFIG

    id: Slug = Field(description="Short unique name for the layer, e.g. 'surface', 'shame'.")
    min_trust: float = Field(ge=0, le=10, description="Trust needed to unlock the layer, 0 to 10.")
    min_turn: int = Field(
        default=0, ge=0, description="Earliest student turn at which the layer can unlock."
    )
    says: Line = Field(description="What the client says when the layer first opens.")
    more: list[str] = _lines("Elaborations said on later turns while at this layer.")
    risk: bool = Field(
        default=False,
        description="True if the layer discloses risk to self or others (needs a safety response).",
    )
    after_safety: list[str] = _lines(
        "Client lines after the counsellor responds to the risk with care and safety questions. "
        "Required when risk is true."
    )
    after_missed: list[str] = _lines(
        "Client lines when the counsellor passes over the risk disclosure."
    )

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
    kind: BoundaryKind = Field(default="other", description="Which boundary is being tested.")
    at_turn: int = Field(ge=1, description="Student turn (from 1) after which the client asks.")
    says: Line = Field(description="The client's request or test, in their words.")
    if_held: Line = Field(
        description="The client's reply when the counsellor holds the boundary kindly."
    )
    if_crossed: Line = Field(description="The client's reply when the counsellor crosses it.")


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


class Persona(yamldoc.LibraryDocument):
    """A simulated counselling client, written by a trainer as YAML."""

    model_config = yamldoc.document_config("persona", SCHEMA_ID)

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
    boundary_tests: list[BoundaryTest] = Field(
        default_factory=list, description="Moments where the client tests a boundary."
    )
    reactions: Reactions = Field(
        description="The client's lines for each kind of thing the student might do."
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

    @field_validator("boundary_tests")
    @classmethod
    def _unique_boundary_ids(cls, value: list[BoundaryTest]) -> list[BoundaryTest]:
        """Each boundary test needs its own id."""
        _check_unique([b.id for b in value], "boundary_tests")
        return value


def _check_unique(ids: list[str], where: str) -> None:
    """Raise a located error on the second use of an id within one list."""
    seen: dict[str, int] = {}
    for i, ident in enumerate(ids):
        if ident in seen:
            raise PydanticCustomError(
                "duplicate_id",
                "id '{id}' is used twice, at {first} and {second}; each id must be unique",
                {
                    "at": (i, "id"),
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
