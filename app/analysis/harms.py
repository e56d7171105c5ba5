"""Harmful moves: judgement, minimising and false reassurance (precision matters here)."""

from __future__ import annotations

import re

from app.analysis.sentences import Sentence
from app.analysis.vocabulary import (
    JUDGEMENT_ADJECTIVES,
    JUDGEMENT_NOUNS,
    PERSON_ADJECTIVES,
    alternation,
)

_ADJ = alternation(JUDGEMENT_ADJECTIVES)
_PERSON_ADJ = alternation(PERSON_ADJECTIVES)
_NOUN = alternation(JUDGEMENT_NOUNS)
# An adjective followed by these evaluates a situation or a third party, often on the
# client's side ("that's ridiculous that they...", "selfish of him", "unreasonable to expect").
_NOT_ABOUT_CLIENT = r"(?!\s+(?:of (?:them|him|her|anyone|people)|to (?:you|expect|ask|put)|" \
    r"for you|" \
    r"that|how|when|the way|what (?:he|she|they)))"
_DEGREE = r"(?:(?:a bit|a little|pretty|really|quite|so|very|kind of|sort of|rather|totally|" \
    r"completely|just|frankly|honestly|incredibly|extremely|bloody|fairly|being|a|an|too)\s+)*"

# Evaluation predicated of the client or what they did: "that was selfish", "you're lazy",
# "drinking that much is irresponsible".
_PREDICATED = re.compile(
    r"\b(?:is|was|'s|are|'re|were|be|being|sounds|seems|seem|looks)\s+" + _DEGREE + _ADJ
    + r"\b" + _NOT_ABOUT_CLIENT
    + r"|\b(?:you're|you are|you were|you've been|you being)\s+" + _DEGREE + _PERSON_ADJ
    + r"\b|\b" + _PERSON_ADJ + r" of you\b|\byou were wrong\b"
)
_ATTRIBUTIVE = re.compile(
    r"\b(?:such an?|what an?|a (?:pretty|really|very|bit)?\s*)\s*" + _ADJ
    + r"\s+(?:thing|move|decision|choice|idea|way|person|thing to do|attitude|excuse)\b"
    r"|\b(?:you're|you are|you're being|you're acting like|you're behaving like)\s+(?:such\s+)?"
    r"an?\s+(?:(?:real|total|complete|big|little)\s+)?" + _NOUN + r"\b"
)
_JUDGING_VERB = re.compile(
    r"\byou(?:'re| are| were|'ve been)\s+(?:just\s+|really\s+|being\s+|totally\s+|clearly\s+)*"
    r"(?:overreact\w*|overthink\w*|exaggerat\w*|making (?:a fuss|excuses|a big deal|"
    r"a mountain|this about you|it up)|blowing (?:this|it|things) (?:up|out of proportion)|"
    r"being (?:too )?sensitive|too sensitive|too emotional|to blame|in the wrong|"
    r"wallowing|feeling sorry for yourself|playing the victim|looking for attention)"
    r"|\b(?:it's|that's|it is|that is|this is) (?:all |entirely |completely )?(?:your (?:own )?"
    r"fault|on you|your own doing|your responsibility)\b"
    r"|\byou (?:only have yourself to blame|brought (?:this|it|that) on yourself|asked for it|"
    r"should(?:'ve| have) known better|should be ashamed|ought to be ashamed|made your bed|"
    r"had it coming|deserved? (?:it|that|this))"
    r"|^(?:just |you need to |you have to )?get a grip\b"
    r"|\b(?:what were you thinking|shame on you|how could you|grow up|"
    r"pull yourself together|man up|toughen up|that's no excuse|that is no excuse|"
    r"there's no excuse|no excuse for|(?:that's|that is|that was) not (?:ok|okay|on|acceptable)|"
    r"(?:that's|that was|it was) (?:a )?(?:bad|terrible|poor|awful|stupid|dumb) (?:idea|decision|"
    r"choice|move|thing to do)|you (?:clearly )?don't (?:care|try|listen|think)|"
    r"(?:you|people like you) never (?:learn|listen|think))\b"
    r"|\bwhat's wrong with you\b|\byou(?:'ve| have)? got it (?:all )?wrong\b"
)
# Accusatory "why" questions put the client on trial; curious ones ("why do you think...")
# explore. The accusatory forms reproach an act or an omission.
_ACCUSING_WHY = re.compile(
    r"^why (?:on earth |the hell |in the world )?(?:would|did|do|are|were|can't|couldn't|"
    r"didn't|haven't|won't) (?:you|anyone|anybody)\b"
    r"(?:(?!\bthink\b|\bfeel\b|\bsuppose\b|\bimagine\b|\bguess\b|\bdecide\b).)*"
    r"(?:\b(?:even|ever|just|always|keep|let|bother|again|still|still be|put up)\b|"
    r"\b(?:do|say|go|drink|take|say) (?:that|this|it|something like that)\b|"
    r"\b(?:that|this)\s*\??$)"
    r"|^why (?:on earth|the hell|in the world) (?:\w+ )?(?:you|anyone|anybody)\b"
    r"|^why (?:can't|couldn't|didn't|won't) you (?:just )?(?:see|understand|get|"
    r"accept|admit|realise|realize|listen|stop)\b"
)
# Self-judgement the client voiced, reported back: "you feel selfish", "you're worried
# you were stupid". Reporting is reflection, not judgement.
_REPORTED = re.compile(
    r"\b(?:feel|feels|felt|feeling|think|thinks|thought|worr\w*|afraid|scared|fear\w*|"
    r"believe|said|say|says|saying|told|tell|call\w*|know|knows|knew|wonder\w*|ashamed|guilty|"
    r"blame\w*|"
    r"tell yourself|telling yourself|voice|criticis\w*|judg\w*|accus\w*|like you're|"
    r"like you were|as if|as though|see yourself|describe\w*|label\w*|mean|meant|"
    r"that's how|others|people (?:might|may|would|will|think)|someone|somebody|"
    r"he|she|they|him|her|them|his|their|nobody|no one)\b"
)
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bno|\bhardly|\bnothing)\W+(?:\w+\W+){0,3}$")


