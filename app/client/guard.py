"""Role guard: checks a model's reply before it is committed as the client's words.

Policy (how a reply reaches the student): the model's deltas are streamed to the student as
they arrive, and the whole reply is checked when the stream ends. If the guard rejects it, the
engine regenerates once with a correction and, if that also fails, falls back to the scripted
engine's line for the plan; either way it emits one ``replace`` event that swaps the shown text.

Why stream-then-replace rather than buffering by sentence: time to first token is what makes the
client feel present, and buffering would delay every reply to protect against rare ones. Several
checks also need the whole reply (sentence count, a locked layer paraphrased across sentences),
so a sentence buffer could not promise that nothing rejected is ever shown anyway. Nothing is
committed until the engine's ``done`` event, which carries the checked text.

The checks are deliberately lexical (phrases, patterns, token overlap): they run in well under a
millisecond, need no model, and their precision and recall are measured on a labelled set
(``tests/guard_cases.py``).
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from typing import Literal

from app.client.prompt import allowed_layers, locked_layers, role_rules
from app.client.state import ClientState, ReplyPlan
from app.persona import SAFETY_STEPS, Disclosure, Persona

__all__ = ["GuardEvent", "GuardKind", "check_reply", "clean_reply", "correction_for"]

GuardKind = Literal[
    "role_reversal",
    "ai_reference",
    "fourth_wall",
    "stage_direction",
    "too_long",
    "locked_leak",
    "repetition",
    "empty",
]


@dataclass(frozen=True, slots=True)
class GuardEvent:
    """One reason a reply broke role."""

    kind: GuardKind
    detail: str

    def as_meta(self, *, action: str) -> dict[str, str]:
        """The event as stored on the turn, with what the engine did about it."""
        return {"kind": self.kind, "detail": self.detail, "action": action}


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# The client doing the counsellor's job: reflecting, exploring, validating, advising.
_ROLE_REVERSAL = _rx(
    r"\bhow (?:does|did|do|would|might) (?:that|this|it) make you feel\b",
    r"\bhow (?:are|were) you feeling\b",
    r"\bhow do you feel about (?:that|this|it|what)\b",
    r"\b(?:it )?(?:sounds|seems) (?:like|as though|as if) you(?:'re| are|'ve| have)? ?"
    r"(?:been )?(?:feel|feeling|going through|dealing with|carrying|struggling|hurting|"
    r"under a lot|having a (?:hard|tough|difficult))",
    r"\bi (?:can )?hear (?:that )?you(?:'re| are)? (?:feel|feeling|saying (?:that )?you feel|"
    r"going through|struggling)",
    r"\bwhat i(?:'m| am) hearing is\b",
    r"\bthat must (?:be|have been|feel) (?:really |so |very |incredibly )?"
    r"(?:hard|difficult|tough|painful|exhausting|overwhelming|frustrating|lonely) for you\b",
    r"\bthank(?:s| you) for (?:sharing|opening up)\b",
    r"\bwhat brings you (?:here|in)\b",
    r"\bwhat would you like to (?:talk about|focus on|explore|work on)\b",
    r"\b(?:would you like|do you want) to (?:talk|tell me|share) (?:more )?about\b",
    r"\b(?:let's|let us) (?:explore|unpack|take a moment|focus on (?:you|your)|"
    r"work on (?:that|this|your))\b",
    r"\bi(?:'m| am) (?:here|going to be (?:here|there)) (?:for you|to (?:help|support|listen|"
    r"take care of you))\b",
    r"\bi(?:'ll| will) (?:always )?be (?:here|there) for you\b",
    r"\bhow can i (?:help|support|assist) you\b",
    r"\bwhat can i (?:help you with|do for you)\b",
    r"\bi(?:'m| am) (?:now )?(?:the|your) (?:counsell?or|therapist)\b",
    r"\bbe (?:gentle|kind|patient) with yourself\b",
    r"\b(?:your|those|these) feelings are (?:valid|understandable|completely normal)\b",
    r"\bit(?:'s| is) (?:okay|ok|normal|understandable|natural|completely normal) "
    r"(?:for you )?to feel\b",
    r"\btell me (?:more|a bit more|a little more) about "
    r"(?:that|how you|what(?:'s| is)|why you|your feelings)\b",
    r"\bwhat(?:'s| has) been (?:going on|on your mind) (?:for|with) you\b",
    r"\bas your (?:counsell?or|therapist)\b",
    r"\b(?:i'd|i would) (?:suggest|recommend|encourage) (?:that )?you\b",
    r"\bmy advice (?:would be|is|to you)\b",
    r"\byou (?:should|could|might want to|may want to|ought to|need to) (?:try|consider|"
    r"think about|take (?:some|a|care|time)|talk to|reach out|practi[cs]e|make time|set aside|"
    r"get (?:some|more)|look into|focus on (?:yourself|your)|be kind|be gentle)\b",
    r"\bhave you (?:tried|considered|thought about) (?:\w+ing|talking|speaking|getting|taking)\b",
    r"\b(?:it(?:'s| is) (?:important|essential) (?:for you )?to (?:take care|remember|be kind|"
    r"look after))\b",
    r"\byou(?:'re| are) not alone\b",
    r"(?:^|\n|[.!?] )\s*(?:counsell?or|therapist|student)\s*:",
)

# The model speaking as a model or an assistant.
_AI_REFERENCE = _rx(
    r"\bas an? (?:ai|a\.i\.|artificial intelligence|(?:large )?language model|llm|chatbot|"
    r"ai assistant|virtual assistant|digital assistant|helpful assistant)\b",
    r"\bi(?:'m| am) (?:just |only |merely )?(?:an? )?(?:ai|a\.i\.|artificial intelligence|"
    r"(?:large )?language model|llm|chatbot|bot|computer program|virtual assistant|"
    r"ai assistant|ai model|helpful assistant)\b",
    r"\b(?:large )?language model\b",
    r"\b(?:my|the) (?:system prompt|training data|programming)\b",
    r"\bsystem prompt\b",
    r"\bmy (?:previous |original |earlier )?(?:instructions|guidelines)\b",
    r"\bi(?:'ve| have)? been (?:instructed|programmed|designed|trained) to\b",
    r"\bi was (?:instructed|programmed|designed|trained|told to play)\b",
    r"\bi don't have (?:personal )?(?:feelings|emotions|experiences|a body) (?:like|the way|as) "
    r"(?:humans|people|a human|you)\b",
    r"\bi don't have personal (?:feelings|emotions|experiences|opinions)\b",
    r"\bi(?:'m| am) not (?:a real person|a human being|a real human)\b",
    r"\bi(?:'m| am) (?:not able|unable) to (?:provide|give|offer) (?:medical|professional|"
    r"mental health|clinical) (?:advice|help|support)\b",
    r"\bi (?:can't|cannot) (?:help|assist) (?:you )?with (?:that|this)\b",
    r"\bif you(?:'re| are) (?:in crisis|having thoughts of)\b.*\b(?:contact|call|reach out)\b",
    r"\bplease (?:contact|call|reach out to) (?:a|your|the) (?:mental health professional|"
    r"crisis line|hotline|helpline|emergency services)\b",
)

# Stepping outside the fiction: naming the exercise, the character or the student.
_FOURTH_WALL = _rx(
    r"\brole[- ]?play(?:ing|s)?\b",
    r"\bsimulat(?:ed|ion|ing|e)\b",
    r"\b(?:this|the) (?:scenario|exercise|practice session|training session|training exercise)\b",
    r"\b(?:practice|training) (?:session|exercise|scenario)\b",
    r"\b(?:in|out of|break(?:ing)?|stay(?:ing)?|breaks) character\b",
    r"\b(?:my|the|this) persona\b",
    r"\bmy character\b",
    r"\b(?:counsell?ing|therapy) (?:student|trainee)\b",
    r"\bthe user\b",
    r"\buser messages?\b",
    r"\brules of the role\b",
    r"\b(?:fictional|made-up|fictitious) (?:character|client|person|scenario)\b",
    r"\bpretend(?:ing)? to be (?:a|an|the) (?:client|patient|person|human|counsell?or)\b",
    r"\bi(?:'m| am) (?:playing|voicing|portraying) (?:the |a |an )?(?:\w+ )?"
    r"(?:client|character|role|persona|patient)\b",
    r"\bplay(?:ing)? the (?:role|part) of\b",
    r"\bas (?:the|a) (?:simulated|practice|virtual|fictional) client\b",
)

# Verbs and nouns that make a bracketed or starred span an action rather than emphasis.
_ACTION = re.compile(
    r"\b(?:sigh|paus|laugh|chuckl|smil|shrug|nod|look|glanc|star|fidget|cr(?:y|ie)|tear|sob|"
    r"sniff|shift|lean|wip|rub|bit|hesitat|whisper|mumbl|mutter|frown|grimac|swallow|breath|"
    r"exhal|inhal|voic|quiet|soft|silence|silent|silently|beat|awkward|avert|eye|hand|shak|fiddl|clench|fold|tap|"
    r"sit|stand|walk|turn|gaz|blink|wring|squirm|lower|trail|cough|smirk|grin|winc|scoff|"
    r"snort|groan|yawn|roll|long paus)(?:e|s|es|ed|d|ing|ly)?\b|"
    r"\b(?:nodd|sobb|tapp|rubb|grinn|sitt)(?:ing|ed)\b",
    re.IGNORECASE,
)
_STARRED = re.compile(r"\*{1,2}([^*\n]{1,120})\*{1,2}")
_PARENS = re.compile(r"\(([^()\n]{1,120})\)")
_BRACKETS = re.compile(r"\[[^\]\n]{1,120}\]")
_NARRATION_VERBS = (
    r"sighs|pauses|shrugs|nods|laughs|chuckles|smiles|looks (?:down|away|up)|glances|hesitates|"
    r"fidgets|stares|shifts|leans|takes a (?:deep |long )?breath|wipes|rubs|bites|swallows|"
    r"frowns|whispers|mumbles|mutters|trails off|shakes (?:his|her|their) head"
)

# A reply sharing this many words in a row with the role rules is reciting the prompt.
_ECHO_N = 6

_SENTENCE = re.compile(r"[^.!?…]+(?:[.!?…]+|$)")
_TOKEN = re.compile(r"[a-z0-9']+")
_LABEL = re.compile(r"^\s*\**([A-Za-z][\w .'-]{0,30}?)\**\s*:\s*\**\s*")

# Everyday words that say nothing about which part of the story a line is from.
_STOPWORD_TEXT = """
    a about after again all am an and any are as at be because been before being but by can
    could did do does doing don't down during each even ever every few for from further get got
    had has have having he her here hers him his how i i'd i'll i'm i've if in into is it it's
    its just like me more most much my myself no nor not now of off on once only or other our
    out over own really same she should so some still such than that that's the their them then
    there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you you're your yours yeah well maybe think know
    kind sort thing things lot bit one two guess dunno im ive dont cant wont isnt thats haven't
    hasn't hadn't didn't doesn't wasn't weren't won't wouldn't couldn't shouldn't isn't aren't
    can't they're we're there's what's let's it'll that'll she's he's they've we've you've
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _stem(token: str) -> str:
    """A crude stem so that 'warned' and 'warning' meet; enough for overlap, not for language."""
    token = token.strip("'")
    if token.endswith("'s"):
        token = token[:-2]
    for suffix in ("ing", "ed", "es", "ly", "s"):
        if len(token) > len(suffix) + 3 and token.endswith(suffix):
            return token[: -len(suffix)]
    return token


