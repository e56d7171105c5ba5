"""Personas as Character Card V3 files (`spec: chara_card_v3`), the role-play world's format.

Export fills the card's common fields from the persona (so other tools show a sensible
character) and keeps the whole persona under `data.extensions.rapport`, so exporting and
importing again gives back the same persona. A card from elsewhere has no such extension: its
name, description, scenario and first message become a persona draft, and every part a
counselling client needs that a card cannot say (disclosure layers and their trust gates,
boundary tests, reactions, age, pronouns) is filled with a placeholder and listed as a gap.
The mapping is documented in the README ("Character Card V3").
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .schema import Persona

__all__ = ["CARD_SPEC", "EXTENSION", "CardError", "card_from_persona", "persona_text_from_card"]

CARD_SPEC = "chara_card_v3"
CARD_SPEC_VERSION = "3.0"
# V2 cards (most cards in circulation) have the same `data` fields this importer reads.
_READABLE_SPECS = (CARD_SPEC, "chara_card_v2")
EXTENSION = "rapport"
_SLUG_CHARS = re.compile(r"[^a-z0-9]+")


class CardError(ValueError):
    """A file that is not a Character Card V3 this importer can read."""


def _creator_notes(persona: Persona) -> str:
    parts = [persona.title]
    if persona.learning_objectives:
        parts.append("Learning objectives: " + "; ".join(persona.learning_objectives))
    if persona.content_warnings:
        parts.append("Content warnings: " + "; ".join(persona.content_warnings))
    return "\n".join(parts)


def card_from_persona(persona: Persona) -> dict[str, Any]:
    """A Character Card V3 object for a persona; the persona itself rides in the extension."""
    client = persona.client
    return {
        "spec": CARD_SPEC,
        "spec_version": CARD_SPEC_VERSION,
        "data": {
            "name": client.name,
            "nickname": "",
            "description": client.background,
            "personality": f"{persona.style.conversational_style}; speaks in at most "
                           f"{persona.style.max_sentences} sentences",
            "scenario": client.presenting_problem,
            "first_mes": persona.style.opening_line,
            "mes_example": "",
            "alternate_greetings": [],
            "group_only_greetings": [],
            "system_prompt": "",
            "post_history_instructions": "",
            "creator_notes": _creator_notes(persona),
            "creator": "",
            "character_version": str(persona.version),
            "tags": list(persona.tags),
            "extensions": {EXTENSION: persona.model_dump(mode="json", by_alias=True)},
        },
    }


def _slug(name: str) -> str:
    slug = _SLUG_CHARS.sub("-", name.lower()).strip("-")[:60]
    if not slug or not slug[0].isalpha():
        slug = f"card-{slug}".strip("-")
    return slug


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def persona_text_from_card(card: object) -> tuple[str, list[str]]:
    """Persona YAML from a card, and what a trainer must add before publishing (none for a
    card exported by Rapport)."""
    if not isinstance(card, dict) or card.get("spec") not in _READABLE_SPECS or not isinstance(
            card.get("data"), dict):
        raise CardError(f"not a Character Card V3 (or V2): it needs \"spec\": \"{CARD_SPEC}\" "
                        "and a \"data\" object")
    data: dict[str, Any] = card["data"]
    extensions = data.get("extensions")
    ours = extensions.get(EXTENSION) if isinstance(extensions, dict) else None
    if isinstance(ours, dict):
        return _dump(ours), []
    name = _text(data, "name")
    if not name:
        raise CardError("the card has no data.name")
    description = _text(data, "description") or _text(data, "personality")
    scenario = _text(data, "scenario")
    first = _text(data, "first_mes") or "Hi."
    gaps = [
        "client.age: a card has no age; set to 30 as a placeholder",
        "client.pronouns: a card has no pronouns; set to they/them as a placeholder",
        "disclosures: one 'surface' layer made from the description, open from the start; "
        "add the deeper layers and the trust each needs (min_trust gates)",
        "facts: none; add what the client answers when asked",
        "boundary_tests: none; add the requests that test the counsellor's boundaries",
        "reactions: placeholder lines; write how this client answers being heard, "
        "questioned, advised and judged",
        "trust: the defaults (start at 3); set the start and the weights",
        "difficulty: set to 3 as a placeholder",
        "brief: from the card's creator notes (or a placeholder); write what the student "
        "is told before the session",
    ]
    if not scenario:
        gaps.append("client.presenting_problem: the card has no scenario; the description "
                    "was used")
    if not _text(data, "first_mes"):
        gaps.append("style.opening_line: the card has no first message; 'Hi.' was used")
    tags = [t for t in data.get("tags") or [] if isinstance(t, str)][:20]
    persona = {
        "id": _slug(name),
        "version": 1,
        "title": f"{name} (imported card)",
        "difficulty": 3,
        "tags": tags,
        "brief": _text(data, "creator_notes")[:1000]
                 or f"Imported from a Character Card: {name}. Write the trainer's brief.",
        "client": {
            "name": name[:100],
            "age": 30,
            "pronouns": "they/them",
            "background": description or name,
            "presenting_problem": scenario or description or name,
        },
        "style": {"opening_line": first},
        "trust": {"initial": 3},
        "disclosures": [{"id": "surface", "min_trust": 0,
                         "says": (description or scenario or first)[:1000]}],
        "reactions": {
            "heard": ["Yeah. That's it."],
            "questioned_closed": ["I suppose."],
            "advised": ["Everyone says that."],
            "judged": ["Right. Okay."],
        },
    }
    return _dump(persona), gaps
