"""Question forms: open, closed, or a declarative sentence spoken with a question mark."""

from __future__ import annotations

import re

from app.analysis.sentences import Sentence

_AUX = (
    r"(?:do|does|did|are|is|was|were|have|has|had|can|could|will|would|should|shall|may|might|am|"
    r"don't|doesn't|didn't|aren't|isn't|wasn't|weren't|haven't|hasn't|can't|couldn't|won't|"
    r"wouldn't|shouldn't)"
)
_SUBJECT = (
    r"(?:you|i|we|he|she|they|it|that|this|there|anyone|anybody|someone|somebody|anything|"
    r"something|your|the|any|my|his|her|their|things|people|those|these|either|both)"
)

# Requests for elaboration count as open questions whatever their grammar ("Can you tell me...").
_OPEN_REQUEST = re.compile(
    r"^(?:(?:can|could|would|will) you (?:please |maybe |perhaps )?(?:say|tell|describe|talk|"
    r"explain|share|walk me|help me understand|give me (?:an|some) example|expand|elaborate|"
    r"paint|put (?:into|in) words|think of a time|remember a time)|"
    r"(?:can|may|could) i ask (?:you )?(?:what|how|why|about|a bit|more)|"
    r"(?:please )?tell me (?:more|about|what|how|a bit|a little|something)|"
    r"say (?:a (?:bit|little) )?more|talk me through|walk me through|help me understand|"
    r"(?:could|can|would) we (?:talk|explore|look at|unpack)|"
    r"i'?(?:m| am)? (?:curious|interested) (?:about|what|how|why|to (?:know|hear|understand))|"
    r"i(?:'m| am)? (?:wonder(?:ing)?) (?:what|how|why|where|who|about)|"
    r"describe|what else|in what (?:way|ways|sense)|to what extent|"
    r"any (?:thoughts|ideas|sense|idea|feelings|theories) (?:on|about|of|as to)|"
    r"i(?:'m| am)? (?:just )?wonder(?:ing)? (?:if|whether) you (?:can|could|would|might) "
    r"(?:tell|say|share|describe|talk|walk|help me|give|explain|think of))"
)
# Short-fact wh questions are closed in MI coding ("How old is she?", "When did it start?").
_FACT_WH = re.compile(
    r"^(?:how (?:old|many|much|long|often|far|tall|big|soon|frequently)|"
    r"when (?:" + _AUX + r"|'s)|where (?:" + _AUX + r"|'s)|who(?:'s| " + _AUX + r"| \w+s\b)|"
    r"which|whose|what (?:time|day|date|year|age|dose|number|kind of|type of|sort of|size|"
    r"medication|medicine|tablets|school|grade|job|team|colour|color)\b|"
    r"what(?:'s| is) (?:his|her|their|your) name)"
)
_WH = re.compile(
    r"^(?:what|what's|how|how's|why|when|where|whereabouts|who|which|whose|what're)\b"
    # "So what I'm hearing is..." and "what you're saying is..." introduce reflections.
    r"(?! (?:i'm hearing|i hear|i'm getting|i'm sensing|you're saying|you said|you're telling "
    r"me|you mean|you're describing|i understand|strikes me|stands out|comes across)\b)"
)
# Without a question mark, a wh-word opens a question only when inversion follows
# ("what do you think"); otherwise it is a relative or subordinate clause ("which feels...").
_WH_AUX = re.compile(r"^(?:what|how|why|when|where|who)(?:'s)? " + _AUX + r" " + _SUBJECT + r"\b")
_AUX_START = re.compile(r"^" + _AUX + r" " + _SUBJECT + r"\b")
# A tag or check appended to a statement keeps it a statement ("..., is that right?").
TAG = re.compile(
    r"(?:^|,\s*|\s)(?:is that (?:right|correct|fair|true|it|so)|isn't (?:it|that)|aren't you|"
    r"don't you|didn't you|doesn't it|wasn't it|haven't you|right|yeah|yes|no|eh|huh|"
    r"am i (?:right|close|on the right track|getting (?:that|it) right)|"
    r"(?:is|are|was|were|has|have|had|do|does|did|can|could|would|will|should)n't "
    r"(?:it|he|she|they|you|we|i|that|there)|"
    r"does that (?:sound|seem) (?:right|about right|fair|accurate)|did i get (?:that|it) right|"
    r"have i got (?:that|it|this|the story) right|(?:would|is|does) that (?:be )?(?:right|fair|"
    r"true|"
    r"accurate|fit|sound right|make sense)|or not|or no|don't they|isn't she|isn't he|"
    r"aren't they|wasn't he|wasn't she|didn't he|didn't she|didn't they|do they|does it|"
    r"can't you|won't you|wouldn't you|right then)\??$"
)
# A subject with a finite verb: a full statement rather than a fragment.
FINITE = re.compile(
    r"\b(?:you|i|it|that|he|she|they|we|there|this|which|who|what|things|people|\w+s)"
    r"(?:'re|'s|'ve|'d|'ll|'m)\b"
    r"|\b(?:you|i|we|they|he|she)\s+(?!(?:and|or|to|for|of|in|on|at|with|the|a|an|too|guys|"
    r"all|both|yourself|guys)\b)\w+"
    # subjectless reflections: "Came out of the blue for you?", "Kind of stuck?"
    r"|^(?:\w+ed|came|got|went|felt|made|took|kind of|sort of|really|pretty|quite|very|almost|"
    r"not)\s+\w+\s+\w+"
    r"|\b(?:you|i|it|that|he|she|they|we|there|this|which|who|your \w+|\w+)\s+"
    r"(?:\w+ly\s+|just\s+|really\s+|still\s+|also\s+|never\s+|always\s+|kind of\s+|"
    r"sort of\s+)?(?:am|is|are|was|were|be|been|have|has|had|do|does|did|don't|doesn't|didn't|"
    r"can|can't|could|couldn't|will|won't|would|wouldn't|should|might|may|must|need|needs|"
    r"want|wants|feel|feels|felt|think|thinks|thought|got|get|gets|went|go|goes|know|knew|"
    r"seem|seems|sound|sounds|\w+ed)\b"
)
# A declarative said with a question mark but too short to reflect anything ("You okay?").
_ELLIPTICAL = re.compile(
    r"^(?:you (?:ok|okay|alright|all right|good|there|with me|sure|ready|want|need|have|got|"
    r"know|mean|remember)\b|anything|something|any|everything|coffee|tea|water|ready|sure|"
    r"still|more|next|really|seriously|honestly|true|yourself|and you|like what|such as)"
)


