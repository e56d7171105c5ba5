"""Reflections: is a statement a reflection of the client's experience, simple or complex?"""

from __future__ import annotations

import re

from app.analysis.advice import AUTONOMY
from app.analysis.context import Context
from app.analysis.questions import FINITE as _FINITE
from app.analysis.sentences import Sentence, content_stems, stem
from app.analysis.vocabulary import (
    DIFFICULTY,
    FEELINGS,
    HARMS,
    JUDGEMENT_ADJECTIVES,
    alternation,
)

_HARD = alternation(DIFFICULTY | FEELINGS)
_FEELING_STEMS = frozenset(stem(w) for w in FEELINGS | DIFFICULTY)

# Stems that introduce a reflection of the client's experience.
_STEM = re.compile(
    r"^(?:(?:it|that|this) )?(?:sounds|seems|feels|looks) (?:like|as if|as though|to me|that|"
    r"(?:really |so |very |pretty |quite |a bit |kind of )?\w+)"
    r"|^(?:you|your|yours|you've|you're|you'd|you'll)\b"
    r"|^(?:so )?(?:a )?(?:part|some part|a bit|a side) of you\b|\bon (?:the )?one hand\b"
    r"|\bon the other hand\b"
    r"|^(?:what )?i(?:'m| am) (?:hearing|sensing|getting|guessing|noticing|imagining|picking up|"
    r"struck by)\b"
    r"|^i (?:hear|sense|get (?:a|the) (?:sense|feeling|impression)|have (?:a|the) (?:sense|"
    r"feeling|impression)|imagine|guess|gather|notice|"
    r"can imagine|can only imagine|can see|can hear|can tell|get that|see that)\b"
    r"|^i(?:'m| am)? wonder(?:ing)? (?:if|whether)\b(?! you(?:'d| would| could| can| might|'ve|"
    r" have)"
    r"\b)|^my (?:sense|guess|hunch|impression) is\b"
    r"|^(?:it's|it is) (?:almost |kind of |sort of )?like\b|^(?:it|that|this) must (?:be|have|"
    r"feel)\b"
    r"|^must (?:be|have|feel)\b"
    r"|^(?:it|that|this|things|life|work|home|everything|it all)"
    r"(?:'s| is| has| have| was|'ve| feels| felt)(?: been)? (?:really |so |quite |pretty |a bit |"
    r"kind of |just |such |incredibly |very )*(?:a lot|a struggle|a strain|a battle|heavy|"
    + _HARD + r")\b"
    r"|^(?:no )?(?:wonder|matter) (?:what|how)\b"
    r"|\b(?:sounds?|sounded|seems?|seemed) (?:to me )?(?:like|as if|as though)\b"
    r"|\b(?:feels?|felt) (?:like|as if|as though) (?:you|your|it|there|everything|nobody|no one)\b"
    r"|\bpart of you\b"
)
# Clauses that start like a reflection but do something else.
_NOT_REFLECTION = re.compile(
    r"^you(?:'re| are) (?:welcome|right|correct|absolutely right|so right|very welcome)\b"
    r"|^you (?:too|bet|see|know what|never know|guys)\b|^you know\b"
    r"|^you can (?:call|contact|reach|ring|text|email|book|stop|leave|ask|come|take|have|use|"
    r"find|get|always|bring|pause|skip|say|tell|let me)\b"
    r"|^you(?:'ll| will) (?:need|have|get|find|be asked|receive|see|be seen|hear)\b"
    r"|^you (?:may|might) (?:find|notice|feel|experience|want|need|like|be wondering)\b"
    r"|^you don't (?:have|need) to\b|^your (?:gp|doctor|nurse|appointment|session|next)\b"
    # predictions, encouragement and possibilities are not reflections of experience
    r"|^you(?:'ll| will| can| could| would| wouldn't| might| may| are going to|'re going to|"
    r"'re gonna) (?!(?:rather|prefer|like|love|want)\b)"
    r"|^you(?:'re| are)(?:n't| not) alone\b|^you aren't alone\b"
    r"|^(?:it|that|this) (?:looks|sounds) (?:good|great|fine|lovely|nice|like a (?:good|great) "
    r"(?:idea|plan))\b|^sounds (?:good|great|fine|lovely|like a plan)\b"
)
# Forms that add meaning whatever the client said: double-sided reflections, inference,
# "as if" similes, values.
_COMPLEX_FORM = re.compile(
    r"\bpart of you\b|\bon (?:the )?one hand\b|\bon the other\b|\bat the same time\b|\band yet\b"
    r"|\bbut also\b|\beven though\b|\bas if\b|\bas though\b|\balmost like\b|\bit's like\b"
    r"|\bi wonder(?:ing)? if\b|\bi(?:'m| am) guessing\b|\bi (?:get|have) (?:a|the) (?:sense|"
    r"feeling|"
    r"impression)\b"
    r"|\bi (?:imagine|sense)\b|\bmust (?:be|have|feel)\b|\bunderneath\b|\bdeep down\b"
    r"|\b(?:really )?matters? (?:to you|most)\b|\bimportant to you\b|\bwhat you (?:really )?"
    r"(?:want|need|value)\b|\bmeans? (?:a lot|so much)\b|\bwhich means\b|\binstead of\b"
)
# Words that add meaning when the client did not use them: metaphors, intensity, cause.
_COMPLEX_WORDS = re.compile(
    r"\b(?:because|worst|hardest|carrying|weight|shoulders|stuck|trapped|eggshells|drowning|"
    r"wearing|worn|torn|pulled|juggling|dark|empty|hanging|burden|alone|own|yourself|fighting|"
    r"battle|uphill|together|apart|crossroads|straw|breaking|bottom|lost|without|care|value|"
    r"love|terrified|scared|afraid)\b|\b" + alternation(JUDGEMENT_ADJECTIVES) + r"\b"
)
# Phrasal verbs whose particle looks like a feeling word ("cut down", "let you down" is kept).
_PHRASAL = re.compile(
    r"\b(?:cut|cutting|calm|slow|settle|sit|lie|back|shut|break|put|turn|write|step|track|"
    r"bring|knock|narrow|wind|water|hand|pin|boil|go|come|came|went|fall|fell|play|tone|"
    r"hold|close|shut)(?:s|ed|ing)?\s+(?:\w+\s+)?down\b"
)
_FEELING_WORD = re.compile(r"\b" + alternation(FEELINGS | DIFFICULTY) + r"\b")
_SECOND_PERSON = re.compile(r"\b(?:you|your|you're|you've|you'd|you'll|yourself|yours)\b")
_PLEASANTRY = re.compile(
    r"\b(?:thank you|thanks|(?:nice|good|great|lovely|pleased) to (?:see|meet|hear from|have) you|"
    r"see you|welcome|bless you|how are you|let you know|i'll|i will|i can|i could|i'd|"
    r"i would|i want|i'm going to|we'll|we will|we can|we could|we're going to|let me|let's)\b"
)
_FIRST_PERSON_START = re.compile(r"^(?:i|i'm|i've|i'd|i'll|me|my|we|we're|we've|let's|let me)\b")

