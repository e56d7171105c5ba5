"""Professional boundaries: crossing, holding, and the counsellor's own self-disclosure."""

from __future__ import annotations

import re

from app.analysis.sentences import Sentence

_MEET = r"(?:coffee|a coffee|a drink|drinks|a beer|a pint|lunch|dinner|a meal|a bite|brunch)"
_CROSSING = re.compile(
    # personal contact details
    r"\b(?:here's|here is|this is|take|i'll give you|let me give you|i can give you|i'll send you|"
    r"i'll text you|i'll write down) my (?:personal |private |home |mobile |cell |own )?"
    r"(?:number|phone number|mobile|email|address|whatsapp|details)\b"
    r"|\bmy (?:personal |private |home |mobile |cell |own )(?:number|email|address|mobile)\b"
    r"|\bmy (?:mobile|cell|home) (?:number )?is\b"
    r"|\b(?:text|call|ring|message|whatsapp|email|dm) me (?:any ?time|whenever|at home|"
    r"day or night|on my (?:personal|own|mobile|cell)|at the weekend|on weekends|after hours)\b"
    # social media and friendship
    r"|\b(?:add|friend|follow) me (?:on|at)\b|\bi(?:'ll| will| can) (?:add|friend|follow) you\b"
    r"|\b(?:we can|we could|we should|let's|we'll|happy to|i'd love to|i would love to) "
    r"(?:be friends|stay friends|become friends|(?:grab|get|have|go for|go out for) (?:a |some )?"
    + _MEET + r"|meet up|hang out|catch up (?:outside|sometime|properly|after)|go out|"
    r"keep in touch (?:outside|after|privately))\b"
    r"|\b(?:i think of you as|you're like|you are like|you've become) (?:a|my) "
    r"(?:friend|daughter|son|sister|brother|family)\b|\bi love you\b"
    # secrecy promises that breach duty of care
    r"|\bi (?:won't|will not|will never|'ll never|promise (?:not to|i won't|i'll never|"
    r"i will never)"
    r") (?:ever )?tell (?:anyone|anybody|a soul|a single person)\b"
    r"|\b(?:stays?|will stay|remains?|is|'s) (?:just )?between (?:us|you and me|the two of us)"
    r"(?:,)? (?:no matter what|whatever happens|always|forever|i promise)\b"
    r"|\bwhatever you (?:say|tell me|share)[^.?!]*\b(?:no matter what|never leaves? this room|"
    r"stays? (?:here|between us|with me))\b"
    r"|\b(?:your secret|it|this|that)(?:'s| is) safe with me\b"
    r"|\bi(?:'ll| will) (?:keep (?:it|this|that|your secret) (?:a )?secret|take (?:it|this|that) "
    r"to (?:my|the) grave)\b|\bi (?:promise|swear) (?:it|this|that)(?:'ll| will) stay\b"
    # favours, money, home visits, gifts
    r"|\b(?:i(?:'ll| will| can| could)|let me) (?:lend|give) you (?:some )?(?:money|cash|a lift|"
    r"a ride|a loan)\b|\b(?:you can|you could|why don't you) (?:come|stay) (?:round |over )?"
    r"(?:to |at )?my (?:place|house|flat|home)\b|\bcome (?:round|over) to my\b"
    r"|\bi(?:'d| would) (?:love|be happy|be glad) to (?:come|meet|go|accept|be your friend)\b"
    r"|\b(?:see you|i'll be) (?:at|on) (?:the|your) (?:party|wedding|weekend|match|gig)\b"
)
_EXCEPTION = re.compile(
    r"\b(?:except|unless|apart from|other than|the only (?:time|exception)|limits?|but if|"
    r"if i(?:'m| am| was| were|'d be)? (?:worried|concerned)|(?:your|someone|anyone)(?:'s|"
    r" else's)? "
    r"(?:safety|at risk|in danger)|safeguarding|duty of care|have to (?:share|tell|pass)|"
    r"need to (?:share|tell|pass|let))\b"
)
_HOLDING = re.compile(
    r"\bi(?:'m| am)? (?:can't|cannot|won't be able to|wouldn't be able to|am not able to|"
    r"'m not able "
    r"to|not able to|'m unable to|am unable to|'m not allowed to|am not allowed to|don't|do not|"
    r"won't) (?:really |actually )?(?:meet|see you|be (?:your )?friends?|accept|take (?:gifts|"
    r"presents|it|this|that)|give (?:you |out )?my|keep (?:that|this|it|secrets?|something like "
    r"that)|promise (?:that|to keep|not to tell|i won't|to)|add|connect|follow|have (?:contact|"
    r"coffee|a drink)|share my|socialis|socializ|go for|come to|be in touch)"
    r"|\b(?:it|that|this) (?:wouldn't|would not|isn't|is not|won't) (?:be )?(?:appropriate|"
    r"possible|right|fair on you|something i can)\b|\bnot something i (?:can|could|'m able to)\b"
    r"|\b(?:our|this|the) (?:relationship|work|contact) (?:needs|has|is meant|is going) to "
    r"(?:stay|remain|be|happen)\b"
    r"|\b(?:keep|keeping) (?:our|the|this) (?:relationship|work|contact|time together|"
    r"conversations|sessions) (?:professional|(?:to|in|within) (?:our|these|the) (?:sessions|"
    r"room))\b"
    r"|\b(?:outside|beyond) (?:of )?(?:our|these|the|this) (?:sessions?|room|appointments?|"
    r"work|hour|space)\b|\bprofessional (?:relationship|boundar\w*|role|frame|code|ethics)\b"
    # "Boundaries" of the work, not the client's own ("he's testing the boundary", "the
    # boundaries thing with your dad" are about the client's life).
    r"|\b(?:my|our|professional|work|these|those) boundar\w*|\bboundar\w* (?:of|in|around|for) "
    r"(?:our|this|my|the|these) (?:work|role|sessions?|relationship|room)\b"
    r"|\bboundar\w* (?:i|we) (?:keep|hold|have|need|set|stick)\b"
    r"|\bcode of (?:ethics|conduct)\b"
    r"|\bi (?:might|may|would|will|'d|'ll) (?:need|have) to (?:share|tell|pass|let|speak|talk to|"
    r"break confidentiality|involve)\b|\bi can't promise\b"
    r"|\b(?:i'm going to|i have to|i need to|i'll have to) (?:say no|decline|turn (?:that|"
    r"it) down)\b"
    r"|\b(?:keep|bring|put) (?:the|our) focus (?:on|back (?:on|to)) you\b"
    r"|\bthis (?:time|space|hour|session|room) is (?:for|about) you\b"
)
# Acceptance at the head of a reply to a request ("Sure!", "I'd love to", "Yeah why not").
_ACCEPT = re.compile(
    r"^(?:oh,? |aw,? |ah,? )?(?:yes|yeah|yep|yup|sure|of course|absolutely|definitely|ok|okay|"
    r"alright|all right|i'd love to|i would love to|i'd like that|i'd love that|that would be "
    r"(?:great|lovely|nice|fun|wonderful)|that'd be (?:great|lovely|nice|fun)|sounds (?:good|great|"
    r"lovely|fun|like a plan)|why not|deal|i promise|i won't tell|of course i won't|"
    r"thank you so much|thanks so much|that's (?:so )?(?:kind|sweet|lovely)|how (?:kind|lovely|"
    r"sweet)|let's do it|let's|count me in|i'm in|no problem|happy to|go on then)\b"
)
_DECLINE = re.compile(
    r"\b(?:can't|cannot|won't be able|not able|unable|not allowed|wouldn't be appropriate|"
    r"not appropriate|isn't appropriate|have to say no|need to say no|going to say no|decline|"
    r"outside (?:of )?(?:our|these|the) sessions?|boundar\w*|professional|not something i|"
    r"i'm not going to|i won't be|i don't think (?:i can|that's|it's|it would)|unfortunately|"
    r"confidential\w*|except|unless|i'd need to|i would need to|i might need to|i'll need to|"
    r"i don't (?:give|share|meet|do that|see clients|connect|accept))\b"
)

