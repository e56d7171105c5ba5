"""Features of a counsellor turn for the learned model; the same code serves training and serving.

A turn is split into sentences (the model's units). Each unit is described by its own words
(word and character n-grams, its opening and ending), by the turn around it, and by how it
relates to what the client just said (shared content words, new content, feeling words), plus a
few context flags (the client asked for advice, agreed to hear ideas, asked a personal question).
Every feature is a string with a value; the trained model maps known strings to weights, so an
unknown word costs nothing and the extractor never needs the vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from app.analysis.context import Context, read_context
from app.analysis.model import ContextTurn
from app.analysis.semantics import similarity
from app.analysis.sentences import Sentence, normalise, split_sentences, stem
from app.analysis.vocabulary import (
    ACTION_VERBS,
    DIFFICULTY,
    FEELINGS,
    JUDGEMENT_ADJECTIVES,
    STOPWORDS,
)
from app.analysis.vocabulary import (
    words as word_set,
)

__all__ = ["Relation", "TurnView", "relation", "turn_features", "unit_features", "view_turn"]

FEATURES_VERSION = 3

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[?!]")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_FILLERS = frozenset({"um", "uh", "erm", "er", "hmm", "mm", "mhm", "mm-hmm", "uh-huh"})
# Words that carry no topic of their own: a reflection made only of these plus the client's
# words is grounded; one that brings in other content words talks about something new.
_GENERIC = STOPWORDS | word_set(
    """lot bit part side hand moment time times day days week weeks year years people
    person someone something anything everything nothing way ways kind sort stuff thing
    things place point case idea sense mind heart head life right now today really quite
    little big small whole able want wanted wants wanting trying tried try make makes
    making made take takes taking keep keeps kept come comes came coming tell told telling
    talk talked talking hear hearing heard wonder wondering seem seems seemed sound sounds
    sounded feel feels felt feeling feelings lot lots let lets maybe perhaps probably also
    almost enough else least much many more less most own still again ever never always
    often sometimes usually first last next new old good bad better worse hard easy
    hearing sounds mean means meaning saying say said says happen happened happening"""
)


@dataclass(frozen=True, slots=True)
class Relation:
    """How a stretch of counsellor talk relates to the client's recent words."""

    shared: int  # content stems also in the client's last two turns
    novel: int  # content stems the client did not use (topic words brought in)
    feelings: int  # feeling or difficulty words
    novel_feelings: int  # feeling words the client did not use (named, not repeated)
    share: float  # shared / (shared + novel)


def relation(words: Sequence[str], client_stems: frozenset[str]) -> Relation:
    """Shared and new content words of `words` against the client's content stems."""
    shared = novel = feelings = novel_feelings = 0
    for word in words:
        bare = word.split("'")[0]
        if len(bare) < 3 or bare in _FILLERS:
            continue
        is_feeling = bare in FEELINGS or bare in DIFFICULTY
        root = stem(bare)
        if is_feeling:
            feelings += 1
            if root not in client_stems:
                novel_feelings += 1
            continue
        if bare in _GENERIC:
            continue
        if root in client_stems:
            shared += 1
        else:
            novel += 1
    total = shared + novel
    return Relation(shared, novel, feelings, novel_feelings, shared / total if total else 0.0)


@dataclass(frozen=True, slots=True)
class TurnView:
    """A counsellor turn ready for feature extraction: its units and its context."""

    text: str
    units: tuple[Sentence, ...]
    spans: tuple[tuple[int, int], ...]  # (start, end) of each unit in text
    context: Context
    client_stems: frozenset[str]  # content stems of the client's last two turns
    client_history: frozenset[str]  # stems of every client turn in the context
    flags: tuple[str, ...]
    # Meaning-level similarity of each unit to the client's last two turns (None: no client).
    sims: tuple[float | None, ...]


def _spans(text: str, units: Sequence[Sentence]) -> tuple[tuple[int, int], ...]:
    """Where each unit's verbatim text starts and ends in the turn."""
    spans = []
    cursor = 0
    for unit in units:
        start = text.find(unit.text, cursor)
        if start < 0:  # cannot happen for split_sentences output; keep a usable span anyway
            start = cursor
        end = start + len(unit.text)
        spans.append((start, end))
        cursor = end
    return tuple(spans)


