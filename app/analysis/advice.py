"""Advice and suggestions, asking permission to give them, and autonomy-supporting offers."""

from __future__ import annotations

import re

from app.analysis.sentences import Sentence
from app.analysis.vocabulary import ACTION_VERBS, alternation

_VERB = alternation(ACTION_VERBS)
_GERUND = r"(?:just |maybe |perhaps |actually |simply )?\w+ing\b"

# Questions that are really suggestions: "Have you tried...?", "Why don't you just...?".
_ADVICE_QUESTION = re.compile(
    r"^(?:have you|did you|had you|have you ever|did you ever) (?:(?:ever|also) )?(?:tried|"
    r"considered|thought about|thought of|looked into|looked at|checked out) (?!(?:what|how|why|"
    r"where|when|who|whether|if|that|it|this|those|these)\b)"
    r"|^(?:why don't you|why not (?=\w)|why wouldn't you|why can't you just|how about you|"
    r"how about "
    + _GERUND + r"|what about " + _GERUND + r"|what if you (?:just |tried|were to|started|"
    r"stopped|told|talked|asked|went)|wouldn't it be (?:better|easier|good|best|a good idea)|"
    r"shouldn't you|isn't it (?:about )?time (?:you|to)|could you not (?:just )?|can't you just|"
    r"couldn't you (?:just )?|could you (?:just|maybe|perhaps|try|not)|can you (?:just|try)|"
    r"would you (?:consider|think about|be willing to (?:try|cut|stop|give|go|talk|see|make))|"
    r"don't you think (?:you|it would|it'd|it might) (?:should|need|ought|could|be better|"
    r"help|be worth)|do you think you (?:should|ought)|do you not think you should)"
)
# Directives and recommendations in statement form.
_DIRECTIVE = re.compile(
    # "should"/"ought to"/"had better" direct whatever verb follows ("you should just turn your
    # phone off"); "must" and "need to" are left to the verb list, since "you must be exhausted"
    # reflects rather than directs.
    r"\byou (?:really |probably |definitely |honestly |just |seriously |absolutely )*"
    r"(?:should|ought to|'d better|had better) (?:just |really |definitely |probably |at least )?"
    r"(?!be (?:proud|pleased|glad)|feel\b|have (?:been|had|known)\b)[a-z]+"
    r"|\byou (?:really |probably |definitely |honestly |just |seriously |absolutely )*"
    # epistemic "must" infers rather than directs: "you must be going through a lot"
    r"(?:should|shouldn't|ought to|need to|must(?! (?:be \w+ing|have|feel)\b)|mustn't|"
    r"have to|'ve got to|got to|had better|'d better|better)\s+(?:really |definitely |"
    r"probably |just |at least |seriously |try to |start |stop |)?(?:" + _VERB
    + r"|be \w+ing\b|be (?:more|less|careful|honest|firm|"
    r"assertive|kinder|strong|stronger|brave)|not\b|get rid|cut (?:down|back)|talk to|"
    r"speak to|let (?:it|him|her|them) go|put yourself|stand up)"
    r"|\byou (?:could|might|may) (?:always |also |just |maybe |perhaps )?(?:try|want to|wish to|"
    r"consider|think about|look into|start|stop|talk to|speak to|ask|tell|join|call|ring|go to|"
    r"write|book|make a|set|give (?:it|them|him|her|yourself)|cut down|get (?:some|a|in touch))\b"
    r"|\bi (?:really |honestly |strongly |personally )?(?:think|feel|reckon|believe|would say|"
    r"'d say|guess) (?:that )?you (?:really |probably |definitely |just )?(?:should|need to|"
    r"have to|must|ought to|'d be better|would be better|could try)\b"
    r"|\bi(?:'d| would| strongly| really)? (?:suggest|recommend|advise|encourage you|urge you)\b"
    r"|\bmy (?:advice|suggestion|recommendation|tip) (?:is|would be|would)\b"
    r"|\b(?:the )?best (?:thing|option|plan|idea|bet)(?: for you)?(?: to do)? (?:is|would be|"
    r"'d be|right now is) (?:to|for you|if you)\b|\byour best bet\b"
    r"|\bwhat you (?:need|should do|have to do|need to do|ought to do|want to do) is\b"
    r"|\bit(?:'s| is| would be|'d be| might be| may be| could be) (?:really |probably |"
    r"definitely |very )?(?:best|better|a good idea|wise|sensible|worth|important|"
    r"essential|vital|crucial|helpful|a smart move) (?:to|for you to|if you|that you)\b"
    r"|\bif i were you\b|\bif i was you\b|\bin your (?:shoes|position),? i(?:'d| would)\b"
    r"|\bit (?:might|may|could|would|will) (?:really )?(?:help|be (?:worth|helpful|useful|good))"
    r" (?:to|if you|you to|for you to)\b"
    r"|\b(?:maybe|perhaps) you (?:could|should|might|can|need)\b"
    r"|\bi want you to (?:try|do|go|make|stop|start|write|keep|call|think)\b"
    r"|\bwe (?:really )?(?:need to|have to|must|should|'ve got to|ought to) (?:" + _VERB + r"|get|"
    r"work on|look at|cut|deal)\b"
    r"|\bi (?:really )?hope (?:that )?you(?:'ll| will| can)? (?:consider|think about|try|listen|"
    r"take|stop|cut|quit|give|make|get|see|call)\b"
    r"|\byou(?:'d| would) be (?:better off|wise)\b|\byou need (?:some|a|to get|professional|"
    r"help|therapy|medication|counselling|a break|to)\b"
)
# Imperatives at the head of a sentence: "Try...", "Just tell him...", "Stop...".
_IMPERATIVE = re.compile(
    r"^(?:please )?(?:just |maybe |perhaps |simply |definitely |really |so )?"
    r"(?!tell me|take your time|take care|go on|go ahead|let me|let's|feel free|help me|"
    r"say more|keep going|carry on|bear with|think back|think of a time|imagine|remember when|"
    r"look at (?:that|you|this)|see you|talk to me|sit with|get well|stay safe|be kind|"
    r"don't worry|don't apologi|don't be (?:so )?hard|don't blame|don't give up)"
    r"(?:(?:" + _VERB + r")\b(?! you\b)(?! me\b)"
    r"(?!\s+(?:is|was|are|were|can|could|has|had|of|isn't|doesn't|does|will|might|may|'s)\b)"
    r"(?!\s+\w+\s+(?:is|are|was|were|can|could|will|may|might|tend|often|usually|have|has)\b)"
    r"|don't (?:" + _VERB + r"|be|let|drink|go|"
    r"text|call|see|bother|give)\b|cut (?:down|back)|be (?:more|less|careful|honest|firm|"
    r"strong|assertive)|make sure|why not (?=\w))"
)
# Advice-like content that is framed as an option or as information ("Some people find...").
_OFFER = re.compile(
    r"\b(?:some|many|other|lots of|a lot of) (?:people|clients|folks|parents|students|others) "
    r"(?:find|have found|say|tell me|try|like|use|get something out of)\b"
    r"|\b(?:one|another|something|a few things|a couple of things|some things|an option|"
    r"one option|some options|a thing) (?:that )?(?:some people|people|others|other people|"
    r"might|that might|that could|could)\b"
    r"|\b(?:some|a few|a couple of|several) (?:options|ideas|possibilities|things that|"
    r"suggestions|strategies)\b|\bthere are (?:a few|some|several|lots of) (?:ways|options|"
    r"things)\b"
)
# Autonomy-supporting checks and explicit requests for permission to give advice.
_PERMISSION = re.compile(
    r"\bwould it be (?:ok|okay|alright|all right|helpful|useful|ok with you|okay with you) "
    r"(?:if|for me to)\b|\b(?:can|could|may|might) i (?:share|suggest|offer|give you|tell you "
    r"(?:about|what|a)|make a suggestion|mention|pass on|throw (?:out|in))\b"
    r"|\bwould you (?:like|be interested|be open|want) (?:me to|some|to hear|in hearing|to know|"
    r"a few|any|to talk about some|to go through)|\bdo you want (?:me to (?:share|suggest|"
    r"tell|give|go)|some (?:ideas|suggestions|tips|information))\b"
    r"|\bwould you be (?:open|willing|interested) to (?:hearing|hear|some|looking)\b"
    r"|\bwould (?:it|that) (?:help|be helpful|be useful) if i\b|\bif you(?:'d| would) like,? i\b"
    r"|\bwith your permission\b|\bif it's (?:ok|okay|alright) with you,? i\b"
)
AUTONOMY = re.compile(
    r"\b(?:would (?:that|any of (?:that|those|these)|something like that|this) (?:fit|work|suit|"
    r"be (?:useful|helpful|worth|something))|does (?:that|any of (?:that|those|these)) "
    r"(?:fit|sound|feel|seem|appeal|make sense)|how does (?:that|this|any of that) (?:sound|fit)|"
    r"how would (?:that|this) (?:be|sound|fit|feel)|what do you (?:think|make of (?:that|those))|"
    r"what are your thoughts|it's (?:entirely |completely |totally |really )?(?:up to you|your "
    r"(?:call|choice|decision))|you (?:know yourself|know your situation) best|you're the "
    r"(?:expert|best judge)|only if (?:it|that) feels right|no pressure|take (?:it|what fits) or "
    r"leave it|might or might not|may or may not|see (?:what|if (?:anything|any of)) (?:fits|"
    r"works|resonates)|if (?:any of )?(?:that|this|it) (?:fits|appeals|helps|resonates)|"
    r"whatever (?:feels|works) (?:right|best) for you|what (?:might|would) (?:fit|work) for you|"
    r"which (?:if any|of these|one)|if any)\b"
)