_DISCLOSURE = re.compile(
    r"\bmy (?:own )?(?:mum|mom|mother|dad|father|husband|wife|partner|boyfriend|girlfriend|son|"
    r"daughter|kids|children|brother|sister|family|ex|grandmother|grandfather|nan|gran|grandma|"
    r"granny|grandad|grandpa|dog|cat|marriage|divorce|childhood|parents|best friend|"
    r"own experience|own therapy|own therapist|own counsellor|own anxiety|own depression|"
    r"own drinking|own story|teenage years|twenties|miscarriage|cancer|diagnosis)\b"
    r"|\bi(?:'ve| have) (?:been|gone) through (?:a |an |something|the same|this|that|similar|it|"
    r"exactly|my own)\b|\bi went through (?:a |an |something|the same|this|that|similar|it|"
    r"exactly|my own)\b"
    r"|\bi (?:also |too |myself |once )?(?:had|have had|struggled|suffered|lost|battled|dealt|"
    r"experienced|fought|used to (?:drink|smoke|use|struggle|feel|get|have|self-harm|cut|be))"
    r" (?:with )?(?:a |an |my |the |anxiety|depression|panic|grief|addiction|similar|the same|"
    r"something similar|it too|that too|this too|it myself|that myself|it as well)"
    r"|\b(?:when|after|before|since) i (?:was (?:a |your age|young|at (?:school|uni|college)|"
    r"going|pregnant|divorced|married|grieving|depressed|struggling|little|in my)|lost|had my|"
    r"went through|got (?:divorced|married|sober|clean|pregnant)|split|divorced|left my|"
    r"quit|stopped drinking|stopped smoking|got sober)\b"
    r"|\bme too\b|\bsame (?:here|with me)\b|\bi(?:'ve| have) been there\b|\bi remember when i\b"
    r"|\bin my (?:own )?(?:family|personal life|personal experience|twenties)\b"
    r"|\bpersonally,? i (?:have|had|went|used|struggled|lost|found)\b"
    r"|\bi(?:'m| am) (?:also |a )?(?:a )?(?:mum|mom|dad|parent|single parent|recovering|"
    r"divorced|widowed|in recovery)\b|\bi have (?:a |two |three |four )?(?:kids|children|son|"
    r"daughter|sons|daughters|teenagers)\b|\bmyself\b(?=[^.?!]*\b(?:too|as well|also)\b)"
    r"|\bi (?:did|went through|had) (?:the )?(?:same|exactly that|something similar)\b"
)
_PROFESSIONAL = re.compile(
    r"\bmy (?:experience|work) (?:with|working|as a)|in my (?:experience|work) (?:with|working|"
    r"as)|my (?:colleague|supervisor|manager|notes|job|role|practice|training)\b"
)
# Disclosure that turns the session toward the counsellor's own current troubles.
_SLIP = re.compile(
    r"\bi(?:'m| am) (?:currently |still |also )?(?:going through|struggling|dealing with|"
    r"not coping|"
    r"so (?:depressed|stressed|lonely|tired|miserable)|on (?:antidepressants|medication))\b"
    r"|\bmy (?:marriage|relationship|partner|husband|wife) (?:is|has been) (?:falling|ending|over|"
    r"in trouble|a mess|awful|driving me)\b"
    r"|\bi(?:'ve| have) been (?:so |really )?(?:depressed|struggling|drinking|lonely|miserable|"
    r"suicidal|crying)\b|\bcan i tell you something\b|\byou're the only one i can\b"
    r"|\bdon't tell anyone,? but i\b|\blet me tell you (?:about )?(?:my|when i|"
    r"what happened to me)\b"
    r"|\bi (?:still )?(?:can't|cannot) (?:sleep|stop crying|cope|get over)\b"
)


