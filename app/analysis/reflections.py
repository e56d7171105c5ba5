"""Reflections: is a statement a reflection of the client's experience, simple or complex?"""

from __future__ import annotations

import re

from app.analysis.context import Context
from app.analysis.questions import FINITE as _FINITE
from app.analysis.sentences import Sentence, content_stems, stem
from app.analysis.vocabulary import DIFFICULTY, FEELINGS, JUDGEMENT_ADJECTIVES, alternation

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
    # Without a stem, a statement about the client ("your", "you" anywhere) or one that
    # reuses the client's words is read as a reflection.
    hypothetical = bool(re.match(r"^(?:if|unless|whether|once|as long as|maybe|perhaps)\b", core))
    eligible = not (by_stem or first_person or hypothetical) and len(clause.words) >= 3
    by_overlap = eligible and (
        (len(shared) >= 2 and len(shared) >= 0.4 * len(stems))
        or (bool(_SECOND_PERSON.search(core)) and not _PLEASANTRY.search(core))
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