# --- new information read as a reflection ---------------------------------------------------
# A reflection says back the client's experience or view; a counsellor's statement that names
# a harm the client did not mention, reports what the counsellor observed, or puts "you" only
# as the object of a fact about the world ("those are bad for you") tells the client something.
_HARM = re.compile(
    r"\b" + alternation(HARMS) + r"\b"
    # words of hardship are harms only in a causal or predictive frame: "making yourself sick",
    # "it could kill you", "you could potentially die"
    r"|\b(?:make|makes|making|made|could|might|will|'ll|going to|gonna|potentially|end up)"
    r"(?: \w+){0,2} (?:sick|sicker|ill|worse|die|dead|killed|killing)\b"
    r"|\bkill(?:s|ing)? (?:you|yourself)\b"
    # a body or an illness said to be deteriorating: "your asthma is getting worse"
    r"|\b(?:health|body|lungs?|liver|heart|teeth|gums|mouth|asthma|diabetes|blood pressure|"
    r"breathing|condition|symptoms|kidneys|skin|eyesight)\b(?: \w+){0,3} (?:getting|get|gets|got|"
    r"gotten|become|becoming|grow|growing) worse\b"
)
# A harm kept away is no warning: "you've managed to avoid any consequences".
_AVERTED = re.compile(
    r"\b(?:avoid\w*|without|no|prevent\w*|reduc\w*|lower\w*|less|fewer|free of|away from|"
    r"protect\w*|escap\w*)\W+(?:[\w']+\W+){0,3}$"
)
# Words that attribute a statement to the client's own view: "you're worried it'll damage...".
_PERSPECTIVE = re.compile(
    r"\b(?:feel|feels|felt|feeling|think|thinks|thinking|thought|believe|believes|worr\w*|"
    r"afraid|scared|fear\w*|concern\w*|wonder\w*|want|wants|wanted|wanting|wanna|wish\w*|"
    r"hope\w*|said|say|saying|told|tell|telling|mentioned|sure|unsure|sounds?|seems?|"
    r"(?:(?<=you )|(?<=n't )|(?<=really ))like|likes|liked|dislike\w*|enjoy\w*|hate\w*|"
    r"love\w*|care|cares|cared|"
    r"part of you|as if|as though|realis\w*|realiz\w*|notic\w*|aware)\b"
)
# Stems that report what the counsellor sees rather than what the client said: "I see that you
# have a new prescription", "I'm noticing some irritation", "Looks like you've no cavities".
_OBSERVING = re.compile(
    r"^(?:i (?:can |could )?(?:see|notice|noticed)|i(?:'m| am) (?:noticing|seeing)|"
    r"(?:it )?looks like|i (?:can )?see on|i see from)\b"
)
# A statement whose subject is someone or something other than the client ("it's...",
# "those are...", "the smoking's..."), where the client may appear only as an object.
_OTHER_SUBJECT = re.compile(
    r"^(?:it|that|this|they|those|these|there|here|he|she|which|the \w+|\w+ing)"
    r"(?:'s|'re|'ll| is| are| was| were| will| would| can| could| might| may| has| have| had|"
    r" does| do| did| \w+s| \w+ed)\b"
)
# The client as an agent or experiencer somewhere in it: "you" with a verb, "yourself",
# "for you to...", "your job is...".
_YOU_SUBJECT = re.compile(
    r"\byou(?:'re|'ve|'d|'ll)\b|\byourself\b|\bfor you to\b"
    r"|\b(?:that|who|which|what|when|where|how|if) you\b"
    r"|\byour \w+(?:'s| is| are| was| were| has| have| had)\b"
    r"|\byou (?:\w+ly |just |really |still |also |never |always |even |kind of |sort of )?"
    r"(?:am|are|were|was|do|don't|did|didn't|can|can't|could|couldn't|would|wouldn't|will|"
    r"won't|should|must|might|may|have|had|has|feel|felt|think|thought|want|wanted|need|"
    r"needed|know|knew|like|liked|love|loved|see|saw|said|say|get|got|go|went|understand|"
    r"find|found|keep|kept|seem|seemed|sound|sounded|mean|meant|try|tried|\w+ed)\b"
)
# Words that make a statement about the client's experience even with "you" as object:
# "it really got to you", "that bothers you", "a concern for you", "on your mind".
_PSYCH_OBJECT = re.compile(
    r"\b(?:bother\w*|upset\w*|hurt\w*|scare\w*|worr(?:y|ies|ied)|frighten\w*|affect\w*|"
    r"got to|gets to|getting to|matters?|mean[st]?|meaning\w*|weigh\w*|eat\w*|annoy\w*|"
    r"frustrat\w*|stress\w*|overwhelm\w*|drives?|drove|makes?|made|leaves?|left|keeps?|"
    r"kept|pulls?|pulled|wears?|wore|wearing|gets|got|hit|hits|touched|moved|helps?|"
    r"helped|helpful|important|hard|difficult|tough|easier|harder|concern\w*|troubl\w*|"
    r"mind|heart|head|worth)\b"
)


