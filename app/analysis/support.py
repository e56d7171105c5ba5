"""Supportive and informing moves: affirmation, validation, summary stems and information."""

from __future__ import annotations

import re

from app.analysis.sentences import Sentence

_STRENGTHS = (
    r"(?:courage|courageous|brave|bravery|strength|strong|resilient|resilience|resourceful|"
    r"determined|determination|committed|commitment|dedicated|dedication|honest|honesty|"
    r"insightful|insight|thoughtful|caring|generous|persistent|persistence|perseverance|"
    r"patient|wise|capable|creative|hard-working|hardworking|loyal|loving|devoted|"
    r"self-aware|self-awareness|effort|guts)"
)
_AFFIRMATION = re.compile(
    r"\b(?:it|that|this) (?:took|takes|must have taken|shows|showed|says a lot about|speaks to)\b"
    r"[^.?!]*\b" + _STRENGTHS + r"\b"
    r"|\b(?:you(?:'re| are| were|'ve been| have been)|you seem|you sound) (?:\w+ )?(?:really |so |"
    r"very |clearly |incredibly |obviously )?(?:a )?(?:" + _STRENGTHS[3:-1] + r")\b"
    r"(?! to (?:a|the) (?:point|fault))"
    r"|\byour (?:courage|strength|resilience|determination|commitment|dedication|honesty|insight|"
    r"persistence|perseverance|effort|efforts|self-awareness|bravery|openness|willingness)\b"
    r"(?! (?:is|was|has been) (?:gone|missing|running out|low))"
    r"|\b(?:well done|good for you|congratulations|bravo|kudos|nice work|great work|good job|"
    r"great job|fair play)\b"
    r"|\byou should be (?:really |very |so )?proud\b|\bi(?:'m| am) (?:really |so |very )?"
    r"(?:proud of you|impressed|struck by (?:how|your))\b|\bi (?:really )?(?:admire|respect) "
    r"(?:you|your|how|that you)\b"
    r"|\bthank you for (?:being (?:so )?(?:honest|open)|sharing|telling me|trusting me|your "
    r"honesty|coming|opening up|talking)\b"
    r"|\b(?:that's|that is|it's|this is) (?:a |such a )?(?:really |very )?(?:huge|big|great|real|"
    r"important|brilliant|fantastic|significant|massive|positive) (?:step|achievement|"
    r"accomplishment|change|improvement|progress|milestone|effort|insight|thing to (?:notice|do))\b"
    r"|\byou(?:'ve| have) (?:really |clearly |already |obviously )?(?:done|made|managed|achieved|"
    r"worked|shown|come|kept|stuck|tried|thought|put|given|taken|survived|got through|handled)"
    r"\b[^.?!]*\b(?:so much|a lot(?! of)|hard|well|great|amazing|real|huge|big|progress|"
    r"effort|step|a good job|incredibly|really well|far|brilliantly|everything you can|"
    r"your best)\b"
    r"|\byou (?:clearly |really |obviously |genuinely )(?:care|love|want the best|value)\b"
    r"|\bit's clear (?:that )?you (?:care|love|want|value|really)\b"
    r"|\byou(?:'re| are) (?:doing|trying) (?:your best|everything you can|really well|so well|"
    r"a great job|the best you can)\b"
)
_VALIDATION = re.compile(
    r"\b(?:that|it|this) makes (?:a lot of |complete |total |perfect |so much |real )?sense\b"
    r"|\bmakes (?:a lot of |complete |total |perfect )?sense (?:that|you|why|given)\b"
    r"|\b(?:it's|that's|it is|that is|that would be|it would be|it'd be) (?:completely |totally |"
    r"perfectly |entirely |so |very |really )?(?:understandable|natural|normal|human|"
    r"okay|ok|fine|alright|valid|reasonable|no surprise|not surprising|hardly surprising) "
    r"(?:to (?:feel|be|want|cry|not|worry|get|have|struggle|need|miss)|that you|you'd|you would|"
    r"given|after|with|when|in your|for you to feel)"
    r"|\b(?:anyone|anybody|most people|many people|lots of people|who) (?:would|wouldn't|"
    r"might|could) (?:feel|be|find|struggle|react|want|get)\b"
    r"|\bno wonder (?:you|it|that)\b|\bof course you(?:'re| are| feel| would| did| do|'d)\b"
    r"|\byour (?:feelings|reaction|anger|sadness|fear|worry|response) (?:is|are|seems?|makes) "
    r"(?:valid|understandable|completely|totally|natural|normal|sense)\b"
    r"|\bi can (?:see|understand|totally see|really see) why (?:you|that|it|this|anyone)\b"
    r"|\bwho wouldn't\b|\bi(?:'d| would) (?:feel|be) (?:the same|exactly the same|that way)"
    r"|\bthat would be (?:hard|difficult|tough|upsetting|scary|frightening|painful) for anyone\b"
    r"|\bit's (?:okay|ok|alright|fine) (?:to|that you|if you) (?:feel|be|not|cry|take|want|miss)\b"
    r"|\byou(?:'re| are) (?:not|never) (?:alone|the only one|weak|stupid|crazy|a burden|"
    r"being silly|overreacting|wrong to)\b|\bthere's nothing wrong with (?:feeling|you|being)\b"
    r"|\bit sounds (?:completely |totally |very |really )?(?:understandable|natural|normal)\b"
    r"|\byou (?:shouldn't|should not) (?:have to|need to) (?:deal|cope|go through|put up|carry|"
    r"face|manage|handle|feel)\b"
)
_SUMMARY = re.compile(
    r"\blet me (?:just )?(?:check|see if|make sure|try to|try and|pull|put|bring|sum|summari[sz]e|"
    r"recap|go over|reflect back what)\b[^.?!]*\b(?:got|understand|understood|together|right|"
    r"heard|up|so far|said)\b"
    r"|\b(?:to sum up|to summari[sz]e|in summary|summing up|so to recap|to recap|let me recap|"
    r"if i could (?:just )?(?:summari[sz]e|pull|sum))\b"
    r"|\b(?:so far|today) (?:you've|you have|we've|we have) (?:talked|said|told|mentioned|"
    r"covered|discussed)\b"
    r"|\b(?:you've|you have) (?:told|said|mentioned|talked about|described)\b[^.?!]*\band\b"
    r"[^.?!]*\b(?:and|also|as well)\b"
    r"|\b(?:let me see if i've|have i got (?:that|this|it) right|what i(?:'ve| have) heard "
    r"(?:so far|today|is))\b"
)
# Facts about the world or the service, stated generally rather than about this client.
_INFORMATION = re.compile(
    r"\b(?:research|studies|evidence|statistics|the data|surveys|experts|guidelines|doctors|"
    r"the nhs|scientists|trials)\b(?: \w+){0,3} (?:show|shows|suggest|suggests|says?|found|finds|"
    r"recommend|recommends|tell us|indicate|is clear)\b"
    r"|\b(?:it's|it is) (?:very |really |quite |pretty |actually |fairly )?(?:common|normal|usual|"
    r"typical|rare|unusual) (?:for|to|when|after|in|among)\b"
    r"|\b(?:is|are) (?:very |really |quite |pretty |actually |fairly )?(?:common|normal|typical|"
    r"rare) (?:when|after|in|among|for|with|during)\b"
    r"|\b(?:many|most|some|lots of|a lot of|a third of|half of|one in \w+) (?:people|adults|"
    r"students|parents|women|men|smokers|drinkers|teenagers|young people|clients|patients)\b"
    r"(?! (?:find|have found|say|tell me|try))"
    r"|\bpeople (?:who|with|often|tend|usually|sometimes|generally|commonly)\b"
    r"|\b(?:the )?(?:recommended|safe|weekly|daily) (?:limit|amount|dose|guideline|allowance)\b"
    r"|\b\d+ (?:units?|percent|per ?cent|mg|milligrams|hours|minutes|weeks|days|sessions|drinks)\b"
    r"|\b(?:is|are) (?:linked|associated|connected) (?:to|with)\b|\brisk of\b|\bside effects?\b"
    r"|\b(?:can|may|will|'ll|could|might|(?:is|are|'s|'re) going to|tends? to|often|usually) "
    r"(?:\w+ly )?(?:cause|lead to|increase|reduce|affect|"
    r"trigger|worsen|disrupt|interfere with|make it harder|raise|lower|damage|help with)\b"
    r"|\b(?:our|the|these|each|your) (?:sessions?|appointments?) (?:are|is|last|run|will be)\b"
    r"|\bsessions (?:last|are|run)\b|\b(?:we have|we've got) (?:about |around )?(?:\d+|fifty|"
    r"an hour|half an hour|twenty|thirty|forty)\b"
    r"|\b(?:the|this) (?:service|clinic|programme|program|group|course|medication|medicine|"
    r"treatment|therapy|app|website|leaflet|referral|waiting list) (?:is|can|will|helps|works|"
    r"has|offers|runs|involves|takes)\b"
    r"|\b(?:alcohol|nicotine|caffeine|cannabis|exercise|sleep|smoking|drinking|stress|anxiety|"
    r"depression|grief|trauma|panic attacks?|withdrawal|insomnia|diabetes|blood pressure)"
    r" (?:is|are|can|affects?|causes?|has|tends|often|usually|increases|reduces|makes|works|"
    r"comes|shows)\b"
    r"|\bi(?:'d| would) (?:like|love) to (?:set up|book|refer|arrange|give you|share|tell you|"
    r"explain|go over|go through|talk (?:to you )?about|let you know)\b"
    r"|\b(?:there's|there is) something (?:else )?(?:i(?:'d| would)? )?(?:want|wanna|like|need) to "
    r"(?:share|tell|mention|explain)\b|\bi want you to know\b"
    r"|\b(?:my|our) (?:role|job|aim) (?:here )?is to\b|\bthe recommendations? (?:for|is|are)\b"
    r"|\b(?:it|this|that)(?:'s| is) (?:really |very |so )?(?:essential|crucial|vital) (?:for|to|"
    r"that)\b"
    r"|\b(?:everything|what) you (?:say|tell me|share) (?:here )?(?:is|stays|will be|will stay)"
    r" (?:confidential|private)\b|\bis confidential\b"
)
_PERSONAL = re.compile(r"\b(?:i|i'm|i've|i'd|me|my)\b")