_REFUSAL = re.compile(r"\b(?:can't|cannot|won't|don't|do not|not able|unable|not allowed)\b")


def crosses_boundary(clause: Sentence) -> bool:
    """Proposes or agrees to a dual relationship, outside contact, favours or blanket secrecy."""
    core = clause.core
    match = _CROSSING.search(core)
    # A refusal before the offer ("I don't give out my personal number") holds the boundary;
    # the "won't" inside "I won't tell anyone" is the offer itself.
    return bool(match) and not _EXCEPTION.search(core) and \
        not _REFUSAL.search(core[: match.start()])


_CONFIDENTIAL = re.compile(r"\b(?:confidential\w*|private|between (?:us|you and me)|stays? here)\b")


def holds_boundary(clause: Sentence) -> bool:
    """Declines kindly or explains the professional frame and the limits of confidentiality."""
    core = clause.core
    # Confidentiality explained together with its limits holds the frame honestly.
    if _CONFIDENTIAL.search(core) and _EXCEPTION.search(core):
        return True
    if not _HOLDING.search(core):
        return False
    # Bare mentions ("boundaries" in a reflection about the client's family) need a frame:
    # first person, our sessions, or confidentiality.
    return bool(re.search(r"\b(?:i|i'm|i'd|i'll|we|our|us|me|this|confidential\w*)\b", core))