@functools.lru_cache(maxsize=8192)
def _stems(text: str) -> tuple[str | None, ...]:
    """Token stems in order, with None where a stopword or short word stood.

    Cached: the persona's own lines are stemmed again on every reply otherwise.
    """
    return tuple(
        _stem(tok) if tok not in _STOPWORDS and len(tok) > 2 else None
        for tok in _TOKEN.findall(text.lower().replace("\u2019", "'"))
    )


def _content_stems(text: str) -> set[str]:
    return {stem for stem in _stems(text) if stem}


def _stems_of(texts: list[str]) -> set[str]:
    """Content stems of several texts (each cached on its own, so the union is cheap)."""
    found: set[str] = set()
    for text in texts:
        found.update(stem for stem in _stems(text) if stem)
    return found


def _bigrams(stems: tuple[str | None, ...]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in itertools.pairwise(stems) if a and b}


def _sentences(text: str) -> list[str]:
    return [s for s in (m.group(0).strip() for m in _SENTENCE.finditer(text)) if s]


def clean_reply(text: str, *, persona: Persona) -> str:
    """Strip harmless wrapping a model adds: a leading speaker label and enclosing quotes."""
    cleaned = text.strip()
    label = _LABEL.match(cleaned)
    if label:
        who = label.group(1).strip().lower()
        if who in {persona.client.name.lower(), "client", "me", "patient"}:
            cleaned = cleaned[label.end() :].strip()
    pairs = {'"': '"', "\u201c": "\u201d", "'": "'"}
    if len(cleaned) > 1 and cleaned[0] in pairs and cleaned.endswith(pairs[cleaned[0]]):
        inner = cleaned[1:-1]
        if cleaned[0] not in inner:
            cleaned = inner.strip()
    return cleaned


