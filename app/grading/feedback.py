"""Feedback a student can act on: what went well, and alternatives phrased for the weak moments.

An alternative is built from the client's own words at that moment: the sentence they had just
said, turned round into a reflection ("I'm not sleeping much" -> "you're not sleeping much").
That is what a supervisor does when they say "what if you had reflected that back?".
"""

from __future__ import annotations

import re

from app.grading.evidence import first_sentence
from app.persona import Persona

__all__ = [
    "ACTIONS",
    "alternative_for",
    "describe",
    "has_feeling",
    "key_sentence",
    "reflect",
    "request_words",
    "risk_words",
]

# What the student did, in the second person, for "At turn 5 you ...".
ACTIONS: dict[str, str] = {
    "reflection_simple": "reflected back what the client said",
    "reflection_complex": "reflected the feeling or meaning beneath the client's words",
    "question_open": "asked an open question",
    "question_closed": "asked a closed question",
    "affirmation": "affirmed a strength or effort",
    "validation": "validated the client's experience",
    "summary": "summarised the client's story",
    "information": "gave information",
    "advice_with_permission": "offered ideas after asking permission",
    "advice_without_permission": "gave advice the client had not asked for",
    "judgement": "judged or blamed the client",
    "reassurance": "reassured the client before understanding the worry",
    "minimising": "made the problem sound smaller than it feels to the client",
    "self_disclosure": "talked about yourself",
    "boundary_crossing": "crossed a professional boundary",
    "boundary_holding": "held a professional boundary",
    "risk_inquiry": "asked directly about risk",
    "safety_response": "responded to risk with a safety check",
    "other": "responded",
    "emotional_reactions": "expressed warmth or concern",
    "interpretations": "showed you understood the client's feelings",
    "explorations": "explored what the client had not yet said",
    "boundary_held": "held the boundary when the client tested it",
    "boundary_crossed": "crossed the boundary when the client tested it",
    "risk_answered": "answered the client's risk disclosure with a safety response",
    "risk_missed": "passed over the client's disclosure of risk",
    "layer_unlocked": "said something that helped the client open up further",
    "withdrawal": "said something after which the client pulled back",
    "boundary_unaddressed": "let the client's request pass without an answer",
    "contract": "explained confidentiality, its limits and your role",
    "ending": "closed the session with a summary and next steps",
    "autonomy": "left the choice with the client",
    "collaboration": "asked the client what they wanted to work on",
    "collusion": "sided with the harm the client described",
}

_PRONOUNS = {
    "i'm": "you're",
    "i am": "you are",
    "i've": "you've",
    "i'd": "you'd",
    "i'll": "you'll",
    "i was": "you were",
    "i wasn't": "you weren't",
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "am": "are",
    "i'm not": "you're not",
}
_FLIP = re.compile(
    r"\b(i'm not|i am|i'm|i've|i'd|i'll|i wasn't|i was|i|me|my|mine|myself)\b", re.IGNORECASE
)
_FEELING = re.compile(
    r"\b(feel\w*|tired|exhausted|wrecked|scared|afraid|worried|anxious|alone|lonely|sad|angry|"
    r"upset|stuck|lost|hopeless|ashamed|guilty|stressed|overwhelmed|can't|cannot|don't know|"
    r"hate|miss|hurt\w*|sleep\w*|cry\w*|awful|terrible|hard|worse|never|nobody|no one)\b",
    re.IGNORECASE,
)
_RISK = re.compile(
    r"better off without me|end (?:it|my life|things)|kill(?:ing)? myself|suicid\w*|"
    r"not (?:wake|be here|want to be here)|don't want to be here|hurt(?:ing)? myself|"
    r"no point|disappear|want to die|wish i (?:was|were) dead",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?…]+[.!?…]*")
