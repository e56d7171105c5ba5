"""EPITOME empathy mechanisms (Sharma et al. 2020): emotional reactions, interpretations,
explorations, each 0 (none), 1 (weak, generic) or 2 (strong, specific to this client)."""

from __future__ import annotations

import re

from app.analysis.codes import Clause, Coding
from app.analysis.context import Context
from app.analysis.sentences import content_stems, stem
from app.analysis.vocabulary import DIFFICULTY, FEELINGS, alternation, words

_FEELING_STEMS = frozenset(stem(w) for w in FEELINGS | DIFFICULTY)
_FELT_WORDS = words(
    """sad sorry saddened moved touched heartbroken upset angry furious worried concerned
    scared afraid anxious gutted devastated shocked horrified hurt sick heartsick
    frustrated outraged"""
)
_FELT = alternation(_FELT_WORDS)

# Emotional reactions: the counsellor's own warmth, compassion or concern.
_ER_STRONG = re.compile(
    r"\bi(?: feel| felt| am|'m| was|'ve been) (?:so |really |very |truly |deeply |genuinely |"
    r"honestly |"
    r"incredibly |just )*" + _FELT + r" (?:for you|about (?:you|your|what|how|that)|that you|"
    r"hearing|to hear (?:about|that|how) \w+|reading|for (?:your|what|the)|"
    # "sorry you lost your dad": names what happened, not "sorry you feel that way"
    r"(?:that )?you(?:'re|'ve|'d| \w+)(?! (?:that way|like that)\b)(?: \w+){2})"
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
    # solidarity and presence: sharing the feeling, staying with the person
    r"|\bi feel (?:the same|that way too|like that too)\b|\bsame here\b|\bme too\b"
    r"|\bi know (?:exactly )?(?:how you feel|the feeling|what (?:you mean|that's like|it's like))\b"
    r"|\bi can (?:totally |really |definitely |100% )?relate\b|\bi(?:'m| am) with you\b"
    r"|\byou(?:'re| are)(?:n't| not) alone\b|\byou aren't alone\b"
    r"|\b(?:i'm|i am|im) (?:always )?here\b|\b(?:pm|dm|message|inbox) me\b|\btalk to me\b"
    r"|\bplease (?:don't|do not|stay|hold on|reach out|be safe|take care)\b"
    r"|\bi (?:don't|do not) want you to\b|\bi love you\b|\b(?:lots of|much|all my) love\b"
    r"|\bhave a (?:great|good|nice|lovely|better) (?:day|night|week|one)\b|\bhope you(?:'re| are)\b"
    r"|\bi know (?:what you're|what you are|how hard|how much|how frustrating|how painful)\b"
    r"|\bhope (?:you|things|it|this|that|everything|tomorrow)\b|\bdon't be (?:sad|hurt|upset|"
    r"scared|afraid|ashamed)\b|\bi feel (?:for|with) you\b|\bbless you\b"
    r"|\bbig hugs?\b|\bproud of you\b|\bso happy for you\b|\bcongrat\w*\b|\bawesome\b"
    r"|\b(?:(?:that|it|this) must (?:be|have been)|(?:that|it|this) sounds?) (?:so |really |very )?"
    r"(?:awful|terrible|horrible|hard|tough|rough|difficult)\b|\bwow\b"
)
# Interpretations: generic understanding without saying what is understood.
_IP_WEAK = re.compile(
    r"\bi (?:(?:totally|completely|fully|really|definitely|truly|certainly|honestly|kind of|"
    r"sort of|do|can|could|100%) )*(?:understand|get it|get that|get you|feel you|hear you|"
    r"see|relate|empathi[sz]e)\b"
    r"|\bi know (?:(?:exactly|all too well|too well|just) )?(?:how|what) (?:you|it|that|this)\b"
    # "I know how frustrating it is": understanding named by its intensity, not its content
    r"|\bi know (?:exactly |just )?how (?:\w+ ){1,2}(?:it|this|that|you)\b"
    r"|\bi know (?:the|this|that) feeling\b|\bi(?:'ve| have) been there\b|\bsame here\b"
    r"|\bme too\b"
    # agreement with what the client said: understanding without adding to it
    r"|\bi (?:(?:totally|completely|fully|really|definitely|so|100%) )*agree\b"
    r"|\bi know,? right\b"
)
# Agreement said as a lead-in ("Exactly, ..."); matched on the clause with its lead.
_AGREEMENT_LEAD = re.compile(r"^(?:exactly|so true|very true|too true|true that)\b")