_SOFT = re.compile(
    r"\byou (?:could|might|may)\b|\b(?:maybe|perhaps)\b|\bit (?:might|may|could) (?:really )?"
    r"(?:help|be (?:worth|helpful|useful|good))|\bone (?:option|idea|thing)\b|\bwhat about\b|"
    r"\bhow about\b"
)


def advice_strength(clause: Sentence) -> str | None:
    """"strong" for directives, "soft" for tentative suggestions, "offer" for options others
    use, None when the clause gives no advice."""
    if is_advice(clause):
        return "soft" if _SOFT.search(clause.core) else "strong"
    if is_offer(clause):
        return "offer"
    return None


def is_advice(clause: Sentence) -> bool:
    """Suggests, directs or recommends a course of action (any framing)."""
    core = clause.core
    if not core:
        return False
    if _ADVICE_QUESTION.search(core) or _IMPERATIVE.search(core):
        return True
    # "If it keeps happening, talk to your GP": the main clause after the condition directs.
    conditional = re.match(r"^(?:if|when|once|whenever|next time)\b[^,]{3,80},\s*", core)
    if conditional and _IMPERATIVE.search(core[conditional.end():]):
        return True
    match = _DIRECTIVE.search(core)
    if not match:
        return False
    before = core[: match.start()]
    # "you feel you should..." and "people keep telling you to..." report the client's view;
    # "you should be proud" and "you shouldn't have to cope alone" are not directives.
    if re.search(r"\b(?:feel|felt|think|thought|believe|said|told|worry|worried|afraid|"
                 r"expect|tell yourself|like|as if|keep hearing|people say|everyone says)\b"
                 r"(?:\s+\w+){0,3}\s*$", before):
        return False
    return not re.search(
        r"\byou (?:should|ought to) (?:be (?:proud|pleased|glad)|feel (?:proud|good))"
        r"|\byou shouldn't (?:have to|need to|feel)\b|\byou don't (?:have|need) to\b"
        r"|\bneed to (?:feel|be) (?:safe|heard|understood)\b"
        r"|\byou have to (?:deal|cope|live|put up|go through|carry|juggle|watch|hide|manage|"
        r"listen|pretend|be the one)\b",
        core,
    )


def is_offer(clause: Sentence) -> bool:
    """Advice framed as an option others use ("Some people find it helps to...")."""
    return bool(_OFFER.search(clause.core))


def asks_permission(clause: Sentence) -> bool:
    """Asks before advising ("Would it be OK if I shared some ideas?")."""
    return bool(_PERMISSION.search(clause.core))


def supports_autonomy(clause: Sentence) -> bool:
    """Hands the choice back ("would that fit for you?", "it's up to you")."""
    return bool(AUTONOMY.search(clause.core))