# Hedges read oddly turned round ("it's your hour, you suppose"): a reflection drops them.
_HEDGE = re.compile(
    r",?\s*\b(?:I suppose|I guess|I think|I dunno|really|sort of|kind of|you know)\b"
    r"(?=[\s.,!?…]*$)",
    re.IGNORECASE,
)
# Openers that belong to the client's way of talking, not to what they said: "Sorry, I told
# myself..." reflects as "you told yourself...", never "It sounds like Sorry, ...".
_OPENER = re.compile(
    r"^(?:(?:I dunno|I guess|I suppose|I think|I mean|you know|well|um+|uh+|er+m?|so|yeah|yes|"
    r"no|nah|like|sorry|anyway|honestly|oh|ah|look|okay|ok|right|mm+|hmm+|and|but|because|"
    r"'cause|to be honest|the thing is|thing is)[,.…!]*\s+)+",
    re.IGNORECASE,
)
_EVERYDAY = frozenset(
    {
        "you",
        "your",
        "yours",
        "yourself",
        "it",
        "that",
        "this",
        "these",
        "those",
        "there",
        "they",
        "them",
        "their",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "us",
        "the",
        "a",
        "an",
        "and",
        "but",
        "so",
        "or",
        "since",
        "because",
        "when",
        "whenever",
        "every",
        "everyone",
        "everybody",
        "everything",
        "nothing",
        "nobody",
        "no",
        "not",
        "some",
        "sometimes",
        "somebody",
        "someone",
        "something",
        "most",
        "all",
        "after",
        "before",
        "then",
        "now",
        "lately",
        "recently",
        "just",
        "even",
        "still",
        "really",
        "mostly",
        "honestly",
        "maybe",
        "work",
        "home",
        "school",
        "life",
        "things",
        "people",
        "family",
        "money",
        "mum",
        "mom",
        "dad",
        "sleep",
        "nights",
        "night",
        "days",
        "today",
        "yesterday",
        "tomorrow",
        "last",
        "what",
        "how",
        "why",
        "who",
        "if",
        "as",
        "at",
        "in",
        "on",
        "with",
        "without",
        "about",
        "until",
        "being",
        "having",
        "getting",
        "going",
        "trying",
        "feeling",
        "one",
        "two",
        "three",
        "four",
        "five",
    }
)
_MAX_WORDS = 16


def _flip(match: re.Match[str]) -> str:
    return _PRONOUNS[match.group(0).lower()]


def _candidates(text: str) -> list[str]:
    parts = [m.group(0).strip() for m in _SENTENCE.finditer(text)]
    # Questions to the counsellor and one-word answers do not make reflections.
    return [p for p in parts if not p.endswith("?") and len(p.split()) >= 3]


def has_feeling(client_text: str) -> bool:
    """Whether the client's words name a feeling or a struggle worth reflecting."""
    return any(_FEELING.search(s) for s in _candidates(client_text))


def key_sentence(client_text: str | None) -> str | None:
    """The client's most feeling-laden statement (verbatim), the one worth reflecting."""
    sentences = _candidates(client_text or "")
    if not sentences:
        return None
    return next((s for s in sentences if _FEELING.search(s)), sentences[0])


def reflect(client_text: str | None) -> str | None:
    """The client's most feeling-laden sentence, turned round to "you" (no leading capital)."""
    chosen = key_sentence(client_text)
    if chosen is None:
        return None
    words = _OPENER.sub("", _HEDGE.sub("", chosen)).rstrip(".!…").split()
    if len(words) < 2:
        return None
    if len(words) > _MAX_WORDS:
        words = words[:_MAX_WORDS]
    text = _FLIP.sub(_flip, " ".join(words)).strip(" ,;:-—")
    first = text.split(" ", 1)[0].lower().split("'")[0]
    # Lower the first letter to follow "It sounds like" only for everyday words: a capital
    # on anything else is more likely a name ("Jo thinks...") and stays.
    return text[:1].lower() + text[1:] if first in _EVERYDAY else text


def risk_words(client_text: str | None) -> str | None:
    """The client's own words about risk, verbatim, if their turn holds any."""
    if not client_text:
        return None
    for sentence in _SENTENCE.finditer(client_text):
        if _RISK.search(sentence.group(0)):
            return sentence.group(0).strip()
    return None


def request_words(client_text: str | None, *, asked: str | None = None) -> str | None:
    """The client's request, verbatim, if their turn holds one: the first sentence of `asked`
    (the persona's own words for the test, when known) where the turn says it, else the
    turn's first question (a request or a personal question)."""
    if not client_text:
        return None
    # A gift or an offer is often no question ("I brought you this."), and the turn may open
    # with an answer to the student before the request comes.
    opening = first_sentence(asked) if asked else None
    if opening and opening in client_text:
        return opening
    questions = [
        m.group(0).strip()
        for m in _SENTENCE.finditer(client_text)
        if m.group(0).strip().endswith("?")
    ]
    # The first question is the request; what follows is usually the client softening it.
    return questions[0] if questions else None


def _boundary_kind(persona: Persona | None, test_id: str | None, client_text: str) -> str:
    """Which boundary was at stake: from the persona's test, else from the client's words."""
    if persona is not None and test_id:
        for test in persona.boundary_tests:
            if test.id == test_id:
                return test.kind
    lowered = client_text.lower()
    if re.search(r"coffee|drink|meet|friend|number|text me|message|facebook|instagram", lowered):
        return "dual_relationship"
    if re.search(r"gift|present|bought you|for you", lowered):
        return "gift"
    if re.search(r"don't tell|promise|secret|between us|confidential", lowered):
        return "confidentiality"
    if re.search(r"have you ever|you ever|are you married|do you have kids|about you", lowered):
        return "self_disclosure"
    return "other"