def _stage_directions(text: str, *, name: str, interpreted: bool = False) -> list[str]:
    found: list[str] = []
    for match in _STARRED.finditer(text):
        inner = match.group(1)
        if _ACTION.search(inner) or len(inner.split()) >= 3 or match.start() == 0:
            found.append(match.group(0))
    for match in _PARENS.finditer(text):
        inner = match.group(1)
        standalone = text[: match.start()].rstrip()[-1:] in {"", ".", "!", "?", "…"}
        if _ACTION.search(inner) and (standalone or len(inner.split()) <= 4):
            found.append(match.group(0))
    found.extend(m.group(0) for m in _BRACKETS.finditer(text))
    if interpreted:
        # An interpreter telling what the client does ("He nods.") is speech, not narration.
        return found
    narration = re.compile(
        rf"\b{re.escape(name)} (?:{_NARRATION_VERBS})\b|(?:^|[.!?…]\s+)(?:he|she) "
        rf"(?:{_NARRATION_VERBS})[^.!?…]{{0,30}}[.!?…]",
        re.IGNORECASE,
    )
    found.extend(m.group(0).strip(" .") for m in narration.finditer(text))
    return found


def layer_lines(layer: Disclosure) -> tuple[str, ...]:
    """Every line of a layer: what opens it, its elaborations, its safety and missed answers."""
    safety = layer.safety
    steps = [line for step in SAFETY_STEPS for line in getattr(safety, step)] if safety else []
    return (layer.says, *[e.says for e in layer.elaborations], *layer.after_safety,
            *layer.after_missed, *steps)


