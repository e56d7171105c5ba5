"""EPITOME empathy mechanisms (Sharma et al. 2020): emotional reactions, interpretations,
explorations, each 0 (none), 1 (weak, generic) or 2 (strong, specific to this client)."""

from __future__ import annotations

import re

from app.analysis.codes import Clause, Coding
from app.analysis.context import Context
from app.analysis.sentences import content_stems, stem
from app.analysis.vocabulary import DIFFICULTY, FEELINGS, alternation, words

_FEELING_STEMS = frozenset(stem(w) for w in FEELINGS | DIFFICULTY)
_FELT = alternation(words(
    """sad sorry saddened moved touched heartbroken upset angry furious worried concerned
    scared afraid anxious gutted devastated shocked horrified happy glad relieved proud
    hurt sick heartsick frustrated outraged"""
))

# Emotional reactions: the counsellor's own warmth, compassion or concern.
_ER_STRONG = re.compile(
    r"\bi (?:feel|felt|am|'m|was|'ve been) (?:so |really |very |truly |deeply |genuinely |honestly |"
    r"incredibly |just )*" + _FELT + r" (?:for you|about (?:you|your|what|how|that)|that you|"
    r"hearing|to hear (?:about|that|how)|reading|you (?:have|had|are|were|went|feel|felt)|"
    r"for (?:your|what|the))"
    r"|\bmy heart (?:goes out|breaks|aches|hurts|sank|sinks|is with)\b|\bbreaks my heart\b"
    r"|\bi (?:really )?feel for you\b|\bi(?:'m| am) (?:so |really |truly )?sorry for your loss\b"
    r"|\bi care (?:about|for) you\b|\bi(?:'m| am) (?:really |so |very )?(?:worried|concerned) "
    r"about (?:you|your)\b"
)
_ER_WEAK = re.compile(
    r"\bsorry\b|\bthat sucks\b|\bsucks\b|\bhugs?\b|\bsending (?:you )?(?:love|hugs|strength|"
    r"good vibes|positive)|\bi hope (?:you|things|it|this|that|everything)\b|\btake care\b"
    r"|\bstay strong\b|\bhang in there\b|\byou(?:'re| are) not alone\b|\bi(?:'m| am) (?:always )?"
    r"here (?:for you|if you|to listen|with you)\b|<3|\bthat's (?:so |really )?(?:awful|terrible|"
    r"horrible|sad|heartbreaking|rough|tough|shit|crap|unfair|hard)\b|\boh no\b|\bugh\b"
    r"|\bi(?:'m| am) (?:so |really |very )?(?:glad|happy|relieved|sad|moved|touched)\b"
    r"|\bgood luck\b|\byou matter\b|\bbe gentle with yourself\b|\byou deserve (?:better|to be|"
    r"happiness|love|support)\b|\bthinking of you\b|\bwish(?:ing)? you (?:the best|well|all)\b"
    r"|\ball the best\b|\bbest wishes\b|\bi feel (?:you|ya)\b|\bi(?:'m| am) rooting for you\b"
    r"|\bthat must (?:be|have been) (?:so |really )?(?:awful|terrible|horrible)\b|\bwow\b"
)
# Interpretations: generic understanding without saying what is understood.
_IP_WEAK = re.compile(
    r"\bi (?:totally |completely |fully |really |definitely |can )?(?:understand|get it|"
    r"get that|hear you|see)\b|\bi know (?:exactly )?(?:how|what) (?:you|it|that)\b"
    r"|\bi know the feeling\b|\bi can relate\b|\bi(?:'ve| have) been there\b|\bsame here\b"
    r"|\bme too\b|\bi (?:can )?(?:relate|empathi[sz]e)\b"
)
_IP_STRONG = re.compile(
    r"\b(?:it|that|this) must (?:be|have been|feel|have felt)\b|\bi can (?:only )?imagine\b"
    r"|\bi can (?:see|tell|understand|hear) (?:how|why|that|what)\b|\bsounds (?:like|as if|"
    r"really|so|very|incredibly|pretty|quite)\b|\bseems (?:like|as if|that)\b"
    r"|\bi(?:'ve| have) (?:had|felt|been through|gone through|struggled|dealt|experienced|lost)\b"
    r"|\bi (?:had|felt|went through|struggled|dealt|lost|used to)\b|\bwhen i was\b"
)
# Generic explorations that would fit any post ("What happened?").
_GENERIC_QUESTION = re.compile(
    r"^(?:what(?:'s| is| has been)? (?:happened|going on|up|wrong|the matter)|"
    r"how are you(?: (?:feeling|doing|holding up|coping))?(?: (?:now|today|right now|"
    r"at the moment))?|how (?:so|come)|what do you mean|anything else|like what|such as|"
    r"(?:do|would) you (?:want|like) to (?:talk|say more|tell me)(?: about it| more)?|"
    r"(?:can|could|would) you (?:tell me|say) (?:a (?:bit|little) )?more(?: about (?:that|it|"
    r"this))?|tell me (?:a (?:bit|little) )?more(?: about (?:that|it|this))?|"
    r"say (?:a (?:bit|little) )?more(?: about (?:that|it|this))?|what else|"
    r"how (?:did|does|do) (?:that|it) (?:feel|make you feel)|is everything (?:ok|okay|alright)|"
    r"are you (?:ok|okay|alright|all right)|want to talk(?: about it)?|why|what now|"
    r"what do you (?:think|want)|how long|since when)\W*$"
)
_EXPLORING_STATEMENT = re.compile(
    r"^i(?:'m| am)? (?:curious|wonder(?:ing)?|interested) (?:about|what|how|why|whether|if|to)\b"
)
_NO_EXPLORATION = frozenset({"advice_without_permission", "advice_with_permission", "judgement"})


