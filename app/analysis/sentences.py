"""Sentence and clause segmentation with verbatim spans, plus text normalisation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from app.analysis.vocabulary import STOPWORDS

# Typographic apostrophes and quotes are folded so patterns need only the ASCII forms.
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})

# Sentence ends: terminal punctuation (plus closing quotes/brackets) before whitespace, or newlines.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+|(?<=[.!?])[\"')\]]*$")
# Abbreviations whose full stop does not end a sentence.
_ABBREVIATION = re.compile(r"\b(?:dr|mr|mrs|ms|st|vs|etc|e\.g|i\.e|approx)\.$", re.IGNORECASE)

# Clause boundaries inside a sentence: semicolons, colons, dashes, ellipses, and commas that
# start a new clause (a conjunction or a subject comes next).
_CLAUSE_BREAK = re.compile(
    r"\s*(?:;|:(?=\s)|\.\.\.+|…|\s[-–—]+\s|--+)\s*"
    r"|,\s+(?=(?:and|but|so|yet|because|although|though|even though|while|which)\b)"
    r"|,\s+(?=(?:you|your|it|that|this|there|part of|i|i'm|i've|i'd|we|he|she|they)\b)"
    # a question after a statement: "You've cut down, how did you manage that?" (not a tag
    # such as "..., is that right?")
    r"|,\s+(?=(?:what|how|why|when|where|who|(?:do|did|are|were|have|can|could|would|will) "
    r"(?:you|they|we)|(?:can|may|could) i ask|(?:does|did|has|is|was|would|will|can|could) (?:it|"
    r"that|he|she|there))"
    r"\b(?! right\b)(?!\?))",
    re.IGNORECASE,
)

# Disfluencies and stage directions that carry no meaning for coding.
_FILLER = re.compile(
    r"\[[^\]]*\]|\((?:laughs?|chuckles?|sighs?|pause)\)"
    r"|\b(?:u+m+|u+h+|e+r+m*|hmm+|mhm+|mm+-?hmm+|uh-huh|mm+)\b[,.]?",
)
_STUTTER = re.compile(r"\b(\w+)(?:-\1)+\b")
# A cut-off start of the next word: "wh-what", "pot-potential".
_FALSE_START = re.compile(r"\b(\w{1,4})-(?=\1)")
_YOU_KNOW = re.compile(r"(?:^|,)\s*(?:you know|i mean|like),\s*")
_SPACES = re.compile(r"\s+")
# Contractions typed without the apostrophe ("dont", "youre"); only unambiguous ones.
_BARE = {
    "dont": "don't", "doesnt": "doesn't", "didnt": "didn't", "cant": "can't", "wont": "won't",
    "isnt": "isn't", "arent": "aren't", "wasnt": "wasn't", "werent": "weren't",
    "havent": "haven't", "hasnt": "hasn't", "couldnt": "couldn't", "wouldnt": "wouldn't",
    "shouldnt": "shouldn't", "youre": "you're", "youve": "you've", "youll": "you'll",
    "im": "i'm", "ive": "i've", "whats": "what's", "thats": "that's", "theres": "there's",
    "hows": "how's", "theyre": "they're", "wanna": "want to", "gonna": "going to",
    "kinda": "kind of", "sorta": "sort of", "gotta": "got to", "ya": "you", "u": "you",
    "ur": "your",
}
_BARE_WORD = re.compile(r"\b(?:" + "|".join(_BARE) + r")\b")

# Discourse markers that open a sentence without changing what it does ("Okay, so you...").
_LEAD = re.compile(
    r"^(?:okay|ok|so|well|and|but|yeah|yes|yep|yup|right|alright|all right|oh|ah|now|"
    r"i see|gotcha|wow|hmm|then|also|anyway|sure|hey|hi|hello|great|good|cool|fine|look|listen|"
    r"honestly|actually|basically|i mean|you know|and so|but so|because|cause|'cause)"
    r"\b[,.!]?\s*"
)
# Capitalised words before a comma near the start are usually vocatives ("Katie, it sounds...").
_VOCATIVE = re.compile(r"\b([A-Z][a-z]+),\s")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


# Context turns are normalised again for every later counsellor turn of a transcript.
@lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    """Lower-case, fold quotes, drop fillers and stutters, collapse whitespace."""
    folded = text.translate(_FOLD).lower()
    folded = _FILLER.sub(" ", folded)
    folded = _STUTTER.sub(r"\1", folded)
    folded = _FALSE_START.sub("", folded)
    folded = _YOU_KNOW.sub(" ", folded)
    folded = _BARE_WORD.sub(lambda m: _BARE[m.group(0)], folded)
    folded = _SPACES.sub(" ", folded).strip(" ,-")
    return folded


@dataclass(frozen=True, slots=True)
class Sentence:
    """A verbatim stretch of the turn with its normalised forms."""

    text: str  # verbatim, as typed
    norm: str  # normalised whole sentence
    core: str  # norm without opening discourse markers
    words: tuple[str, ...]  # tokens of core
    question: bool  # ends with a question mark
    lead: frozenset[str]  # discourse markers stripped from the front

    @property
    def empty(self) -> bool:
        """True when nothing but discourse markers and fillers is left ("Mm-hmm. Okay.")."""
        return not self.words


def make_sentence(text: str) -> Sentence:
    """Build a Sentence from one verbatim stretch of text."""
    stripped = text.strip()
    norm = normalise(stripped)
    # A vocative name ("Katie, it sounds like...") is not part of the act.
    names = {m.group(1).lower() for m in _VOCATIVE.finditer(stripped[:40])} - STOPWORDS
    core = norm
    lead: set[str] = set()
    while True:
        match = _LEAD.match(core)
        if match and match.end():
            lead.add(match.group(0).strip(" ,.!"))
            core = core[match.end():]
            continue
        word = core.split(",", 1)[0]
        if "," in core and word in names:
            core = core[len(word) + 1:].lstrip()
            continue
        break
    core = core.strip(" ,.-")
    tail = stripped.rstrip(" \"')]-–—")
    return Sentence(
        text=stripped,
        norm=norm,
        core=core,
        words=tuple(_WORD.findall(core)),
        question=tail.endswith("?"),
        lead=frozenset(lead),
    )


def split_sentences(text: str) -> list[Sentence]:
    """Split a turn into sentences; each Sentence.text is a verbatim substring of text."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start()
        if end <= start:
            continue
        piece = text[start:end]
        if _ABBREVIATION.search(piece) and match.group(0).strip() == "":
            continue  # "Dr. Smith" - keep reading
        pieces.append(piece)
        start = match.end()
    pieces.append(text[start:])
    sentences = [make_sentence(p) for p in pieces if p.strip()]
    return [s for s in sentences if s.text]


def split_clauses(sentence: Sentence) -> list[Sentence]:
    """Split a sentence into clauses; each clause text is a verbatim substring of the sentence."""
    text = sentence.text
    parts: list[str] = []
    start = 0
    for match in _CLAUSE_BREAK.finditer(text):
        if match.start() > start:
            parts.append(text[start:match.start()])
        start = match.end()
    parts.append(text[start:])
    clauses = [make_sentence(p) for p in parts if p.strip(" ,.-")]
    return clauses if len(clauses) > 1 else [sentence]


_STEM_SUFFIX = re.compile(r"(?:ing|ed|es|s|ly)$")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude suffix-stripping stem: "sleeping"/"sleep", "worries"/"worried"/"worry"."""
    word = word.split("'")[0]
    if len(word) > 4:
        word = word[:-3] + "y" if word.endswith(("ies", "ied")) else _STEM_SUFFIX.sub("", word)
    if len(word) > 3 and word[-1] in "ey":
        word = word[:-1]
    return word


def content_stems(words: tuple[str, ...] | list[str]) -> set[str]:
    """Stems of the content words (no stopwords, at least three letters)."""
    return {stem(w) for w in words if len(w) >= 3 and w.split("'")[0] not in STOPWORDS}
