"""Checking pairs for the grounding rules, made from the team corpus itself.

The corpus has no labelled "reflection of something never said" rows, but it can make them: a
real reflection read against its own client turns is grounded, and the same reflection read
against client turns from rows on other topics is not. Sessions run longer than a corpus row,
so each pair pads the client's talk with turns from other rows (0 to 8 of them, the same number
on both sides): a long session holds more chance matches. Other
topics are still counselling talk (work, family, drink), so these negatives are harder than
most off-topic reflections a student makes: the figures they give are a floor.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from app.analysis.corpus import Row
from app.analysis.grounding import grounding_rule
from app.analysis.sentences import make_sentence

__all__ = ["GroundingTally", "grounding_pairs", "tally_grounding"]

_REFLECTIVE = frozenset({"reflection_simple", "reflection_complex", "summary"})
_PADDING = (0, 0, 2, 4, 8)  # other rows' client turns added to both sides of a pair


def _client_turns(row: Row) -> list[str]:
    return [t.text for t in row.context if t.speaker == "client"]


def grounding_pairs(
    rows: Sequence[Row], *, seed: int
) -> Iterator[tuple[str, list[str], list[str]]]:
    """(reflection, client talk it came after, client talk on other topics) per reflection."""
    rng = random.Random(seed)
    donors = [r for r in rows if _client_turns(r)]
    if len({r.topic for r in donors}) < 2:
        return

    def other_talk(topic: str, count: int) -> list[str]:
        talk: list[str] = []
        while len(talk) < count:
            donor = donors[rng.randrange(len(donors))]
            if donor.topic != topic:
                talk.extend(_client_turns(donor))
        return talk[:count]

    for row in rows:
        own = _client_turns(row)
        if not own:
            continue
        for segment in row.segments:
            if segment.code not in _REFLECTIVE:
                continue
            grounded = other_talk(row.topic, rng.choice(_PADDING)) + own
            yield segment.text, grounded, other_talk(row.topic, len(grounded))


class GroundingTally:
    """How often the grounding rules discard real reflections and catch other-topic ones."""

    def __init__(self) -> None:
        self.real = self.real_discarded = self.other = self.other_caught = 0

    def add(self, *, real: bool, discarded: bool) -> None:
        """Count one pair side."""
        if real:
            self.real += 1
            self.real_discarded += discarded
        else:
            self.other += 1
            self.other_caught += discarded


def tally_grounding(rows: Sequence[Row], vocabulary: frozenset[str], *, seed: int,
                    into: GroundingTally | None = None) -> GroundingTally:
    """Run the grounding rules over pairs made from `rows` (rows the model never saw), with the
    model's vocabulary."""
    tally = into or GroundingTally()
    for text, grounded, other in grounding_pairs(rows, seed=seed):
        unit = make_sentence(text)
        for real, said in ((True, grounded), (False, other)):
            rule = grounding_rule(unit, said, vocabulary=vocabulary)
            tally.add(real=real, discarded=rule is not None)
    return tally