def _open_vocabulary(
    persona: Persona, state: ClientState, plan: ReplyPlan
) -> tuple[set[str], set[str]]:
    """Stems of what is open now (layers, the plan's lines), and of all the client may say."""
    opened = [*plan.lines]
    for layer in allowed_layers(persona, state, plan):
        opened.extend((layer.says, *[e.says for e in layer.elaborations]))
    client, reactions = persona.client, persona.reactions
    everyday = [
        client.background,
        client.presenting_problem,
        persona.style.opening_line,
        *persona.style.phrases,
    ]
    for kind in type(reactions).model_fields:
        everyday.extend(getattr(reactions, kind))
    narrow = _stems_of(opened)
    return narrow, narrow | _stems_of(everyday)


def _leaks(text: str, *, persona: Persona, state: ClientState, plan: ReplyPlan) -> list[str]:
    """Locked layers the reply repeats: most of a sentence's distinctive words, or a phrase.

    Words the client may use anyway (their background, everyday reactions, open layers, the
    plan's lines) do not count, so a locked line sharing 'work' or 'a big deal' with them is
    not flagged for those. Each sentence of a locked line is compared on its own, so a long
    line is caught when one of its sentences comes out.
    """
    # Single words are judged against what is open; two-word phrases also against the
    # client's everyday lines, where a phrase like "health visitor" may be their own.
    opened, everyday = _open_vocabulary(persona, state, plan)
    reply_stems = _stems(text)
    reply, reply_pairs = set(filter(None, reply_stems)), _bigrams(reply_stems)
    leaked: list[str] = []
    for layer in locked_layers(persona, state, plan):
        lines = layer_lines(layer)
        units = dict.fromkeys(unit for line in lines for unit in (line, *_sentences(line)))
        for unit in units:
            unit_stems = _stems(unit)
            distinctive = set(filter(None, unit_stems)) - opened
            shared = reply & distinctive
            phrases = {
                pair
                for pair in _bigrams(unit_stems) & reply_pairs
                if pair[0] not in everyday and pair[1] not in everyday
            }
            mostly = len(shared) >= 3 and len(shared) / max(1, len(distinctive)) >= 0.6
            if mostly or phrases:
                found = " ".join(phrases.pop()) if phrases else ", ".join(sorted(shared))
                leaked.append(f"{layer.id}: {found}")
                break
    return leaked