_ASK = re.compile(r"^(?:can|may|could) i ask\b")
_INDEFINITE = re.compile(r"^(?:any|anything|anybody|anyone|anywhere|someone|somebody|something)\b")
_YOU = re.compile(r"\byour?(?:self)?\b")


def question_form(clause: Sentence) -> str | None:
    """Classify a clause as "open", "closed", "declarative" (statement with "?") or None."""
    core = clause.core
    if not core:
        return None
    if _OPEN_REQUEST.match(core):
        return "open"
    interrogative = bool(_WH_AUX.match(core)) or bool(_AUX_START.match(core))
    if not clause.question and not interrogative:
        return None
    if _WH.match(core):
        return "closed" if _FACT_WH.match(core) else "open"
    if _AUX_START.match(core) or _ASK.match(core):
        return "closed"
    # Statements with a question mark: a check or an elliptical yes/no question is closed,
    # anything longer is a statement with rising intonation (usually a reflection).
    tag = TAG.search(core)
    if tag and len(core[: tag.start()].split()) < 2:
        return "closed"  # a bare check: "Right?", "Is that right?"
    if tag:
        return "declarative"  # a statement with a tag: "very appealing, isn't it?"
    if _INDEFINITE.match(core):
        return "closed"  # "Anything else?", "Any other family nearby?"
    if _ELLIPTICAL.match(core) and len(clause.words) <= 5:
        return "closed"
    if len(clause.words) <= 2 or not (
        FINITE.search(core) or (len(clause.words) >= 4 and _YOU.search(core))
    ):
        return "closed"  # a fragment ("For your family?", "Here in town?") asks
    return "declarative"


def is_tag_only(clause: Sentence) -> bool:
    """True for a bare check like "Is that right?" or "Right?" that follows a statement."""
    return bool(TAG.fullmatch(clause.core) or TAG.fullmatch(" " + clause.core)) and \
        len(clause.words) <= 6