def _generic_understanding(item: Clause) -> bool:
    """Understanding claimed without saying what is understood ("I know how you feel")."""
    return bool(_IP_WEAK.search(item.clause.core) or _AGREEMENT_LEAD.search(item.clause.norm))


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


_CONCERN = re.compile(r"\b(?:glad|worried|concerned|care)\b")


def _emotional_reactions(coding: Coding) -> int:
    # Strong: the counsellor names their own feeling about this client's situation ("I feel
    # so sad hearing..."). Weak: generic warmth, solidarity, comfort or concern; EPITOME counts
    # even premature comfort ("it'll be fine") as a weak reaction.
    level = 0
    for item in coding.clauses:
        core = item.clause.norm
        if _ER_STRONG.search(core):
            return 2
        caring = "safety_response" in item.codes and _CONCERN.search(core)
        warm = item.codes & {"reassurance", "affirmation"}
        if _ER_WEAK.search(core) or warm or caring:
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


# The supporter's own related experience (EPITOME counts it as a strong interpretation):
# first-person statements about what they went through or feel(s).
_OWN_EXPERIENCE = re.compile(
    r"\b(?:i|i'm|im|i've|ive|iv|i'd|me|my|myself)\b"
    r"|^(?:same|me too|me as well|me neither|same here)\b"
)
# First-person talk that is about the session, not the speaker's own life.
_NOT_OWN = re.compile(
    r"\b(?:i(?:'d| would) like|i want(?:ed)? to (?:ask|check|talk|hear|share|know|make sure)|"
    r"i(?:'m| am) going to|i'll|i will|let me|i can(?:'t)? (?:meet|see|give|promise|help|refer|"
    r"book)|i need to|i have to|i wonder|i'm wondering|i'm curious|i understand|i hear|"
    r"i know (?:how|what|exactly)|i get (?:it|that|you)|i feel (?:you|ya)|i'm sorry|i am sorry|"
    r"i'm glad|i'm here|i hope|i think you|i suggest|i recommend|i'd suggest|my (?:name|job|role)|"
    r"with me|(?:talk|speak|write|reach out|message|text|listen|come|open up|explain|say|send|"
    r"give it|mean\w*) to me|tell me|ask me|me know|thank you|let's|i think|i believe|i don't know|"
    r"i of course|my (?:best )?(?:suggestion|advice|gut|guess|opinion|recommendation)|"
    r"i (?:really |so )?sorry|i'm (?:really |so |very )?sorry)\b"
    # opinions, promises and remarks about the reply itself
    r"|\bi (?:[\w']+ )?(?:doubt|promise|heard|reckon|bet|mean)\b|\bi (?:always )?tell\b"
    r"|\bi (?:[\w']+ )?(?:think|believe|feel that|wonder)\b|\bas far as i know\b"
    r"|\bthe way i see (?:it|life)\b|\bin my (?:view|opinion)\b"
    r"|\bi (?:just )?(?:want|wanted|wanna|would like|'d like) to (?:say|let you know|tell you|"
    r"remind)\b|\bi(?:'m| am) (?:not sure|unsure) (?:what|how|if)\b|\bproud of you\b"
    r"|\bi (?:don't|do not|sadly do not|dont) (?:have|know) (?:a |an |any )?(?:good )?"
    r"(?:answer|advice|idea)\b"
    # hypotheticals are not experience: "I would feel...", "if I were you"
    r"|^(?:(?:but|and|so|honestly|personally|tbh) )?(?:i'd|id|i would|i wouldn't|i would not)\b"
    r"(?! (?:been|had|have been)\b)|^if i (?:were|was|could|had)\b"
)


_INFERENCE = re.compile(
    r"\b(?:sounds?|sounded|seems?|seemed|must|part of you|as if|as though|i imagine|i sense|"
    r"i wonder if|i'm guessing|i get (?:a|the) (?:sense|feeling)|it's like|almost like)\b"
)