@lru_cache(maxsize=4096)
def _text_stems(text: str) -> frozenset[str]:
    """Stems of the words (three letters or more) of one text; client turns recur, so cached."""
    return frozenset(stem(w.split("'")[0]) for w in _WORD.findall(normalise(text)) if len(w) >= 3)


def _stems(turns: Sequence[ContextTurn]) -> frozenset[str]:
    """Stems of the words of some turns."""
    if len(turns) == 1:
        return _text_stems(turns[0].text)
    return frozenset().union(*(_text_stems(t.text) for t in turns))


def view_turn(
    text: str, context: Sequence[ContextTurn], *, risk_before: bool = False
) -> TurnView:
    """Split a counsellor turn into units and read the turns before it; risk_before = risk
    was talked of earlier in the session than those turns."""
    units = tuple(split_sentences(text))
    ctx = read_context(tuple(context), risk_before=risk_before)
    every_client = [t for t in context if t.speaker == "client"]
    # What a reflection can be about: the client's last two turns with something in them. A
    # bare "Yeah." or "Mm-hmm." from the client is not what the counsellor reflects.
    said = [t for t in every_client if len(_WORD.findall(t.text.lower())) >= 4]
    clients = said[-2:] or every_client[-2:]
    stems = _stems(clients)
    history = stems if len(every_client) <= 2 else _stems(every_client)
    flags = []
    if not clients:
        flags.append("opening")
    else:
        last = every_client[-1].text.rstrip()
        if last.endswith("?"):
            flags.append("client_question")
        if len(_WORD.findall(last.lower())) <= 3:
            flags.append("client_short")
    for name in ("advice_requested", "permission_granted", "personal_question", "client_risk"):
        if getattr(ctx, name):
            flags.append(name)
    if ctx.invitation:
        flags.append("invitation")
        flags.append(f"invitation:{ctx.invitation}")
    if clients:
        # Against each of the client's last two turns, the closer one: joining them would
        # blur a reflection of either.
        sims: tuple[float | None, ...] = tuple(
            max(similarity(u.text, t.text) for t in clients) for u in units
        )
    else:
        sims = (None,) * len(units)
    return TurnView(
        text=text,
        units=units,
        spans=_spans(text, units),
        context=ctx,
        client_stems=stems,
        client_history=history,
        flags=tuple(flags),
        sims=sims,
    )


def _bucket(value: int, edges: Sequence[int]) -> str:
    """The label of the first edge value is at or under ("<=3"), or the last ("4+")."""
    for edge in edges:
        if value <= edge:
            return f"<={edge}"
    return f"{edges[-1] + 1}+"