@functools.lru_cache(maxsize=256)
def _as_self(name: str) -> re.Pattern[str]:
    """The client talking about themself as a character or in the third person."""
    n = re.escape(name)
    return re.compile(
        rf"\b(?:as|playing|you are|i(?:'ll| will) (?:be|respond as|reply as)) {n}\b|"
        rf"\b(?:a|the) client,? (?:named |called )?{n}\b|"
        rf"\b{n}(?:'s| would| might) (?:next|reply|replies|response|words|message|line|say)\b",
        re.IGNORECASE,
    )


@functools.lru_cache(maxsize=256)
def _rule_grams(rules: str) -> frozenset[tuple[str, ...]]:
    tokens = _TOKEN.findall(rules.lower())
    return frozenset(zip(*(tokens[i:] for i in range(_ECHO_N)), strict=False))


def _echo(text: str, persona: Persona) -> str | None:
    """Six words in a row from the rules of the role: the model is reciting its prompt."""
    grams = _rule_grams(role_rules(persona))
    tokens = _TOKEN.findall(text.lower().replace("\u2019", "'"))
    for gram in zip(*(tokens[i:] for i in range(_ECHO_N)), strict=False):
        if gram in grams:
            return " ".join(gram)
    return None


def _repeated(text: str) -> str | None:
    """A sentence said three times or more: small models fall into loops."""
    counts: dict[str, int] = {}
    for sentence in _sentences(text):
        key = " ".join(_TOKEN.findall(sentence.lower()))
        if len(key) > 3:
            counts[key] = counts.get(key, 0) + 1
            if counts[key] >= 3:
                return sentence
    return None


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(0).strip() if match else None


def check_reply(
    text: str, *, persona: Persona, state: ClientState, plan: ReplyPlan
) -> list[GuardEvent]:
    """Every way the reply breaks role; an empty list means it may be committed."""
    normal = text.replace("\u2019", "'")
    if not normal.strip():
        return [GuardEvent("empty", "the reply was empty")]
    events: list[GuardEvent] = []
    if hit := _first(_ROLE_REVERSAL, normal):
        events.append(GuardEvent("role_reversal", f"counselled the counsellor: {hit!r}"))
    if hit := _first(_AI_REFERENCE, normal):
        events.append(GuardEvent("ai_reference", f"spoke as an AI: {hit!r}"))
    name = persona.client.name
    if hit := (
        _first(_FOURTH_WALL, normal) or _first(_as_self(name), normal) or _echo(normal, persona)
    ):
        events.append(GuardEvent("fourth_wall", f"stepped out of the session: {hit!r}"))
    interpreted = persona.style.conversational_style == "interpreted"
    if directions := _stage_directions(normal, name=name, interpreted=interpreted):
        events.append(GuardEvent("stage_direction", f"stage direction: {directions[0]!r}"))
    limit = persona.style.max_sentences
    count = len(_sentences(normal))
    if count > 2 * limit + 1:
        events.append(GuardEvent("too_long", f"{count} sentences where at most {limit} fit"))
    if repeated := _repeated(normal):
        events.append(GuardEvent("repetition", f"said {repeated!r} over and over"))
    if leaks := _leaks(normal, persona=persona, state=state, plan=plan):
        events.append(GuardEvent("locked_leak", f"spoke of a locked layer ({leaks[0]})"))
    return events


_CORRECTIONS: dict[str, str] = {
    "role_reversal": "you started counselling the counsellor; you are the client, so talk about "
    "yourself and do not ask about their feelings or give them advice",
    "ai_reference": "you spoke as an AI or assistant; you are a person, the client",
    "fourth_wall": "you mentioned a role-play, scenario or character; there is none, only this "
    "conversation",
    "stage_direction": "you wrote actions or narration; write only the words you say out loud",
    "too_long": "the reply was far too long",
    "locked_leak": "you brought up something you are not ready to talk about yet",
    "repetition": "you repeated the same sentence over and over",
    "empty": "the reply was empty",
}


def correction_for(events: list[GuardEvent], *, persona: Persona) -> str:
    """The note added to the prompt when a rejected reply is regenerated."""
    reasons = "; ".join(dict.fromkeys(_CORRECTIONS[e.kind] for e in events))
    return (
        f"Your previous reply could not be used: {reasons}. Answer the counsellor's last words "
        f"again as {persona.client.name}, in at most {persona.style.max_sentences} sentences, "
        "following the rules of the role."
    )
