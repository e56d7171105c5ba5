"""Whether a reflection takes up anything the client has said in the session.

A reflection restates or extends the client's own words; one about a topic the client never
raised ("So moving house has been stressful" to a client who has talked only of beer and his
wife) reflects nothing, however fluent it is. The analyzer's context window holds the last few
turns, too little to tell, so this check reads everything the client has said so far.

The test is on the reflection's *topic words*: content words that are not feelings, numbers or
the generic words every reflection uses. A topic word is taken up when the client used it, or a
word near it in meaning by the static word vectors ("house" is near "home", "father" near
"dad"; they miss many paraphrases: "booze" is not near "beers"). Two things follow:

- a reflection whose topic words are all foreign to the client's talk, and which is far from
  each of the client's last three turns as a whole, reflects nothing (rule `not_taken_up`, once
  the client has said enough to judge by; `ungrounded_reflection` when it also uses words
  counselling talk never uses, which needs almost no client talk);
- any other reflection keeps a share of its confidence that grows with the share of its topic
  words the client's talk holds, so a fluent miss weighs little for trust and grade.

Measured on the team corpus (pessimistic: its rows hold at most three client turns, a median of
seven content stems, and its complex reflections paraphrase heavily), see docs/analyzer.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.analysis.features import _FILLERS, _GENERIC
from app.analysis.semantics import embedder, similarity
from app.analysis.sentences import Sentence, normalise, stem
from app.analysis.vocabulary import DIFFICULTY, FEELINGS
from app.analysis.vocabulary import words as word_set

__all__ = [
    "FOREIGN_CONFIDENCE",
    "UNGROUNDED_RULES",
    "WORD_NEAR",
    "Grounding",
    "grounding_rule",
    "read_grounding",
    "rule_for",
    "takes_up",
]

# The rules that find a reflection of nothing the client said: the client does not follow it.
UNGROUNDED_RULES = frozenset({"ungrounded_reflection", "not_taken_up"})
MIN_FOR_NONSENSE = 3  # distinct content stems the client has said before anything is judged
MIN_CLIENT_STEMS = 12  # ...before a paraphrase with no word of the client's is judged
NEAR_IN_MEANING = 0.3  # sentence similarity to a recent client turn that clears a paraphrase
NEAR_FOR_NONSENSE = 0.45  # ...and that clears words counselling talk never uses
# A reflection that points back with a pronoun and has at most this many topic words of its
# own says something *about* what was said ("Losing it has hit you hard."): its words are
# the counsellor's reading of the client's topic, not a topic of their own.
POINTING_BACK_TOPIC = 2
# A reflection none of whose topic words is the client's, kept as a reflection (the client has
# said too little to judge, or it is near a recent turn as a whole), is a paraphrase or a miss:
# its confidence, and so its weight for the client's trust and the grade, is cut to this share
# (and less so the more of its topic words are the client's).
FOREIGN_CONFIDENCE = 0.4
SHARE_FOR_FULL = 0.5  # the share of topic words taken up at which a reflection keeps it all
WORD_NEAR = 0.5  # cosine similarity of two words' vectors that counts as the same topic

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Ages, durations and counts are restated in other forms ("8 years" as "eight years"); they say
# nothing about whether the topic is the client's.
_NUMBERS = word_set(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy
    eighty ninety hundred thousand half dozen couple once twice"""
)


def _content(words: Sequence[str]) -> list[str]:
    """The words of `words` that carry a topic (or a feeling), in order."""
    out = []
    for word in words:
        if word.endswith("n't"):
            continue  # "won't", "didn't": a negation, not a topic ("won", "didn")
        bare = word.split("'")[0]
        if len(bare) < 3 or bare in _FILLERS or bare in _GENERIC or bare in _NUMBERS:
            continue
        if bare in _FUNCTION:
            continue
        if bare.isdigit():
            continue
        out.append(bare)
    return out


def _topic(unit: Sentence) -> list[str]:
    """The sentence's topic words: content words that are not feelings."""
    return [w for w in _content(unit.words) if w not in FEELINGS and w not in DIFFICULTY]


# Words the shared generic list leaves in that say where or when, not what about.
_FUNCTION = word_set(
    """shall far back around since away ago yet just even lately anyway together apart
    ahead along instead though although unless whether while until upon within without"""
)


# Number words that are as often no number at all ("a cold one", "once I get home").
_LOOSE_NUMBERS = word_set("one once twice half couple dozen")


def _numbers(words: Sequence[str]) -> set[str]:
    """The number words and digits among some words."""
    return {w for w in words if w in _NUMBERS or w.isdigit()}


@lru_cache(maxsize=4096)
def _client_numbers(text: str) -> frozenset[str]:
    """The numbers one client turn says."""
    return frozenset(_numbers(_WORD.findall(normalise(text))))


@lru_cache(maxsize=4096)
def _client_words(text: str) -> tuple[str, ...]:
    """Content words of one client turn; client turns recur across a session, so cached."""
    return tuple(_content(_WORD.findall(normalise(text))))