_HEDGED_APPEARANCE = re.compile(r"\b(?:can|could|may|might|would)\b(?:\s+\w+){0,3}\s+"
                                r"(?:seem|seems|look|looks|sound|sounds)\b")


def _judged(match: re.Match[str], core: str) -> bool:
    if _REPORTED.search(core[: match.start()]):
        return False
    # "it can seem silly" grants how something looks; it does not judge the client.
    if _HEDGED_APPEARANCE.search(core[: match.end()]):
        return False
    # Negation just before the adjective ("that wasn't selfish", "you're not being silly").
    head = core[: match.end() - len(match.group(0).split()[-1])]
    return not _NEGATED.search(head)


def is_judgement(clause: Sentence) -> bool:
    """Evaluates, blames or moralises about the client or their actions."""
    core = clause.core
    if not core:
        return False
    if _ACCUSING_WHY.search(core):
        return True
    for pattern in (_PREDICATED, _ATTRIBUTIVE):
        for match in pattern.finditer(core):
            if _judged(match, core):
                return True
    match = _JUDGING_VERB.search(core)
    return bool(match and not _REPORTED.search(core[: match.start()])
                and not re.search(r"\b(?:not|never)\s+(?:\w+\s+)?$", core[: match.start()]))


_MINIMISING = re.compile(
    r"\b(?:it's|it is|that's|that is|this is|things are|it was|that was|it isn't|that isn't|"
    r"it's really|it isn't really)\s+(?:really\s+)?not\s+(?:that|so|all that|as|too)\s+"
    r"(?:bad|serious|big|terrible|awful|hard|important|scary|major)\b"
    r"|\b(?:it's|it is|that's|that is|this is|it isn't|that isn't|it was)\s+(?:not\s+)?"
    r"(?:such\s+)?(?:a|no)\s+(?:big|huge)\s+deal\b|\bno big deal\b|\bnot (?:a|such a) big deal\b"
    r"|\bnot the end of the world\b|\bcould (?:always )?(?:be|have been) (?:a lot |much |"
    r"far )?worse\b"
    r"|\b(?:lots|plenty|loads|many|most|other|some)(?: of)? (?:people|folks|others|kids|"
    r"families)\b[^.?!]*\b(?:worse|harder|less)\b|\bothers have it worse\b"
    r"|\bworse things (?:happen|could happen)\b|\bthink (?:of|about) (?:all )?(?:the|those) "
    r"(?:people|kids|children|families) who\b"
    r"|(?:^|, |; )at least (?:you|you're|you've|you'll|it's|it was|it wasn't|he|she|they|"
    r"there's|that's|your|nobody|no one|no-one)\b"
    r"|\b(?:it's|it is|that's|that is|he's|she's|they're|you're|it was|that was)\s+"
    r"(?:only|just)\s+(?:a|an|one|some|the)?\s*(?:little\s+|small\s+|silly\s+)?"
    r"(?:phase|job|exam|test|game|bad day|bad week|bad patch|blip|hiccup|setback|grade|mark|"
    r"number|stage|break-?up|relationship|argument|row|fight|pet|dog|cat|house|car|joke|"
    r"mistake|night|hormones|nerves|stress|teenager|kids? being kids|boys being boys|"
    r"money|school|work|words|a few drinks|thing|nothing|puppy love|crush|tiff|"
    r"teething|exams|tests)\b"
    r"|\byou're (?:just|only) (?:tired|stressed|overtired|hormonal|nervous|emotional|"
    r"overthinking|being (?:silly|sensitive))\b"
    r"|\b(?:it's|that's|it is|that is) (?:all )?(?:just )?in your head\b"
    r"|\b(?:everyone|everybody) (?:feels|gets|goes through|has|deals with|has to deal with)"
    r" (?:that|this|it|like that|like this|those|these|the same|stressed|nervous|down|sad|"
    r"anxious|bad days)\b|\b(?:it|this) happens to (?:everyone|everybody|all of us)\b"
    r"|\b(?:it's|that's) (?:nothing|normal teenage|all part of (?:life|growing up))\b"
    r"|\byou(?:'ll| will) (?:soon )?get over (?:it|him|her|them|this)\b"
    r"|\b(?:look on the bright side|cheer up|chin up|plenty more fish|first world problem|"
    r"you're (?:so )?lucky|you should be grateful|count your blessings|snap out of it)\b"
    r"|^(?:just |you (?:need|have|ought) to (?:just )?|you should (?:just )?)(?:let it go|move on|"
    r"shake it off|get over it|forget about it)\b"
    r"|\b(?:you'll|you will) (?:laugh|look back) (?:about|at|on) (?:this|it)\b"
    r"|\b(?:it's not like|it isn't like) (?:he|she|they|you|it|anyone)\b"
    r"|\bnothing to (?:worry|be (?:upset|worried|scared|sad|anxious)) about\b"
)
# Second-hand minimising the client reports ("my mum says it's just a phase") is not ours.
_REPORTED_SPEECH = re.compile(
    r"\b(?:says?|said|saying|told you|tells you|telling you|keeps? saying|thinks?|people say|"
    r"you(?:'ve| have) been told|you hear|you feel like|you worry|you're worried)\b"
)