def is_affirmation(clause: Sentence) -> bool:
    """Recognises the client's strengths, efforts or values."""
    core = clause.core
    match = _AFFIRMATION.search(core)
    if not match:
        return False
    # "you feel like you're weak" or "you're not brave enough" are not affirmations.
    before = core[: match.start()]
    if re.search(r"(?:\bfeel\w*|\bthink|\bworr\w*|\bwish|\bnot|n't|\bnever|\blike|\bif|\bwhether)\b"
                 r"\W*(?:\w+\W+){0,2}$", before):
        return False
    return not re.search(r"\b(?:not|n't|never|no longer)\b", match.group(0))


def is_validation(clause: Sentence) -> bool:
    """Says the client's feeling or reaction makes sense."""
    core = clause.core
    match = _VALIDATION.search(core)
    if not match:
        return False
    return not re.search(
        r"\b(?:doesn't|does not|didn't|not sure|don't think|if)\W+(?:\w+\W+){0,2}$",
        core[: match.start()],
    )


def is_summary_stem(clause: Sentence) -> bool:
    """Opens or frames a summary ("Let me check I've got this...")."""
    return bool(_SUMMARY.search(clause.core))


def is_information(clause: Sentence) -> bool:
    """States general facts about the problem, its treatment or the service."""
    return bool(_INFORMATION.search(clause.core))


def is_personal(clause: Sentence) -> bool:
    """Spoken in the first person singular."""
    return bool(_PERSONAL.search(clause.core))