def empathy_levels(coding: Coding, ctx: Context) -> dict[str, int]:
    """Levels 0/1/2 of the three EPITOME mechanisms for a coded turn."""
    return {
        "emotional_reactions": _emotional_reactions(coding),
        "interpretations": _interpretations(coding, ctx),
        "explorations": _explorations(coding, ctx),
    }


def _emotional_reactions(coding: Coding) -> int:
    level = 0
    for item in coding.clauses:
        core = item.clause.core or item.clause.norm
        if _ER_STRONG.search(core):
            return 2
        if _ER_WEAK.search(core) or item.codes & {"reassurance"} or ("safety_response" in item.codes and re.search(r"\b(?:glad|worried|concerned|care)\b",
                                                          core)):
            level = 1
    return level


# Words any question could contain; they do not make a question specific to this client.
_GENERIC_STEMS = frozenset(stem(w) for w in words(
    """like feel happen happened think going mean talk tell say want know time times day
    days today now right moment anything everything something lately recently okay way
    ways part kind sort"""
))


def _specific(item: Clause, ctx: Context) -> bool:
    """Names this client's situation: a feeling, shared content, or enough content words."""
    stems = content_stems(item.clause.words) - _GENERIC_STEMS
    return bool(stems & _FEELING_STEMS) or len(stems & ctx.client_stems) >= 1 or len(stems) >= 2


def _interpretations(coding: Coding, ctx: Context) -> int:
    level = 0
    for item in coding.clauses:
        core = item.clause.core
        codes = item.codes
        if codes & {"reflection_complex", "summary"}:
            return 2
        if "reflection_simple" in codes:
            level = max(level, 2 if _specific(item, ctx) else 1)
        elif _IP_STRONG.search(core) and not codes & {"advice_without_permission", "judgement"}:
            level = max(level, 2 if _specific(item, ctx) or "self_disclosure" in codes else 1)
        elif "self_disclosure" in codes:
            level = max(level, 2 if len(item.clause.words) >= 8 else 1)
        elif "validation" in codes:
            level = max(level, 2 if len(content_stems(item.clause.words)) >= 4 else 1)
        elif _IP_WEAK.search(core):
            level = max(level, 1)
    return level


def _explorations(coding: Coding, ctx: Context) -> int:
    level = 0
    for item in coding.clauses:
        codes = item.codes
        if codes & _NO_EXPLORATION:
            continue
        asking = bool(codes & {"question_open", "question_closed", "risk_inquiry"}) or (
            "safety_response" in codes and item.clause.question
        ) or bool(_EXPLORING_STATEMENT.search(item.clause.core))
        if not asking:
            continue
        if _GENERIC_QUESTION.search(item.clause.core) or not _specific(item, ctx):
            level = max(level, 1)
        else:
            return 2
    return level
