"""What the turns before a counsellor turn tell the rules (mostly the last client turn)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from app.analysis.model import ContextTurn
from app.analysis.risk import risk_in_the_air
from app.analysis.sentences import content_stems, normalise, stem
from app.analysis.vocabulary import CLIENT_RISK, INVITATION_KINDS, RISK_TERMS

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CLIENT_RISK = re.compile(CLIENT_RISK)
_RISK_TERMS = re.compile(r"\b" + RISK_TERMS)
_INVITATIONS = {kind: re.compile(pattern) for kind, pattern in INVITATION_KINDS.items()}
# An invitation is a request or proposal, not a mention ("my friend had a coffee with me").
_REQUEST = re.compile(
    r"\b(?:could we|can we|shall we|should we|we could|we should|let's|would you|will you|"
    r"can you|could you|can i|could i|may i|do you want|would you like|wanna|want to|i'd love|"
    r"i'd like|promise|please|how about|what about|i got you|i brought you|this is for you|"
    r"here's a|for you|between us|don't tell|you should come|come along|join us|you could come|"
    r"you're invited|fancy|you have to come|you must come|you could join|you can join|"
    r"come and join|tell you what|you sign|do me a favour|i brought|i baked|i made|"
    r"i got you|i bought|take this|have this)\b"
)
# Questions about the counsellor's own life ("Do you have children?", "Have you ever...?").
_PERSONAL_QUESTION = re.compile(
    r"\b(?:have you (?:ever )?(?:been|had|lost|done|gone|burnt|burned|felt|tried|used|taken|"
    r"struggled|dealt|lived)|(?:has|did) (?:anyone|anybody|someone) (?:ever )?(?:done|do|cheat)|"
    r"do you (?:have (?:kids|children|a (?:partner|wife|husband|family))|drink|smoke|play|"
    r"look after|live|believe|go to church|pray|get (?:anxious|depressed|stressed))|"
    r"are you (?:married|single|gay|straight|religious|christian|muslim|jewish|a (?:mum|mom|dad|"
    r"parent|mother|father)|\w+ese|asian|white|black|from)|what about you|would you (?:have|take) "
    r"(?:them|him|her|it)|you'd have a|did you ever|how old are you|where do you live)\b"
)
_ADVICE_REQUEST = re.compile(
    r"\b(?:what (?:should|do|can|could|would) i (?:do|try|say)|what (?:do|would) you (?:think i|"
    r"suggest|recommend|advise|do)|(?:any|some|give me|got any|have any) (?:advice|tips|ideas|"
    r"suggestions|pointers)|tell me what to do|how (?:do|can|should) i (?:stop|get|deal|cope|"
    r"handle|fix|make|tell|talk|cut)|what can i do|should i\b|is there anything i can do|"
    r"what would you do|what (?:do|should|can) (?:i|we) even do|where (?:do|should) i (?:even )?"
    r"(?:start|begin)|how (?:do|can|should) (?:i|we) (?:help|even|start|move on|get over)|how do "
    r"you (?:deal|cope|get|stop|handle|make|move on)|(?:does )?any ?(?:one|body) (?:have|got|know)"
    r" (?:any|anything|how|what)|is it worth)"
)
_PERMISSION_ASKED = re.compile(
    r"\b(?:would it be (?:ok|okay|alright|all right|helpful|useful)|(?:can|could|may|might) i "
    r"(?:share|suggest|offer|give|tell you|make|mention|pass on)|would you (?:like|be interested|"
    r"be open|want) (?:me to|some|to hear|in hearing|to know|a few|any|ideas)|do you want "
    r"(?:me to|some|any)|would you be open to)"
)
_AGREE = re.compile(
    r"^(?:\W*)(?:yes|yeah|yep|sure|ok|okay|alright|all right|please|go ahead|go on|of course|"
    r"definitely|absolutely|i guess|why not|that would|that'd|fine|i'd like|i would like|"
    r"i'd appreciate|sounds good)\b"
)


@dataclass(frozen=True, slots=True)
class Context:
    """Facts about the conversation so far that change how a counsellor turn is coded."""

    client_text: str = ""  # last client turn, normalised
    client_stems: frozenset[str] = frozenset()  # stems of the content words
    client_all: frozenset[str] = frozenset()  # stems of every word
    client_risk: bool = False  # risk talk in one of the last two client turns
    risk_talk: bool = False  # risk talk anywhere in the turns read, by either speaker
    risk_signs: bool = False  # any sign of risk in the last two client turns, broadly read
    invitation: str | None = None  # kind of boundary request in the last client turn
    advice_requested: bool = False  # the client asked what to do
    personal_question: bool = False  # the client asked about the counsellor's own life
    permission_granted: bool = False  # counsellor asked to share ideas and the client agreed


EMPTY_CONTEXT = Context()


@lru_cache(maxsize=1024)
def read_context(turns: tuple[ContextTurn, ...], *, risk_before: bool = False) -> Context:
    """Summarise the turns before a counsellor turn (oldest first); cached per context.

    risk_before: risk was talked of earlier in the session than these turns. Raised twenty
    turns ago it is still in the room: "Who could you be with this evening?" is a safety step
    in that session, whatever the last few turns said."""
    client_turns = [t for t in turns if t.speaker == "client"]
    if not client_turns:
        return replace(EMPTY_CONTEXT, risk_talk=risk_before)
    last_client = normalise(client_turns[-1].text)
    recent = " ".join(normalise(t.text) for t in client_turns[-2:])
    invitation = _invitation(last_client)
    return Context(
        client_text=last_client,
        client_stems=frozenset(content_stems(_WORD.findall(last_client))),
        client_all=frozenset(stem(w) for w in _WORD.findall(last_client)),
        client_risk=bool(_CLIENT_RISK.search(recent)),
        risk_talk=risk_before or any(speaks_of_risk(t.text) for t in turns),
        # The broad signs from the client's last two turns only: a counsellor's lecture on
        # "hurting your liver" three turns back is not risk in the air.
        risk_signs=risk_in_the_air(recent),
        invitation=invitation,
        advice_requested=bool(_ADVICE_REQUEST.search(last_client)),
        personal_question=bool(_PERSONAL_QUESTION.search(last_client)),
        permission_granted=_permission_granted(turns),
    )


@lru_cache(maxsize=8192)
def speaks_of_risk(text: str) -> bool:
    """The turn talks of suicide, self-harm or wanting to die, whoever says it (cached per text:
    the live turn asks it of the whole session's history every turn)."""
    norm = normalise(text)
    return bool(_CLIENT_RISK.search(norm) or _RISK_TERMS.search(norm))


_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


def _invitation(client: str) -> str | None:
    """The kind of boundary request the client makes of the counsellor, if any.

    The request and its object must share a sentence, so "my friends come to me saying..."
    or "black coffees, right?" are not invitations."""
    for sentence in _SENTENCE.findall(client):
        if not _REQUEST.search(sentence):
            continue
        for kind, pattern in _INVITATIONS.items():
            if pattern.search(sentence):
                return kind
    return None


def _permission_granted(turns: Sequence[ContextTurn]) -> bool:
    """True when the last counsellor turn asked to share ideas and the client then agreed."""
    if len(turns) < 2 or turns[-1].speaker != "client" or turns[-2].speaker != "counsellor":
        return False
    asked = _PERMISSION_ASKED.search(normalise(turns[-2].text))
    return bool(asked and _AGREE.search(normalise(turns[-1].text)))