def accepts_invitation(clause: Sentence) -> bool:
    """Agrees, at the head of the reply, to whatever was asked ("Sure!", "I'd love to")."""
    return bool(_ACCEPT.search(clause.norm))


def declines(turn_norm: str) -> bool:
    """The reply contains a refusal or a statement of the professional frame."""
    return bool(_DECLINE.search(turn_norm))


# A plain answer to a personal question: "Yes, two boys.", "No, I'm not.", "I have, yeah."
_ANSWER = re.compile(
    r"^(?:yes|yeah|yep|yup|no|nope|nah|i do|i have|i am|i did|i don't|i haven't|i'm not|"
    r"i didn't|i was|i wasn't|actually,? i|of course i|sometimes|once or twice|not really)\b"
)
_DEFLECT = re.compile(
    r"\b(?:i wonder|i'm wondering|what makes you ask|what (?:would|might) it mean|i'm curious|"
    r"i'd rather|keep the focus|focus on you|about you|for you|what's it like|what is it like)\b"
)


def answers_personal_question(clause: Sentence, turn_norm: str) -> bool:
    """Answers the client's question about the counsellor's own life instead of exploring it."""
    return bool(_ANSWER.search(clause.norm)) and not _DEFLECT.search(turn_norm) and \
        not _DECLINE.search(turn_norm)


_FIRST_PERSON = re.compile(
    r"^same\b|\b(?:i|me|my|mine|myself|i'm|i've|i'd|i'll|same here|been there|"
    r"know (?:exactly |just )?(?:how|what) (?:that|it|this)|know the feeling)\b"
)
# The counsellor's "I" at work in the session ("I think", "let me", "I'll write it down",
# "my sense is"), which says nothing about their own life.
_SESSION_SELF = re.compile(
    r"\bi(?:'m| am)? (?:not )?(?:just |really |actually )?(?:think|thought|guess|bet|mean|"
    r"know(?! (?:exactly |just )?(?:how|what) (?:that|it|this)| the feeling)|wonder|wondering|"
    r"suppose|reckon|imagine|hear|hearing|heard|see|understand|believe|notice|"
    r"noticed|noticing|get|got|sense|feel like|want(?:ed)?|need to|have to|can|could|will|"
    r"would|can't|won't|couldn't|wouldn't|appreciate|sure|not sure|curious|glad|sorry|"
    r"going to|gonna|trying|not trying|here|asking|saying|getting|checking|hoping|worried|"
    r"concerned|struck|aware)\b"
    r"|\bi'(?:ll|d)\b|\b(?:tell|let|help|give|show|remind|ask|with|for|to|hear|thank|correct) "
    r"me\b|\b(?:in )?my experience\b|\bmy (?:guess|sense|hunch|understanding|question|job|"
    r"role|work|colleague|supervisor|notes|concern|worry|impression|hope|thought|thinking|suggestion|advice)\b"
)


def speaks_of_self(clause: Sentence) -> bool:
    """Uses the first person for more than the counsellor's work in the session."""
    return bool(_FIRST_PERSON.search(_SESSION_SELF.sub(" ", clause.core)))


def is_self_disclosure(clause: Sentence) -> bool:
    """The counsellor talks about their own life or experience."""
    core = clause.core
    return bool(_DISCLOSURE.search(core)) and not _PROFESSIONAL.search(core)


def disclosure_is_slip(disclosures: list[Sentence]) -> bool:
    """Self-disclosure that takes over the session or leans on the client (a boundary slip)."""
    if not disclosures:
        return False
    words = sum(len(c.words) for c in disclosures)
    return len(disclosures) >= 3 or words >= 45 or any(_SLIP.search(c.core) for c in disclosures)


def is_slip_statement(clause: Sentence) -> bool:
    """A first-person statement of the counsellor's own current troubles."""
    return bool(_SLIP.search(clause.core))