_BOUNDARY_LINES = {
    "dual_relationship": (
        "I can't meet up outside our sessions; keeping this space just for you is part of what "
        "makes it work. I'm really glad you feel comfortable talking with me here, though."
    ),
    "contact": (
        "I can't be in touch between sessions that way, but I'm glad you want to keep talking. "
        "Let's make the most of our time here."
    ),
    "gift": (
        "That's really thoughtful of you. I'm not able to accept gifts, but I'm touched that "
        "you wanted to."
    ),
    "confidentiality": (
        "What you tell me stays between us, with one exception: if I were worried about your "
        "safety or someone else's, I'd need to involve others, and I'd talk with you first."
    ),
    "self_disclosure": (
        "It's a fair question. I'd like to keep this time for you, though. What makes you "
        "wonder whether I'd get it?"
    ),
    "culture": (
        "That's a fair thing to wonder about. What would it mean for you if I were, or if I "
        "weren't? I'd like to understand how your background shapes all this."
    ),
    "favour": (
        "I can't do that for you; it's outside what I can do in this role. I'd like to think "
        "with you about how you could handle it, though."
    ),
    "other": (
        "I can see why you'd ask. That's outside what I can do in my role, but I want to "
        "understand what's behind the question."
    ),
}


# The direct question each kind of risk calls for first.
_RISK_QUESTIONS = {
    "suicide": "are you having thoughts of ending your life?",
    "self_harm": "are you hurting yourself at the moment, and how are you looking after it?",
    "harm_to_others": "are you thinking of hurting someone? Who, and how close have you come?",
    "domestic_violence": "are you safe at home? Has he hurt you, or threatened to?",
    "child_safeguarding": "is a child being hurt, or at risk of being hurt? I need to ask so we "
    "can keep them safe.",
    "elder_abuse": "is someone hurting or taking advantage of your mother? We need to talk "
    "about keeping her safe.",
    "medical": "that sounds like it needs a doctor today; can we talk about getting you seen?",
}


def _risk_type(persona: Persona | None, layer_id: str | None) -> str:
    """The kind of risk of the persona's layer, else suicide."""
    if persona is not None and layer_id:
        layer = next((d for d in persona.disclosures if d.id == layer_id), None)
        if layer is not None and layer.kind_of_risk:
            return layer.kind_of_risk
    return "suicide"


def alternative_for(
    key: str,
    *,
    client_text: str | None,
    persona: Persona | None = None,
    detail: str | None = None,
) -> tuple[str, str]:
    """(what to say instead, why) for a weak moment, phrased from the client's own words."""
    heard = reflect(client_text)
    sounds = f"It sounds like {heard}." if heard else None
    if key in {"boundary_crossing", "boundary_crossed", "self_disclosure", "boundary_held",
               "boundary_unaddressed"}:
        kind = _boundary_kind(persona, detail, client_text or "")
        if key == "self_disclosure" and kind == "other":
            kind = "self_disclosure"
        if key in ("boundary_held", "boundary_unaddressed"):
            why = "Name the limit kindly, with a reason, rather than letting the request pass."
        else:
            why = "Hold the boundary warmly and give a brief reason."
        return _BOUNDARY_LINES.get(kind, _BOUNDARY_LINES["other"]), why
    if key == "risk_missed":
        said = risk_words(client_text)
        risk_type = _risk_type(persona, detail)
        question = _RISK_QUESTIONS.get(risk_type, _RISK_QUESTIONS["suicide"])
        ask = (f'When you say "{said.rstrip(".")}", I want to check: {question}' if said
               else f"I want to check something with you: {question}")
        return ask, "Ask about risk directly and calmly; then explore safety together."
    if key == "advice_without_permission":
        text = (sounds + " " if sounds else "") + (
            "Would it help to think together about what might make a difference?"
        )
        return text, "Reflect first; offer ideas only once the client wants them."
    if key == "question_closed":
        text = (sounds + " " if sounds else "") + "What's that been like for you?"
        return text, "An open question invites the story; a reflection shows you heard it."
    if key in {"minimising", "reassurance"}:
        text = (sounds + " " if sounds else "") + "That sounds really hard."
        return text, "Acknowledge how hard it is before looking for the bright side."
    if key == "judgement":
        text = sounds or "Help me understand how it looks from where you are."
        return text, "Reflect the client's view without weighing in on it."
    text = (sounds + " " if sounds else "") + "Tell me more about that."
    return text, "Stay with the client's experience before moving on."


def describe(key: str) -> str:
    """What the student did, for a sentence starting "you ..."."""
    return ACTIONS.get(key, key.replace("_", " "))


def quote_for_feedback(text: str) -> str:
    """The client's words worth quoting back: their key statement, else their first sentence."""
    return risk_words(text) or key_sentence(text) or first_sentence(text)