# The counsellor's own opinion or certainty about the world or the client: input, not a
# reflection ("I'm sure you've seen the leaflet", "I think that would be a good idea").
_OWN_VIEW = re.compile(
    r"^i(?:'m| am) (?:pretty |quite |absolutely |fairly |very |so |just )?(?:sure|certain|"
    r"confident|convinced|positive)\b"
    r"|^i (?:really |honestly |personally |do |also |still |just |actually )?(?:think|believe|"
    r"reckon) (?!(?:that )?(?:you|your)\b)(?:that )?(?:it|it's|that|that's|this|this is|they|"
    r"they're|there|there's|these|those|the|a|an|\w+ing)\b"
    r"|^i can (?:promise|assure|guarantee|tell) you\b"
    r"|^(?:the way i see it|in my (?:view|opinion|experience)|my (?:view|opinion) is)\b"
    r"|^i (?:guess|suppose|imagine|hear|sense)\W+(?:[\w']+\W+){0,5}i (?:think|believe|see|"
    r"reckon)\b"
)


# Predicted consequences and stressed seriousness: the counsellor persuading, not reflecting
# ("you could end up in hospital", "it'll catch up with you", "this is really serious").
_WARNING = re.compile(
    r"^(?:you|it|this|that|they|things)(?:'ll| will|'re going to| are going to|'s going to|"
    r" is going to|'re gonna|'s gonna| could| might| may| would|'d)(?: \w+ly| just| really| still|"
    r" eventually| soon)? (?:end up|lose|regret|pay for|catch up with|come back to|get worse|"
    r"make (?:it|things|you|them|everything) worse|cost you|land you|put you (?:in|at)|"
    r"wish you(?:'d| had)?)\b"
    r"|^(?:it|this|that)(?:'s| is) (?:really |very |so |extremely |quite |pretty )*(?:important|"
    r"serious|urgent)\W*$"
)


def warns(clause: Sentence) -> bool:
    """Predicts a bad outcome or stresses how serious the matter is."""
    return bool(_WARNING.search(clause.core))