def is_minimising(clause: Sentence) -> bool:
    """Shrinks the problem: "it's not that bad", "at least...", "it's only a job"."""
    match = _MINIMISING.search(clause.core)
    if not match:
        return False
    before = clause.core[: match.start()]
    return not _REPORTED_SPEECH.search(before) and not re.search(
        r"\b(?:if|whether|not that|doesn't mean|don't think it's|it's not that)\s*$", before
    )


_FUTURE = r"(?:\s+will|'ll|\s+is going to|'s going to|\s+are going to|'re going to|\s+is gonna|" \
    r"'s gonna|'re gonna|\s+are gonna|\s+gonna)\s+(?:all\s+)?(?:definitely\s+|surely\s+|" \
    r"totally\s+|soon\s+|probably\s+)?"
_GOOD_OUTCOME = (
    r"(?:be (?:just )?(?:fine|okay|ok|alright|all right|great|good|better|sorted|over soon)|"
    r"turn out (?:fine|okay|ok|alright|well|for the best)|work (?:itself |themselves )?out|"
    r"get better|improve|sort (?:itself|themselves) out|fall into place|settle down|"
    r"blow over|pass|come right|come good|come round|come around|come back)"
)
_REASSURANCE = re.compile(
    r"\b(?:don't|do not|try not to) (?:you )?worry\b|\bno need to (?:worry|be (?:scared|worried|"
    r"anxious|afraid))\b|\bnothing to worry about\b|\bstop worrying\b"
    r"|\b(?:everything|it|things|this|that|he|she|they|all of this|it all)" + _FUTURE
    + _GOOD_OUTCOME + r"\b"
    r"|\b(?:it|things|life|everything) (?:always )?(?:gets? better|works? out|passes)\b"
    r"|\byou" + _FUTURE + r"(?:be (?:just )?(?:fine|okay|ok|alright|all right|great)|"
    r"get through (?:this|it)|feel (?:better|fine|great)|get over (?:it|this)|"
    r"find (?:someone|somebody|a way|another)|figure (?:it|this) out|do (?:great|fine|"
    r"brilliantly|well)|pass|bounce back|sail through|make it|be back to (?:normal|yourself))\b"
    r"|\bi(?:'m| am) (?:sure|certain|positive|confident) (?:that )?(?:it|things|everything|you|"
    r"he|she|they|this|that)(?:'ll|'s going to|'re going to| will| would| can| is going to| are "
    r"going to| (?:really |still )?(?:loves?|cares?|didn't mean|meant|knows?|wants?))\b"
    r"|\bi promise (?:it|things|everything|you(?:'ll| will))\b|\btrust me\b"
    r"|\btime heals\b|\bthis too shall pass\b"
    r"|\b(?:there's|there is) no way (?:he|she|they|it|you)\b"
    r"|\byou(?:'ve| have) (?:got )?nothing to worry about\b"
    r"|^(?:please )?(?:don't|do not) (?:be (?:so )?hard on yourself|blame yourself|give up)\b"
)
# Hope that is offered as possibility, not promise, is not false reassurance.
_HEDGED = re.compile(r"\b(?:might|may|could|can|hope|hopefully|if|whether|wonder|not sure)\b")


def is_reassurance(clause: Sentence) -> bool:
    """Premature or false comfort: "everything will be fine", "don't worry"."""
    match = _REASSURANCE.search(clause.core)
    if not match:
        return False
    before = clause.core[: match.start()]
    if _REPORTED_SPEECH.search(before) or _HEDGED.search(before):
        return False
    return not re.search(r"\b(?:not|never|can't|cannot|won't)\s+(?:\w+\s+){0,2}$", before)