@dataclass(frozen=True, slots=True)
class Grounding:
    """How a reflection-shaped sentence's topic words relate to the client's talk."""

    topic: tuple[str, ...]  # its topic words
    client_stems: int  # distinct content stems the client has said
    taken_up: int  # topic words the client used, or used a word near in meaning to
    sentence: float  # whole-sentence similarity to the nearest of the client's last 3 turns
    points_back: bool = False  # refers to something said before with a pronoun

    @property
    def foreign(self) -> bool:
        """None of its topic words is the client's or near one of the client's."""
        return not self.taken_up

    @property
    def weight(self) -> float:
        """The share of a reflection's confidence it keeps: all of it when every topic word is
        the client's, FOREIGN_CONFIDENCE when none is (one chance match of "home" among five
        new topic words is not much of a reflection of the client)."""
        share = min(1.0, self.taken_up / len(self.topic) / SHARE_FOR_FULL)
        return FOREIGN_CONFIDENCE + (1 - FOREIGN_CONFIDENCE) * share


def read_grounding(unit: Sentence, client_said: Sequence[str]) -> Grounding | None:
    """The sentence's grounding in the client's talk; None when there is nothing to judge
    (fewer than four words or two topic words, or almost no client talk)."""
    if len(unit.words) < 4 or not client_said:
        return None
    topic = _topic(unit)
    if len(topic) < 2:
        return None
    said = sorted({w for text in client_said for w in _client_words(text)})
    stems = {stem(w) for w in said}
    if len(stems) < MIN_FOR_NONSENSE:
        return None
    unheard = [w for w in topic if stem(w) not in stems]
    near = embedder().nearest(unheard, said) if unheard else []
    taken_up = len(topic) - len(unheard) + sum(n >= WORD_NEAR for n in near)
    # A number is no topic of its own, but the client's own number said back ("two teams" to
    # "two jobs") is a word taken up.
    numbers = _numbers(unit.words) & {n for text in client_said for n in _client_numbers(text)}
    numbers -= _LOOSE_NUMBERS
    sentence = max(similarity(unit.text, text) for text in client_said[-3:])
    return Grounding(tuple(topic) + tuple(sorted(numbers)), len(stems),
                     taken_up + len(numbers), sentence, points_back(unit))


# Pronouns that point back to something already said. "That" and "this" only where they
# stand for something: as often they are a conjunction or a new thing's determiner.
_POINTS_BACK = re.compile(
    r"\b(?:it|them|they|those|these|he|she|him|her)\b"
    # "that" and "this" as pronouns: at the end, before a particle or after a preposition
    # ("built that up", "all of this", "carrying that"), not "you feel that..." or "this job".
    r"|\b(?:that|this)(?=\s*(?:$|[.,;:!?]|(?:up|down|out|off|over|away|back|around|through|"
    r"alone|again|too|on your|with you|for you)\b))"
    r"|\b(?:all|of|about|with|after|like|from|through) (?:that|this)\b"
)
# The "it" of a frame points nowhere: "it sounds like", "it must be", "it's hard when".
_DUMMY_IT = re.compile(
    r"\bit(?:'s| is| was|'s been| has been)? (?:sounds?|seems?|looks?|feels?|appears?|must|"
    r"can|could|might|may)\b|\bit(?:'s| is| was)(?: (?:really|so|very|quite|pretty|been))? "
    r"(?:hard|difficult|tough|rough|awful|a lot|not easy|like|as if|as though)\b"
)


def points_back(unit: Sentence) -> bool:
    """The sentence refers to something said before with a pronoun (not a frame's dummy "it")."""
    return bool(_POINTS_BACK.search(_DUMMY_IT.sub(" ", unit.core)))


def rule_for(reading: Grounding | None, *, vocabulary: frozenset[str] = frozenset()) -> str | None:
    """The rule that un-reflects a reflection-shaped sentence about nothing the client said:
    "ungrounded_reflection" (it uses words counselling talk never uses), "not_taken_up", or
    None (it takes something up, or there is too little to judge by)."""
    if reading is None or not reading.foreign:
        return None
    if vocabulary and any(w not in vocabulary for w in reading.topic):
        # Whole-sentence similarity is noisy (a shared "it sounds like you..." frame alone
        # reaches 0.3), so words no counselling talk uses are overruled only by a close match.
        return "ungrounded_reflection" if reading.sentence < NEAR_FOR_NONSENSE else None
    if reading.client_stems >= MIN_CLIENT_STEMS and reading.sentence < NEAR_IN_MEANING:
        if reading.points_back and len(reading.topic) <= POINTING_BACK_TOPIC:
            return None  # kept, at the reduced weight of a reflection of no client word
        return "not_taken_up"
    return None


def grounding_rule(
    unit: Sentence, client_said: Sequence[str], *, vocabulary: frozenset[str] = frozenset()
) -> str | None:
    """The grounding rule for one sentence against the client's talk (see `rule_for`)."""
    return rule_for(read_grounding(unit, client_said), vocabulary=vocabulary)


def takes_up(unit: Sentence, client_said: Sequence[str], *,
             vocabulary: frozenset[str] = frozenset()) -> bool:
    """False only when a reflection-shaped sentence clearly reflects nothing the client said."""
    return grounding_rule(unit, client_said, vocabulary=vocabulary) is None
