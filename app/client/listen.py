"""What the student's words did, read beyond the analyzer's codes, for the client to answer.

The analyzer says *what kind* of move a turn was; the client also needs *what it was about*:
which of the persona's facts a question asks for, which layer or elaboration a reflection
touches, a feeling the student named, whether the turn parrots the client's last words or
repeats a stock phrase, an apology after a rupture, the parts of an opening contract, the steps
of a safety conversation. Matching is by aliases and stems (with `rapidfuzz` for typos) and,
failing those, by meaning (the analyzer's static embedding). Everything is deterministic.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from app.analysis import TurnAnalysis
from app.analysis.risk import PEOPLE_TO_TURN_TO
from app.analysis.semantics import embedder
from app.analysis.sentences import normalise, stem
from app.analysis.vocabulary import STOPWORDS
from app.analysis.vocabulary import words as word_set
from app.persona import Persona

__all__ = [
    "FEELING_FAMILIES",
    "Heard",
    "Topic",
    "family_of",
    "listen",
    "parroting",
    "persona_topics",
    "safety_steps_in",
    "stem_key",
    "stock_key",
]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# Feeling words grouped into families, so "angry" can be told from "tired" when a reflection
# names a feeling the client does not have.
FEELING_FAMILIES: dict[str, frozenset[str]] = {
    "anger": word_set(
        """angry anger furious annoyed irritated mad resentful resentment fuming livid cross
        pissed enraged bitter"""
    ),
    "sadness": word_set(
        """sad sadness down low depressed miserable unhappy heartbroken grief grieving gutted
        devastated crushed blue hopeless despair"""
    ),
    "fear": word_set(
        """scared afraid anxious anxiety worried worry nervous terrified panicky panic frightened
        fearful dread dreading uneasy tense on-edge"""
    ),
    "shame": word_set(
        """ashamed shame embarrassed guilty guilt humiliated stupid useless worthless inadequate"""
    ),
    "tiredness": word_set(
        """tired exhausted exhaustion drained worn wrecked weary knackered burnt burned sleepy
        fatigued"""
    ),
    "loneliness": word_set(
        """lonely loneliness alone isolated invisible unwanted unloved abandoned left"""
    ),
    "overwhelm": word_set(
        """overwhelmed overwhelming stressed stress pressured pressure swamped snowed frazzled"""
    ),
    "hurt": word_set(
        """hurt hurting betrayed rejected let-down neglected ignored dismissed unappreciated"""
    ),
    "confusion": word_set(
        """confused lost stuck torn unsure uncertain conflicted ambivalent mixed"""
    ),
    "numbness": word_set(
        """numb empty flat nothing blank"""
    ),
    "relief": word_set(
        """relieved relief hopeful glad happy calm proud grateful"""
    ),
}
_FAMILY_OF = {word: family for family, words in FEELING_FAMILIES.items() for word in words}
# Feeling words that are ordinary words too ("let you down", "lost weight", "nothing"): they
# name a feeling only after a cue such as "feel", "sound", "you're".
_AMBIGUOUS = word_set(
    """down low lost left blue cross mad flat empty blank nothing stuck worn mixed pressure
    stress calm burnt burned tense panic worry grief shame guilt anger relief happy glad
    proud"""
)
# An ambiguous word as part of a verb, not a feeling: "let down", "calm down", "lost your
# job", "left the house" (in the browser, "you've been let down" drew "I'm not down. I'm
# angry.").
_NOT_A_FEELING = re.compile(
    r"\b(?:(?:let|lets|letting|put|puts|putting|calm|calms|calming|sit|sits|sat|sitting|slow|"
    r"slows|slowing|back|backed|turn|turns|turned|turning|shut|shuts|shutting|come|comes|came|"
    r"coming|go|goes|went|going|write|wrote|writing|knock|knocked|step|stepped|track|tracked|"
    r"cut|cuts|cutting|settle|settled|settling|hold|holds|held|holding|play|played|playing|"
    r"wind|winding|look|looks|looked|looking|break|breaks|broke|breaking|run|runs|ran|"
    r"running|bring|brings|brought|bringing|pin|pinned|tie|tied|narrow|narrowed) down|"
    r"(?:lost|left|lose|leave|leaving|losing) (?:your|the|a|an|his|her|my|their|our|it|him|them|"
    r"me|us|track|count|weight|home|school|work|everything|behind))\b"
)
_CUES = word_set(
    """feel feels feeling felt sound sounds sounded seem seems seemed you're youre you've look
    looks must so really quite pretty bit kind sort very too"""
)


def family_of(word: str) -> str | None:
    """The family of a feeling word, or None."""
    return _FAMILY_OF.get(word.lower().strip())


# Safety-conversation steps, recognised in the student's words.
_STEPS: dict[str, re.Pattern[str]] = {
    "ideation": re.compile(
        r"\b(?:thoughts? (?:of|about) (?:suicide|ending|killing|dying|hurting|harming|not being)|"
        r"suicid\w*|kill(?:ing)? yourself|end(?:ing)? (?:your|it all|things)|want(?:ing)? to die|"
        r"hurt(?:ing)? yourself|harm(?:ing)? yourself|self[- ]?harm|how often|how strong|"
        r"how long have you (?:had|been having)|(?:those|these) thoughts)\b"
    ),
    "plan": re.compile(r"\b(?:a plan|any plans?|planned|how you would|how would you|"
                       r"thought about how|worked out how|when you would|where you would)\b"),
    "means": re.compile(r"\b(?:access to|pills|tablets|medication|stockpil\w*|weapon|gun|"
                        r"knife|knives|rope|means|at home (?:that|you could))\b"),
    # "Tonight" alone is no question of intent: "who could you be with tonight?" plans safety.
    "intent": re.compile(r"\b(?:intend|intention|going to act|act on|do it|follow through|"
                         r"going to do something|how likely)\b"),
    "history": re.compile(r"\b(?:before|in the past|ever (?:tried|attempted|hurt|done)|"
                          r"attempt\w*|previous(?:ly)?|last time)\b"),
    "protective": re.compile(r"\b(?:kept you going|keeps you going|stopped you|stops you|"
                             r"reasons? (?:to|for) (?:live|living|stay)|what helps|who helps|"
                             r"hold(?:s|ing)? you back|protect\w*|matters to you|worth staying)\b"),
    "safety_plan": re.compile(r"\b(?:safety plan\w*|keep (?:you|yourself) safe|stay safe|"
                              r"plan (?:together|for (?:tonight|the next|when))|warning signs|"
                              r"write (?:down|out)|what you (?:could|can) do (?:if|when)|"
                              + PEOPLE_TO_TURN_TO + r"|(?:someone|somebody|anyone|"
                              r"anybody) (?:who |that )?(?:you )?(?:could|can) "
                              r"(?:come (?:and|to) )?(?:be with|stay with|call|ring|talk to))\b"),
    "referral": re.compile(r"\b(?:lifeline|samaritans|988|000|999|911|111|crisis (?:line|team)|"
                           r"helpline|hotline|gp|doctor|psychiatrist|mental health team|"
                           r"emergency|ambulance|a&e|hospital|refer\w*|supervisor|"
                           r"someone (?:else|who can)|1800|13 ?11 ?14|headspace|kids helpline|"
                           r"beyond blue|police)\b"),
}
_APOLOGY = re.compile(
    r"\b(?:i'm sorry|i am sorry|sorry (?:about|for|if|that)|i apologi[sz]e|my apologies|"
    r"i got that wrong|that came out wrong|that wasn't fair|that was unfair|i was out of line|"
    r"i shouldn't have said|i didn't mean to|let me try that again|i jumped ahead|i was wrong)\b"
)
_CONTRACT: dict[str, re.Pattern[str]] = {
    "role": re.compile(r"\b(?:i'm (?:a|the) (?:counsel\w+|therapist)|my role|"
                       r"what (?:counselling|these sessions) (?:is|are|involve))\b"),
    "confidentiality": re.compile(r"\b(?:confidential\w*|private|stays? (?:here|between))\b"),
    "limits": re.compile(
        r"\b(?:unless|except|limits?|at risk|safety|harm(?:ing)? (?:yourself|someone|others)|"
        r"child protection|safeguarding|court|subpoena|duty (?:of care|to)|have to tell|"
        r"need to tell|pass (?:it|that) on)\b"
    ),
    "trainee": re.compile(r"\b(?:trainee|student counsel\w*|in training|placement|training)\b"),
    "supervision": re.compile(r"\b(?:supervis\w+)\b"),
    "recording": re.compile(r"\b(?:record\w*|notes)\b"),
    "time": re.compile(r"\b(?:\d+ minutes|an hour|50 minutes|fifty minutes|our time today|"
                       r"how (?:long|many sessions))\b"),
}
_ENDING = re.compile(
    r"\b(?:(?:almost|nearly|coming up to|about) (?:out of|at the end of) (?:time|our time)|"
    r"(?:our|the) time is (?:nearly |almost )?up|before we finish|to wrap up|as we finish|"
    r"next (?:session|week|time)|see you (?:next|again)|let's stop (?:there|here))\b"
)
_BACKCHANNEL = re.compile(
    r"^(?:\W*(?:mm+|mhm+|mm-hmm|uh-huh|hmm+|yeah|yes|yep|right|okay|ok|sure|i see|go on|"
    r"carry on|and\??|please go on|keep going|tell me more|\.\.\.|…|sure sure|wow|oh)\W*)+$"
)
_ANAPHOR = re.compile(r"\b(?:that|this|it|those)\b")
_YES_NO_START = re.compile(
    r"^(?:\W*(?:and|so|but|okay|ok|well|um|uh|right)\W+)*(?:do|does|did|are|is|was|were|have|"
    r"has|had|can|could|will|would|should|shall|may|might|am)\b"
)


@dataclass(frozen=True, slots=True)
class Topic:
    """Something of the persona's a student's words can point at, with its matching material."""

    key: str  # "fact:<topic>", "layer:<id>", "more:<layer id>:<n>"
    phrases: tuple[str, ...]  # normalised topic words and aliases
    phrase_stems: tuple[frozenset[str], ...]  # content stems of each phrase, in order
    stems: tuple[frozenset[str], ...]  # content stems to match (phrases, then the line's own)
    vector: np.ndarray | None


def _stems(text: str) -> frozenset[str]:
    return _stems_of(_WORD.findall(normalise(text)))


def _stems_of(words: Iterable[str]) -> frozenset[str]:
    """The content stems of normalised words (_WORD's matches)."""
    return frozenset(
        stem(w.split("'")[0]) for w in words
        if len(w) >= 3 and w.split("'")[0] not in STOPWORDS
    )


def _topic(key: str, words: Iterable[str], *, text: str = "") -> Topic:
    phrases = tuple(dict.fromkeys(normalise(w) for w in words if w.strip()))
    phrase_stems = tuple(_stems(p) for p in phrases)
    stems = tuple(s for s in phrase_stems if s)
    if text:  # a line's own content words stand in for topics it does not list
        own = _stems(text)
        if own:
            stems = (*stems, *({s} for s in sorted(own)))
    material = " ".join(phrases) or text
    return Topic(key, phrases, phrase_stems, stems,
                 embedder().vector(material) if material else None)


def _said_whole(phrase: str, norm: str) -> bool:
    """Whether `phrase` occurs in `norm` with no letter either side (a whole-word match).

    A compiled pattern per phrase did the same, but the library's 5,500 phrases made 5 MB of
    patterns in every worker; most phrases are in no turn, and the `find` loop stops at once.
    """
    at = norm.find(phrase)
    while at >= 0:
        end = at + len(phrase)
        if not (at and "a" <= norm[at - 1] <= "z") and not (end < len(norm)
                                                            and "a" <= norm[end] <= "z"):
            return True
        at = norm.find(phrase, at + 1)
    return False


# Topics per persona object. The persona is kept in the value so its id() cannot be reused
# while cached; library reloads make new objects, so the cache stays small and bounded.
_TOPICS: dict[int, tuple[Persona, tuple[Topic, ...]]] = {}
_TOPICS_MAX = 64


def persona_topics(persona: Persona) -> tuple[Topic, ...]:
    """Every fact, layer and elaboration of a persona as matchable topics (once per object)."""
    held = _TOPICS.get(id(persona))
    if held is not None and held[0] is persona:
        return held[1]
    topics = _build_topics(persona)
    if len(_TOPICS) >= _TOPICS_MAX:
        _TOPICS.pop(next(iter(_TOPICS)))
    _TOPICS[id(persona)] = (persona, topics)
    return topics


def _build_topics(persona: Persona) -> tuple[Topic, ...]:
    topics = [
        _topic(f"fact:{fact.topic}", [fact.topic.replace("_", " "), *fact.aliases])
        for fact in persona.facts
    ]
    for layer in persona.disclosures:
        topics.append(_topic(f"layer:{layer.id}", layer.topics, text="" if layer.topics
                             else layer.says))
        for n, more in enumerate(layer.elaborations):
            topics.append(_topic(f"more:{layer.id}:{n}", more.topics, text=more.says))
    return tuple(topics)


@dataclass(frozen=True, slots=True)
class _Pool:
    """A pool of topics laid out for one turn's scoring in two batched calls: every fuzzy
    phrase against the turn at once (rapidfuzz's C loop), every topic vector in one product."""

    topics: tuple[Topic, ...]
    fuzzy: tuple[str, ...]  # the phrases long enough for fuzzy matching, flattened
    fuzzy_owner: tuple[tuple[int, int], ...]  # (topic index, phrase index) of each
    matrix: np.ndarray | None  # one row per topic (zeros where a topic has no vector)
    # Every piece of every fuzzy phrase (see _pieces) -> the phrases (indexes into fuzzy) it
    # is a piece of, and the pieces' lengths.
    pieces: dict[str, tuple[int, ...]]
    piece_lengths: tuple[int, ...]
    lengths: tuple[int, ...]  # the fuzzy phrases' lengths, shortest first
    by_length: tuple[int, ...]  # indexes into fuzzy in that order
    # Every topic's phrases and stem sets flattened, with the score a match gives, so a turn
    # is tested against them in one comprehension rather than a loop per topic.
    said: tuple[tuple[str, int, float], ...]  # (phrase, topic index, score)
    one_stem: dict[str, tuple[int, ...]]  # stem -> topics it matches (0.75)
    many_stems: tuple[tuple[frozenset[str], int], ...]  # (stems, topic index) (0.9)


# rapidfuzz's partial_ratio of 90 or more between a phrase of m characters and a longer turn
# means an alignment with at most 0.2·m insertions and deletions (its score is
# 100·(1 - edits / (m + window)), and no window is longer than m). Each edit breaks at most one
# of floor(0.2·m) + 1 separate pieces of the phrase, so one piece is in the turn word for word.
# A phrase none of whose pieces is in the turn cannot reach 90 and is not scored at all: the
# same matches for a few set lookups instead of a fuzzy pass over every phrase.
def _pieces(phrase: str) -> tuple[str, ...]:
    count = len(phrase) // 5 + 1
    size = len(phrase) // count  # one size per phrase, so the turn's slices can be looked up
    return tuple(phrase[k * size:(k + 1) * size] for k in range(count))


def _fuzzy_near(pool: _Pool, norm: str) -> set[tuple[int, int]]:
    """(topic, phrase) of every fuzzy phrase with partial_ratio >= 90 against the turn."""
    if not pool.fuzzy or not norm:
        return set()
    # Phrases as long as the turn or longer are aligned the other way round by partial_ratio:
    # those are always scored.
    able = set(pool.by_length[bisect_left(pool.lengths, len(norm)):])
    slices = {norm[i:i + k] for k in pool.piece_lengths for i in range(len(norm) - k + 1)}
    for piece in slices & pool.pieces.keys():
        able.update(pool.pieces[piece])
    if not able:
        return set()
    order = sorted(able)
    # With the cutoff, rapidfuzz stops a pair as soon as 90 is out of reach.
    near = process.cdist([pool.fuzzy[i] for i in order], [norm], scorer=fuzz.partial_ratio,
                         score_cutoff=90)
    return {pool.fuzzy_owner[order[k]] for k in np.flatnonzero(near[:, 0] >= 90)}


_POOLS: dict[int, _Pool] = {}


def _pool(topics: Sequence[Topic]) -> _Pool:
    topics = tuple(topics)
    held = _POOLS.get(id(topics))
    if held is not None and held.topics is topics:
        return held
    owners = [(t, j) for t, topic in enumerate(topics)
              for j, phrase in enumerate(topic.phrases) if len(phrase) >= 5]
    vectors = [topic.vector for topic in topics if topic.vector is not None]
    matrix = None
    if vectors:
        matrix = np.zeros((len(topics), len(vectors[0])), dtype=vectors[0].dtype)
        for t, topic in enumerate(topics):
            if topic.vector is not None:
                matrix[t] = topic.vector
    fuzzy = tuple(topics[t].phrases[j] for t, j in owners)
    pieces: dict[str, list[int]] = {}
    for i, phrase in enumerate(fuzzy):
        for piece in _pieces(phrase):
            pieces.setdefault(piece, []).append(i)
    by_length = sorted(range(len(fuzzy)), key=lambda i: len(fuzzy[i]))
    said = tuple((phrase, t, 0.8 + min(0.2, 0.1 * len(phrase_stems)))
                 for t, topic in enumerate(topics)
                 for phrase, phrase_stems in zip(topic.phrases, topic.phrase_stems, strict=True))
    one_stem: dict[str, list[int]] = {}
    many: list[tuple[frozenset[str], int]] = []
    for t, topic in enumerate(topics):
        for phrase_stems in topic.stems:
            if len(phrase_stems) == 1:
                one_stem.setdefault(next(iter(phrase_stems)), []).append(t)
            elif phrase_stems:
                many.append((phrase_stems, t))
    pool = _Pool(topics, fuzzy, tuple(owners), matrix,
                 {k: tuple(dict.fromkeys(v)) for k, v in pieces.items()},
                 tuple(sorted({len(k) for k in pieces})),
                 tuple(len(fuzzy[i]) for i in by_length), tuple(by_length), said,
                 {k: tuple(v) for k, v in one_stem.items()}, tuple(many))
    if len(_POOLS) >= _TOPICS_MAX:
        _POOLS.pop(next(iter(_POOLS)))
    _POOLS[id(topics)] = pool
    return pool


def _scores(pool: _Pool, norm: str, stems: frozenset[str],
            vector: np.ndarray | None) -> list[float]:
    """How strongly the student's words point at each topic of the pool, 0..1.

    A phrase said word for word counts most, and more the more content words it has: "what
    do you do" is in "what do you do for fun", but "fun" says more about the question.
    """
    fuzzy = _fuzzy_near(pool, norm)
    sims = (pool.matrix @ vector).tolist() if vector is not None and pool.matrix is not None \
        else [0.0] * len(pool.topics)
    best = [0.0] * len(pool.topics)
    # `in` first: most phrases are in no turn, and the whole-word check costs more than it.
    for phrase, t, value in [x for x in pool.said if x[0] in norm]:
        if value > best[t] and _said_whole(phrase, norm):
            best[t] = value
    for t, _ in fuzzy:
        best[t] = max(best[t], 0.7)
    for word in stems & pool.one_stem.keys():
        for t in pool.one_stem[word]:
            best[t] = max(best[t], 0.75)
    for t in [t for phrase_stems, t in pool.many_stems if phrase_stems <= stems]:
        best[t] = max(best[t], 0.9)
    out = []
    for t, topic in enumerate(pool.topics):
        sim = float(sims[t]) if topic.vector is not None else 0.0
        if best[t] < 0.5:
            out.append(min(0.7, sim) if sim >= 0.45 else best[t])
        else:
            # Between two topics the words match equally well, the closer in meaning wins.
            out.append(best[t] + 0.1 * max(0.0, sim))
    return out


@dataclass(frozen=True, slots=True)
class Heard:
    """What the student's words did, for the client to answer."""

    said: str  # the student's words, normalised
    question: str | None  # "open", "yes_no", "wh" (a closed wh-question) or None
    matches: tuple[tuple[str, float], ...]  # (topic key, score), best first, score >= 0.5
    named_feelings: tuple[str, ...]  # feeling words the student said
    parroting: float  # share of the student's words copied in order from the client
    stock: str | None  # the student's wording, to notice the same turn said again
    stem: str | None  # the opening stem ("it sounds like"), to notice one stem over and over
    apology: bool
    contract: frozenset[str]
    safety_steps: frozenset[str]
    backchannel: bool
    anaphoric: bool  # an open question about "that"/"it": the thread, not a new topic
    ending: bool

    def best(self, prefix: str) -> str | None:
        """The best-matching topic key with this prefix ("fact:", "layer:", "more:x:")."""
        return next((key for key, _ in self.matches if key.startswith(prefix)), None)


def safety_steps_in(text: str) -> list[str]:
    """The steps of a safety conversation a counsellor's words take (ideation, plan, ...)."""
    norm = normalise(text)
    return [name for name, pattern in _STEPS.items() if pattern.search(norm)]


def stock_key(text: str) -> str:
    """A key for a turn's wording: its first eight words, normalised ("that makes sense")."""
    words = _WORD.findall(normalise(text))
    return " ".join(words[:8])


def stem_key(text: str) -> str:
    """A turn's opening stem: its first three words ("it sounds like")."""
    words = _WORD.findall(normalise(text))
    return " ".join(words[:3]) if len(words) > 3 else ""


# Words that lead an echo without adding to it.
_ECHO_LEAD = frozenset({"so", "and", "okay", "ok", "right", "yeah", "mm", "hmm", "well", "oh"})


def _contains(words: list[str], run: list[str]) -> bool:
    """True when `run` occurs in `words` as consecutive words."""
    size = len(run)
    return any(words[i:i + size] == run for i in range(len(words) - size + 1))


def parroting(student: str, client: str) -> float:
    """The share of the student's words that repeat a run of 3+ words of the client's."""
    said = _WORD.findall(normalise(student))
    source = _WORD.findall(normalise(client))
    if len(source) < 3:
        # A one- or two-word answer said back ("Maybe." / "So maybe.") is all parrot: no run
        # of three words to match, but nothing of the student's own either.
        own = [w for w in said if w not in _ECHO_LEAD]
        return 1.0 if source and own and set(own) <= set(source) else 0.0
    start = 0
    while start < len(said) and said[start] in _ECHO_LEAD:
        start += 1
    own = said[start:]
    if len(own) < 3:
        # One or two of the client's words said back in their order ("So sort of." to "Sort
        # of. Work's been a lot.") is too short for a run of three, and is still all parrot.
        return 1.0 if own and _contains(source, own) else 0.0
    # Trigrams by zip rather than slices: the grader asks this of every counsellor turn.
    grams = set(zip(source, source[1:], source[2:], strict=False))
    covered = [False] * len(said)
    for i, gram in enumerate(zip(said, said[1:], said[2:], strict=False)):
        if gram in grams:
            covered[i] = covered[i + 1] = covered[i + 2] = True
    return sum(covered) / len(said)


def _question_form(text: str, analysis: TurnAnalysis) -> str | None:
    codes = set(analysis.codes)
    if "question_open" in codes:
        return "open"
    if "question_closed" in codes or "risk_inquiry" in codes:
        quote = next((e.quote for e in analysis.evidence
                      if e.code in ("question_closed", "risk_inquiry")), text)
        return "yes_no" if _YES_NO_START.search(normalise(quote)) else "wh"
    # Whatever the code, a person hears a question mark: a clipped or ungrammatical question
    # ("Could you tell me about dog?") still asks for an answer.
    asked = [e.quote for e in analysis.evidence
             if e.code == "other" and e.quote.rstrip().endswith("?")]
    if not analysis.evidence and text.rstrip().endswith("?"):
        asked = [text]
    if asked:
        return "yes_no" if _YES_NO_START.search(normalise(asked[-1])) else "wh"
    return None


def listen(
    *, persona: Persona, text: str, analysis: TurnAnalysis, last_client: str,
    topics: Sequence[Topic] | None = None,
) -> Heard:
    """Read the student's turn against the persona and the client's last words."""
    question = _question_form(text, analysis)
    # A question is matched on the sentences that ask it, so a contract's "supervisor" or a
    # reflection before the question does not pick the fact.
    focus = text
    if question:
        asked = [e.quote for e in analysis.evidence
                 if e.code in ("question_open", "question_closed", "risk_inquiry")]
        focus = " ".join(asked) or text
    said = normalise(text)
    norm = said if focus is text else normalise(focus)
    words = _WORD.findall(norm)
    stems = _stems_of(words)
    vector = embedder().vector(focus) if words else None
    pool = _pool(persona_topics(persona) if topics is None else topics)
    scored = sorted(
        [(topic.key, score) for topic, score in zip(
            pool.topics, _scores(pool, norm, stems, vector), strict=True) if score >= 0.5],
        key=lambda kv: -kv[1],
    )
    matches = tuple((key, round(score, 3)) for key, score in scored)
    every = _WORD.findall(_NOT_A_FEELING.sub(" ", said))
    feelings = tuple(
        w for i, w in enumerate(every)
        if w in _FAMILY_OF and (w not in _AMBIGUOUS or _CUES & set(every[max(0, i - 3):i]))
    )
    return Heard(
        said=said,
        question=question,
        matches=matches,
        named_feelings=feelings,
        parroting=parroting(text, last_client),
        stock=stock_key(text) or None,
        stem=stem_key(text) or None,
        apology=bool(_APOLOGY.search(norm)),
        contract=frozenset(name for name, rx in _CONTRACT.items()
                           if rx.search(said)),
        safety_steps=frozenset(name for name, rx in _STEPS.items()
                               if rx.search(said)),
        backchannel=not every or bool(_BACKCHANNEL.match(said)),
        anaphoric=bool(question == "open" and _ANAPHOR.search(norm)),
        ending=bool(_ENDING.search(said)),
    )