def gives_own_view(clause: Sentence) -> bool:
    """The counsellor's opinion or certainty, about something other than a feeling."""
    core = clause.core
    return bool(_OWN_VIEW.search(core)) and not (
        _FEELING_WORD.search(core) or AUTONOMY.search(core)
    )


def names_new_harm(clause: Sentence, ctx: Context) -> bool:
    """Names a harm or risk the client did not mention, not as the client's own view: a
    warning ("you're damaging your lungs") or a fact ("they still cause cancer")."""
    core = clause.core
    found = [m.group(0) for m in _HARM.finditer(core) if not _AVERTED.search(core[: m.start()])]
    if not found or _PERSPECTIVE.search(core):
        return False
    # the harm word of a frame ("could kill you") is what the client may have said already
    named = [next(w for w in reversed(f.split()) if w not in ("you", "yourself")) for f in found]
    return not any(stem(w) in ctx.client_all for w in named)


# "I see" also opens sentences as a discourse marker ("I see, so you..."); followed straight
# by a source or a that-clause it reports an observation ("I see from your file that...").
_SEE_FROM = re.compile(r"^(?:(?:okay|ok|so|well|and|now|right|alright|yeah|hi|hello)\W+)*"
                       r"i see (?:from|on|in|here|that|you(?:'re| are) (?:here|back|due))\b")


def _observation(clause: Sentence, shared: set[str]) -> bool:
    """"I see/notice..." about something the client has not said and with no feeling named."""
    seen = _OBSERVING.search(clause.core) or _SEE_FROM.search(clause.norm)
    return bool(seen) and not shared and not _FEELING_WORD.search(clause.core)


def _you_only_as_object(core: str, shared: set[str]) -> bool:
    """The client appears only as an object or possessor in a statement about something else
    ("those are really bad for you", "it's messing up your mouth")."""
    if shared or not _OTHER_SUBJECT.search(core) or _YOU_SUBJECT.search(core):
        return False
    return not (_FEELING_WORD.search(core) or _PSYCH_OBJECT.search(core))


def reflection_kind(clause: Sentence, ctx: Context, *,
                    rising: bool = False) -> tuple[str | None, bool]:
    """("reflection_simple" | "reflection_complex" | None, whether the form marks it as one).

    rising: a full statement said with a question mark, which reflects by its form."""
    core = clause.core
    # "So ..." opening a statement is the classic lead-in of a reflection ("So you can see
    # some advantages..."), even where the words alone would read as a prediction.
    so_lead = "so" in clause.lead and len(clause.words) >= 3
    if len(clause.words) < 2 or (_NOT_REFLECTION.search(core) and not so_lead):
        return None, False
    first_person = bool(_FIRST_PERSON_START.search(core))
    by_stem = bool(_STEM.search(core)) or (rising and not first_person) or (
        so_lead and not first_person and bool(_SECOND_PERSON.search(core) or _FINITE.search(core))
    )
    stems = content_stems(clause.words)
    shared = stems & ctx.client_stems
    if (names_new_harm(clause, ctx) or _observation(clause, shared) or gives_own_view(clause)
            or warns(clause)):
        return None, False
    # Without a stem, a statement about the client ("your", "you" anywhere) or one that
    # reuses the client's words is read as a reflection.
    hypothetical = bool(re.match(r"^(?:if|unless|whether|once|as long as|maybe|perhaps)\b", core))
    eligible = not (by_stem or first_person or hypothetical) and len(clause.words) >= 3
    by_overlap = eligible and (
        (len(shared) >= 2 and len(shared) >= 0.4 * len(stems))
        or (bool(_SECOND_PERSON.search(core)) and not _PLEASANTRY.search(core)
            and not _you_only_as_object(core, shared))
    )
    if not (by_stem or by_overlap):
        return None, False
    complex_ = _adds_meaning(clause, stems, ctx)
    return ("reflection_complex" if complex_ else "reflection_simple"), by_stem


def _adds_meaning(clause: Sentence, stems: set[str], ctx: Context) -> bool:
    """A complex reflection names a feeling, infers, or adds content the client did not say."""
    core = clause.core
    if _COMPLEX_FORM.search(core):
        return True
    novel = ctx.client_all
    for pattern in (_COMPLEX_WORDS, _FEELING_WORD):
        text = _PHRASAL.sub(" ", core) if pattern is _FEELING_WORD else core
        if any(stem(m.group(0)) not in novel for m in pattern.finditer(text)):
            return True  # names a feeling or an image the client did not use
    if not ctx.client_stems:
        return False
    new = stems - ctx.client_stems - _FEELING_STEMS
    return len(new) >= 3 and len(new) > len(stems & ctx.client_stems)