def unit_features(view: TurnView, index: int) -> dict[str, float]:
    """Features of unit `index` of the turn, for the behaviour model."""
    unit = view.units[index]
    tokens = _TOKEN.findall(unit.norm)
    words = [t for t in tokens if t not in "?!"]
    out: dict[str, float] = {}
    padded = ["<s>", *tokens, "</s>"]
    for token in tokens:
        out["w:" + token] = 1.0
    for a, b in pairwise(padded):
        out[f"b:{a} {b}"] = 1.0
    for a, b, c in zip(padded, padded[1:], padded[2:], strict=False):
        if a == "<s>":
            out[f"t:{a} {b} {c}"] = 1.0
    core = unit.words
    if core:
        out["f1:" + core[0]] = 1.0
        out["f2:" + " ".join(core[:2])] = 1.0
        out["f3:" + " ".join(core[:3])] = 1.0
        out["l1:" + core[-1]] = 1.0
    else:
        out["empty"] = 1.0
    for lead in sorted(unit.lead):  # a frozenset: fixed order, fixed float sums
        out["lead:" + lead] = 1.0
    out["q" if unit.question else "noq"] = 1.0
    if unit.text.rstrip().endswith("!"):
        out["excl"] = 1.0
    out["len:" + _bucket(len(words), (1, 2, 4, 8, 15, 30))] = 1.0
    n = len(view.units)
    position = "only" if n == 1 else "first" if index == 0 else "last" if index == n - 1 else "mid"
    out["pos:" + position] = 1.0
    out["turn_len:" + _bucket(n, (1, 2, 3, 5))] = 1.0
    if any(u.question for j, u in enumerate(view.units) if j != index):
        out["turn_has_other_q"] = 1.0

    you = sum(w in ("you", "you're", "your", "you've", "you'd", "you'll", "yourself")
              for w in words)
    me = sum(w in ("i", "i'm", "i've", "i'd", "i'll", "me", "my", "myself") for w in words)
    out["you:" + _bucket(you, (0, 1, 2))] = 1.0
    out["me:" + _bucket(me, (0, 1, 2))] = 1.0
    if core and core[0] in ACTION_VERBS:
        out["imperative"] = 1.0
    if any(w in JUDGEMENT_ADJECTIVES for w in words):
        out["judge_adj"] = 1.0

    rel = relation(words, view.client_stems)
    if "opening" in view.flags:
        out["rel:no_client"] = 1.0
    else:
        out["rel:shared:" + _bucket(rel.shared, (0, 1, 3))] = 1.0
        out["rel:novel:" + _bucket(rel.novel, (0, 1, 2, 4))] = 1.0
        share = "none" if rel.shared + rel.novel == 0 else f"{min(int(rel.share * 4), 3)}"
        out["rel:share:" + share] = 1.0
    if rel.feelings:
        out["feel"] = 1.0
    if rel.novel_feelings:
        out["feel:named"] = 1.0
    sim = view.sims[index]
    if sim is not None:
        out["sim:" + str(min(max(int((sim + 0.1) * 10), 0), 7))] = 1.0
    for flag in view.flags:
        out["cx:" + flag] = 1.0
        # A few conjunctions the linear model cannot form itself: what the unit does *after*
        # the client asked, agreed or invited.
        if flag in ("advice_requested", "permission_granted", "invitation", "personal_question",
                    "client_question"):
            if core:
                out[f"cx:{flag}&f1:{core[0]}"] = 1.0
            out[f"cx:{flag}&{'q' if unit.question else 'noq'}"] = 1.0
            out[f"cx:{flag}&me:{min(me, 2)}"] = 1.0
    # The rest of the turn, lightly: what surrounds a sentence changes what it does
    # ("It's up to you." before a suggestion).
    for j, other in enumerate(view.units):
        if j != index:
            # dict.fromkeys, not set: a set's order changes with the process's hash seed,
            # and so would the float sums over these features (the probabilities' last bits).
            for token in dict.fromkeys(_WORD.findall(other.norm)):
                out["tw:" + token] = 0.3
    return out


def turn_features(view: TurnView, unit_probs: Sequence[dict[str, float]]) -> dict[str, float]:
    """Features of the whole turn for the three empathy mechanisms.

    `unit_probs` are the behaviour model's probabilities per unit (out-of-fold in training),
    so a strong reflection or a specific question informs the empathy levels.
    """
    out: dict[str, float] = {}
    tokens = _TOKEN.findall(normalise(view.text))
    words = [t for t in tokens if t not in "?!"]
    padded = ["<s>", *tokens, "</s>"]
    for token in dict.fromkeys(tokens):  # in order: see unit_features
        out["w:" + token] = 1.0
    for a, b in pairwise(padded):
        out[f"b:{a} {b}"] = 1.0
    for unit in view.units:
        if unit.words:
            out["f2:" + " ".join(unit.words[:2])] = 1.0
    questions = sum(u.question for u in view.units)
    out["nq:" + _bucket(questions, (0, 1, 2))] = 1.0
    out["len:" + _bucket(len(words), (3, 8, 15, 30, 60, 120))] = 1.0
    rel = relation(words, view.client_stems)
    out["rel:shared:" + _bucket(rel.shared, (0, 1, 3, 6))] = 1.0
    out["rel:novel:" + _bucket(rel.novel, (0, 2, 5, 10))] = 1.0
    if rel.feelings:
        out["feel:" + _bucket(rel.feelings, (1, 2))] = 1.0
    if rel.novel_feelings:
        out["feel:named"] = 1.0
    for flag in view.flags:
        out["cx:" + flag] = 1.0
    best: dict[str, float] = {}
    for probs in unit_probs:
        for code, p in probs.items():
            if p > best.get(code, 0.0):
                best[code] = p
    for code, p in best.items():
        if p >= 0.05:
            out["p:" + code] = round(p, 3)
    return out
