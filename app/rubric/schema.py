"""The rubric schema (v1): criteria, behaviour-anchored levels, weighted indicators and caps."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from app import yamldoc
from app.persona import AnalyzerCode
from app.yamldoc import Slug

__all__ = [
    "EVENTS",
    "MEASURES",
    "MECHANISMS",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "Basis",
    "Cap",
    "Criterion",
    "EventName",
    "Framework",
    "Indicator",
    "Mechanism",
    "Rubric",
    "Scale",
    "Scoring",
    "rubric_json_schema",
    "write_json_schema",
]

SCHEMA_VERSION = 1
SCHEMA_ID = "urn:rapport:schema:rubric:1"

# Session events the grader derives from stored turns (absent for imported transcripts).
EventName = Literal[
    "boundary_held",
    "boundary_crossed",
    "boundary_unaddressed",
    "risk_answered",
    "risk_missed",
    "layer_unlocked",
    "withdrawal",
    "contract",
    "ending",
    "autonomy",
    "collaboration",
]
Mechanism = Literal["emotional_reactions", "interpretations", "explorations"]
Basis = Literal["turns", "moments", "session"]
RatedBy = Literal["analyzer", "assessor"]
# Session-wide behaviour counts a level can be capped by (in the spirit of MITI 4.2.1's
# thresholds): reflections per question, the share of reflections that are complex, and how
# varied the helpful moves are (one stock phrase again and again scores low).
Measure = Literal["reflection_to_question", "complex_share", "variety"]
MEASURES: tuple[str, ...] = get_args(Measure)

EVENTS: tuple[str, ...] = get_args(EventName)
MECHANISMS: tuple[str, ...] = get_args(Mechanism)

Text = Annotated[str, StringConstraints(min_length=1)]

_CONFIG = ConfigDict(extra="forbid", frozen=True)


class Scale(BaseModel):
    """The whole-number range scores are given on (1 to 5 unless a rubric says otherwise)."""

    model_config = _CONFIG

    min: int = Field(default=1, ge=0, le=10, description="Lowest level, 0 to 10.")
    max: int = Field(default=5, ge=1, le=10, description="Highest level, 1 to 10.")

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        """A scale needs at least two levels."""
        if self.max <= self.min:
            raise PydanticCustomError(
                "scale_order",
                "max must be above min (got min {min}, max {max})",
                {"at": ("max",), "min": self.min, "max": self.max},
            )
        return self


class Scoring(BaseModel):
    """How the analytic grader turns a rate of evidence into a level (defaults suit most)."""

    model_config = _CONFIG

    bottom_at: float = Field(
        default=-0.5,
        ge=-2,
        le=1,
        description=(
            "For 'turns' criteria: the net evidence rate (strongest helpful indicator minus "
            "strongest harmful one per counsellor turn, as a share of the criterion's top "
            "weight) at or below which the score is the bottom of the scale."
        ),
    )
    top_at: float = Field(
        default=0.6,
        ge=0,
        le=2,
        description="The net evidence rate at or above which the score is the top of the scale.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Scoring:
        """The top must be reached at a higher rate than the bottom."""
        if self.top_at <= self.bottom_at:
            raise PydanticCustomError(
                "scoring_order",
                "top_at must be above bottom_at (got bottom_at {low}, top_at {high})",
                {"at": ("top_at",), "low": f"{self.bottom_at:g}", "high": f"{self.top_at:g}"},
            )
        return self


class Framework(BaseModel):
    """A published framework a rubric draws on."""

    model_config = _CONFIG

    id: Slug = Field(description="Short name, e.g. 'miti'.")
    name: Text = Field(
        description="Full name, e.g. 'Motivational Interviewing Treatment Integrity'."
    )
    reference: str | None = Field(default=None, description="Citation or link (optional).")


class Indicator(BaseModel):
    """A behaviour that counts for (positive weight) or against (negative) a criterion."""

    model_config = _CONFIG

    code: AnalyzerCode | None = Field(
        default=None, description="An analyzer skill code, e.g. 'reflection_complex'."
    )
    event: EventName | None = Field(
        default=None, description="A session event, e.g. 'boundary_held' or 'risk_missed'."
    )
    mechanism: Mechanism | None = Field(
        default=None,
        description=(
            "An EPITOME empathy mechanism; a strong (2) instance counts the full weight, "
            "a weak (1) instance half."
        ),
    )
    weight: float = Field(
        ge=-5, le=5, description="-5 to 5, not 0: how strongly it counts for (+) or against (-)."
    )
    note: Text = Field(description="Why it counts, in a sentence a student can learn from.")

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Indicator:
        """An indicator names exactly one of code, event or mechanism, with a non-zero weight."""
        named = [k for k in ("code", "event", "mechanism") if getattr(self, k) is not None]
        if len(named) != 1:
            raise PydanticCustomError(
                "indicator_kind",
                "an indicator needs exactly one of 'code', 'event' or 'mechanism' (got {got})",
                {"got": ", ".join(named) or "none"},
            )
        if self.weight == 0:
            raise PydanticCustomError(
                "zero_weight",
                "weight must not be 0: use a positive weight for helpful behaviour, "
                "a negative one for harmful behaviour",
                {"at": ("weight",)},
            )
        return self

    @property
    def key(self) -> str:
        """The code, event or mechanism this indicator watches for."""
        return self.code or self.event or self.mechanism or ""

    @property
    def kind(self) -> Literal["code", "event", "mechanism"]:
        """Which of the three kinds of indicator this is."""
        if self.code:
            return "code"
        return "event" if self.event else "mechanism"


class Cap(BaseModel):
    """A level the criterion cannot go above while a session-wide count stays low."""

    model_config = _CONFIG

    measure: Measure = Field(description="reflection_to_question, complex_share or variety.")
    below: float = Field(gt=0, description="The cap applies while the measure is below this.")
    cap: float = Field(description="The highest score allowed then.")
    note: Text = Field(description="Why, in a sentence a student can learn from.")


class Criterion(BaseModel):
    """One thing the rubric scores, with anchored levels and the indicators that show it."""

    model_config = _CONFIG

    id: Slug = Field(description="Short unique name, e.g. 'empathy'.")
    title: Text = Field(description="Shown to students, e.g. 'Empathy'.")
    description: Text = Field(description="What this criterion is about, for students.")
    basis: Basis = Field(
        default="turns",
        description=(
            "turns: every counsellor turn is a chance to show it, so it is scored as a rate. "
            "moments: only moments that test it count (a boundary test, a risk disclosure); "
            "each scores from -1 (harmful) to +1 (as good as the top indicator), and the "
            "average is placed on the scale. session: scored on which of its indicators the "
            "session shows at all (an opening contract, a planned ending)."
        ),
    )
    rated_by: RatedBy = Field(
        default="analyzer",
        description=(
            "assessor: only a person can judge it (sincerity, cultural responsiveness); the "
            "automatic grade shows the evidence as hints, not a score."
        ),
    )
    caps: list[Cap] = Field(
        default_factory=list,
        description="Levels the criterion cannot exceed while a behaviour count stays low.",
    )
    levels: dict[int, Text] = Field(
        description="What a student at each level of the scale does (one entry per level)."
    )
    indicators: list[Indicator] = Field(
        min_length=1, description="Behaviours that count for or against this criterion."
    )
    min_evidence: int = Field(
        default=1,
        ge=1,
        le=20,
        description=(
            "Fewest evidence items (moments showing an indicator) before a score is given; "
            "below it the grade says 'not enough evidence'."
        ),
    )

    @model_validator(mode="after")
    def _check_indicators(self) -> Criterion:
        """Each behaviour is listed once, and at least one of them counts in favour."""
        seen: dict[tuple[str, str], int] = {}
        for i, indicator in enumerate(self.indicators):
            key = (indicator.kind, indicator.key)
            if key in seen:
                raise PydanticCustomError(
                    "duplicate_indicator",
                    "{kind} '{name}' is listed twice (indicators[{first}] and [{second}]); "
                    "give it one weight",
                    {
                        "at": ("indicators", i, indicator.kind),
                        "kind": indicator.kind,
                        "name": indicator.key,
                        "first": seen[key],
                        "second": i,
                    },
                )
            seen[key] = i
        if not any(i.weight > 0 for i in self.indicators):
            raise PydanticCustomError(
                "no_positive_indicator",
                "needs at least one indicator with a positive weight (something done well)",
                {"at": ("indicators",)},
            )
        return self

    def top_weight(self) -> float:
        """The largest positive weight: the yardstick that rates are measured against."""
        return max(i.weight for i in self.indicators if i.weight > 0)


class Rubric(yamldoc.LibraryDocument):
    """A grading rubric, written by a trainer as YAML."""

    model_config = yamldoc.document_config("rubric", SCHEMA_ID)

    version: int = yamldoc.revision_field("rubric")
    title: Text = Field(description="Shown on reports, e.g. 'Core conditions'.")
    description: Text = Field(description="What the rubric assesses and when to use it.")
    scale: Scale = Field(default_factory=Scale, description="The levels scores are given on.")
    frameworks: list[Framework] = Field(
        default_factory=list, description="Published frameworks the rubric draws on."
    )
    min_turns: int = Field(
        default=3,
        ge=1,
        le=50,
        description=(
            "Fewest counsellor turns showing a recognisable skill (backchannels such as "
            "'Mm-hmm' do not count) before any 'turns' criterion is scored."
        ),
    )
    scoring: Scoring = Field(
        default_factory=Scoring, description="Calibration of the analytic grader."
    )
    criteria: list[Criterion] = Field(min_length=1, description="What the rubric scores.")

    @model_validator(mode="after")
    def _check_criteria(self) -> Rubric:
        """Criterion ids are unique and every criterion describes every level of the scale."""
        seen: dict[str, int] = {}
        expected = list(range(self.scale.min, self.scale.max + 1))
        for i, criterion in enumerate(self.criteria):
            if criterion.id in seen:
                raise PydanticCustomError(
                    "duplicate_id",
                    "id '{id}' is used twice, at criteria[{first}] and criteria[{second}]",
                    {
                        "at": ("criteria", i, "id"),
                        "id": criterion.id,
                        "first": seen[criterion.id],
                        "second": i,
                    },
                )
            seen[criterion.id] = i
            if sorted(criterion.levels) != expected:
                missing = [n for n in expected if n not in criterion.levels]
                extra = [n for n in criterion.levels if n not in expected]
                detail = []
                if missing:
                    detail.append("missing " + ", ".join(map(str, missing)))
                if extra:
                    detail.append("outside the scale: " + ", ".join(map(str, sorted(extra))))
                raise PydanticCustomError(
                    "levels_cover_scale",
                    "describe each level from {low} to {high} exactly once ({detail})",
                    {
                        "at": ("criteria", i, "levels"),
                        "low": self.scale.min,
                        "high": self.scale.max,
                        "detail": "; ".join(detail),
                    },
                )
        return self

    def criterion(self, criterion_id: str) -> Criterion | None:
        """A criterion by id."""
        return next((c for c in self.criteria if c.id == criterion_id), None)


_SCHEMA_FILE = yamldoc.JsonSchemaFile(
    Rubric,
    comment="Generated from app/rubric/schema.py; regenerate with `python -m app.rubric`.",
)
# Public names: `rubric_json_schema()` returns the schema, `write_json_schema(path)` writes it.
rubric_json_schema = _SCHEMA_FILE.build
write_json_schema = _SCHEMA_FILE.write