# Statements that contradict or reassure rather than reflect: "you're not worthless".
_COUNTER = re.compile(
    r"^(?:but |and |so )?(?:you(?:'re| are)|your|youre)(?:n't| not| never| in no way| much more "
    r"than| more than| so much more than)\b"
)
# A guess at causes or a verdict on what the client should do or be is an opinion about
# them, not an understanding of their experience ("your levels might be low").
_OPINION = re.compile(
    r"\b(?:might|may|could) (?:not )?(?:be|seem)\b|\byou (?:[\w']+ )?(?:should|shouldn't|ought to|"
    r"(?:are|'re|would be|'d be) better off)\b"
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|im|i've|me|my)\b")
# A bare verdict on the situation ("that's awful", "it's so hard") is a reaction to it.
# So is "that must be hard": a generic difficulty word infers nothing about this client,
# while "that must have been frightening" names what they felt.
_GENERIC_HARD = r"(?:hard|difficult|tough|rough|awful|terrible|horrible|shit|crap|rubbish)"
_BARE_VERDICT = re.compile(
    r"^(?:that|it|this)(?:'s| is) (?:(?:so|really|very|just|pretty|such a) )*(?:"
    + alternation(DIFFICULTY | _FELT_WORDS) + r")\W*$"
    r"|^(?:(?:that|it|this) )?(?:must (?:be|have been|feel)|sounds?|seems?) "
    r"(?:(?:so|really|very|just|pretty|such|incredibly|a|extremely) )*" + _GENERIC_HARD
    + r"(?: for you)?\W*$"
)


def _about_experience(item: Clause, ctx: Context) -> bool:
    """Names a feeling, infers, or restates what the client said (not an opinion about them)."""
    core = item.clause.core
    if (_OPINION.search(core) or _COUNTER.search(core)) and not _FIRST_PERSON.search(core):
        return False
    if _BARE_VERDICT.search(core):
        return False
    words = {stem(w) for w in item.clause.words}
    return bool(
        words & _FEELING_STEMS
        or _INFERENCE.search(item.clause.core)
        or len(content_stems(item.clause.words) & ctx.client_stems) >= 2
    )


_SIMILAR = re.compile(
    r"\b(?:same|similar|too|also|as well|aswell|been there|like you|like that)\b"
    r"|\b(?:either|neither)\W*$"
    # the client's experience taken up by reference: "I get this a lot", "it happens to me"
    r"|\b(?:this|that|it) (?:a lot|all the time|every day|often|frequently|constantly|daily)\b"
    r"|\bhappens? to me\b|\bi (?:[\w']+ )?(?:experience|get|do|feel|have|had|did) (?:this|that)\b"
)


_YOU = re.compile(r"\b(?:you|your|you're|youre|you've|you'd|you'll|yourself|u|ur)\b")


def _related_experience(item: Clause, ctx: Context) -> bool:
    """The speaker's own experience, related to the client's by shared words or feelings."""
    core = item.clause.core
    if not _OWN_EXPERIENCE.search(core) or _NOT_OWN.search(core):
        return False
    if _YOU.search(core) and not _SIMILAR.search(core):
        return False  # the speaker's stance towards the client ("I know you care")
    if core.startswith(("same", "me ")):
        return True
    if len(item.clause.words) < 4:
        return bool(_SIMILAR.search(core))  # "I'm tired too"
    stems = content_stems(item.clause.words) - _GENERIC_STEMS
    return bool(_SIMILAR.search(core) or stems & _FEELING_STEMS or stems & ctx.client_stems
                or len(item.clause.words) >= 8)


# Short validations that say the reaction is understandable; comfort such as "you're not
# alone" validates without showing what is understood, so it adds no interpretation.
_MAKES_SENSE = re.compile(
    r"\bsense\b|\bunderstandabl[ey]\b|\bno wonder\b|\bof course\b|\bsee why\b|\bwho wouldn't\b"
    r"|\bthe same\b|\bthat way\b"
)


def _interpretations(coding: Coding, ctx: Context) -> int:
    level = 0
    for item in coding.clauses:
        core = item.clause.core
        codes = item.codes
        if codes & {"advice_without_permission", "judgement", "reassurance", "minimising"}:
            continue
        if "summary" in codes:
            return 2
        if codes & {"reflection_simple", "reflection_complex"}:
            if item.marked and _about_experience(item, ctx):
                return 2  # names the client's feelings or restates their experience
            if _related_experience(item, ctx):
                level = 2  # read as a reflection, but it tells the speaker's own story
            elif _generic_understanding(item):
                level = max(level, 1)
        elif _IP_STRONG.search(core):
            level = max(level, 2 if _specific(item, ctx) or "self_disclosure" in codes else 1)
        elif "self_disclosure" in codes or _related_experience(item, ctx):
            level = max(level, 2)
        elif "validation" in codes:
            if len(content_stems(item.clause.words)) >= 4:
                level = 2
            elif _MAKES_SENSE.search(core):
                level = max(level, 1)  # "that makes sense": understanding without content
        elif _generic_understanding(item):
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
