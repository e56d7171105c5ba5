"""Risk: asking directly about suicide or self-harm, and responding with care and safety steps."""

from __future__ import annotations

import re

from app.analysis.sentences import Sentence
from app.analysis.vocabulary import RISK_TERMS

_RISK = re.compile(r"\b" + RISK_TERMS)
# Asking about safety needs no risk word: "Are you safe right now?", "Do you feel safe at home?"
_SAFETY_QUESTION = re.compile(
    r"\b(?:are you|do you feel|will you be|are you feeling|have you been) (?:\w+ )?safe\b"
    r"|\b(?:thoughts|thinking) (?:about|of) (?:not (?:being|wanting)|dying|death|harming|hurting|"
    r"ending)\b|\bhurt(?:ing)? (?:yourself|someone|anyone|others)\b"
)
# Asking without a question mark ("I need to ask you whether...").
_ASKING = re.compile(
    r"^(?:i need to ask|"
    r"i want to ask|i'd like to ask|i have to ask|i'm going to ask|can i ask|may i ask|"
    r"i(?:'m| am) wondering (?:if|whether)|i wonder (?:if|whether)|sometimes when people)"
)
# Anaphoric follow-up after naming the risk: "Is that something you've thought about?"
_ANAPHOR = re.compile(
    r"\b(?:that|this|those|these|it|them|any of that|something like that|those thoughts|"
    r"such thoughts|thoughts like that)\b"
)

# Safety steps that are safety responses wherever they appear.
_SAFETY = re.compile(
    r"\bsafety plan\w*|\bkeep(?:ing)? (?:you|yourself) safe\b|\b(?:stay|staying|be|being|feel) "
    r"safe (?:tonight|today|this week|until|over|right now|at the moment)\b"
    r"|\bcrisis (?:line|team|service|number|text|centre|center|support|resolution)\b"
    r"|\b(?:lock away|get rid of|hand in|remove) (?:the |those |your |any )?(?:pills|tablets|"
    r"medication|weapons|knives)\b|\burgent (?:help|support|appointment|referral)\b"
    r"|\breasons (?:for|to) (?:living|live|stay alive)\b"
    r"|\bthink (?:together )?about how to keep\b"
)
# Crisis and emergency services by name and number (Australia, the UK and Ireland, the US):
# pointing someone at risk to them is a safety step; with no risk in sight, naming a helpline
# is information (the codebook's "Crisis services").
_SERVICES = re.compile(
    r"\b(?:samaritans|hotline|helpline|lifeline|988|116 ?123|call (?:an ambulance|999|911|112))\b"
    r"|(?<![\d,.$])(?:000|999|911|112|111|13 ?11 ?14|1300 ?22 ?4636|1800 ?55 ?1800|1800 ?737 ?732|"
    r"1300 ?659 ?467|116 ?123|85258|741741|0800 ?11 ?11)(?![\d,])"
    r"|\b(?:beyond blue|headspace|kids helpline|1800 ?respect|suicide call back|crisis text line|"
    r"childline|text shout|nhs 111|the 988|mental health (?:crisis|emergency|line|triage)|"
    r"emergency (?:department|room|services)|a&e)\b"
)
# Questions that assess a risk already on the table: plan, method, means, intent, how strong
# the thoughts are, what has kept them going. The codebook codes these `risk_inquiry` ("Have
# you thought about how you'd do it?", "What's kept you going, on the worst nights?"); they
# name no risk word of their own, so they count only once risk is in the conversation.
_ASSESSMENT = (
    r"(?:(?:do|have) you (?:have|got|made|make) (?:a |any )?plans?|have you (?:made|got|"
    r"thought about|decided) (?:a plan|how)|how (?:would|might|were) you (?:do it|go about it|"
    r"end|kill|hurt|harm)|(?:access to|means to|got any|have any) (?:pills|tablets|medication|"
    r"weapons|a gun|guns|knives|rope)|acted on (?:these|those|the|them|any)|what(?:'s| has) "
    r"(?:kept|stopped) you|how (?:strong|often|long) (?:are|have|do) (?:these|those|the) "
    r"(?:thoughts|urges|feelings))"
)
_RISK_FOLLOW_UP = re.compile(r"\b" + _ASSESSMENT)
# The people to turn to, a safety plan's other half (the codebook's "involving others"); the
# client's safety steps (app.client.listen) read the same words.
PEOPLE_TO_TURN_TO = (
    r"who (?:could|can|would|might) you (?:be with|stay with|call|ring|phone|text|talk to|"
    r"reach out to|go to)"
)
# Caring responses that count as safety responses only when risk is on the table (the
# assessment questions among them are met as risk inquiries first, when they are questions).
_CARE_IN_RISK = re.compile(
    r"\b(?:" + _ASSESSMENT + "|" + PEOPLE_TO_TURN_TO + "|"
    r"(?:is there|who is|who's|have you got) (?:someone|anyone|"
    r"somebody|a person|a friend) (?:who |that )?(?:you could|you can|could|can) (?:stay|be|call|"
    r"contact|reach|ring|text)|a&e|"
    r"emergency (?:services|department|room|number|line)|"
    r"(?:your|our) safety|get (?:you )?through (?:tonight|the night|this weekend|the next "
    r"few)|keep you going|"
    r"i(?:'m| am) (?:really |so |very )?(?:glad|grateful|relieved) (?:that )?you (?:told|"
    r"shared|felt able|said|could) (?:and|so|because|but)|"
    r"(?:your|a|the) (?:gp|doctor|psychiatrist|mental health team|care team)|talk to someone "
    r"(?:today|tonight|now)|(?:can|could) we (?:agree|make|work out|come up with)|"
    r"i(?:'d| would) like (?:us )?to (?:think|talk|work out|make)|safe tonight|get through "
    r"tonight)\b"
)


# Words without which a sentence cannot be asking about harm or responding to it: a permit for
# the model's risk codes (rules.veto), not a reason to give one, so it is broad on purpose.
_HARM = re.compile(
    r"\b(?:safe|safely|safety|unsafe|danger\w*|harm\w*|hurt\w*|hit|hits|hitting|abus\w*|"
    r"violen\w*|threat\w*|afraid|scared|frighten\w*|kill\w*|die|dying|dead|death|suicid\w*|"
    r"self[- ]?harm\w*|overdos\w*|weapons?|guns?|knife|knives|crisis|emergency|"
    r"urgent\w*|ambulance|police|alive|end(?:ing)? (?:it|things|your life))\b"
)


# Signs that risk is in the air in the turns before (either speaker), broader still: injuries,
# means, despair, violence at home. (Not health words such as "blood pressure", "give up" or
# "withdrawal": they fill ordinary health-behaviour talk and would open the permit everywhere.)
# The permit must not lose a real risk question whose context the narrow risk phrases miss
# ("Has it ever gotten physical?").
_RISK_SIGNS = re.compile(
    r"\b(?:physical\w*|injur\w*|bruis\w*|bleed\w*|cuts|cutting|burn(?:s|ed|ing) (?:myself|"
    r"herself|himself|themselves|yourself)|rope|rifle|bridge|better off|wake up|"
    r"disappear\w*|no point|hopeless\w*|can't go on|urges|act(?:ed|ing)? on|intrusive|attempt\w*|"
    r"(?:those|these|the|such) thoughts|thoughts like (?:that|this)|tried (?:once|before)|"
    r"(?:it'd|it would|be) easier|heroin|fentanyl|fight\w*|shout\w*|scream\w*|forced|consent|"
    r"rough with|punch\w*|slap\w*|pushed|shoved|grabbed|chok\w*|strangl\w*|bashed|"
    r"drunk driv\w*|driving drunk|blackout\w*|passed out)\b"
)


def mentions_harm(clause: Sentence) -> bool:
    """Names harm, danger, safety or a crisis service in any form."""
    return bool(_HARM.search(clause.core))


def risk_in_the_air(text: str) -> bool:
    """Normalised text with any sign of risk, broadly read (harm words or risk signs)."""
    return bool(_HARM.search(text) or _RISK_SIGNS.search(text))


def names_risk(clause: Sentence) -> bool:
    """Mentions suicide, self-harm or not wanting to live."""
    return bool(_RISK.search(clause.core))


def is_risk_inquiry(clause: Sentence, *, previous: Sentence | None = None,
                    risk_context: bool = False) -> bool:
    """Asks directly about suicide, self-harm or safety, or (with risk in the conversation)
    about a plan, the means, intent or what keeps the client going."""
    core = clause.core
    asking = clause.question or bool(_ASKING.search(core))
    if not asking:
        return False
    if _RISK.search(core) or _SAFETY_QUESTION.search(core):
        return True
    if risk_context and clause.question and _RISK_FOLLOW_UP.search(core):
        return True
    # "Sometimes people in your position think about ending their life. Is that true for you?"
    return bool(previous is not None and _RISK.search(previous.core) and clause.question
                and _ANAPHOR.search(core))


# Normalising before asking ("When it's this heavy, some people think about ending their life."):
# people in general who think or feel it, not a third person the client knows ("someone").
_NORMALISING = re.compile(
    r"\b(?:people|folks|anyone|anybody|many of us|lots of us)\b.*\b(?:think|thinks|thinking|"
    r"thought|thoughts|feel|feels|felt|wonder\w*|consider\w*)\b"
)


def is_risk_preface(clause: Sentence, *, following: Sentence | None,
                    risk_context: bool = False) -> bool:
    """Normalises thoughts of suicide or self-harm to lead straight into asking about them."""
    if clause.question or following is None:
        return False
    if not (_RISK.search(clause.core) and _NORMALISING.search(clause.core)):
        return False
    return is_risk_inquiry(following, previous=clause, risk_context=risk_context)


def is_safety_response(clause: Sentence, *, risk_context: bool) -> bool:
    """Responds to risk with care and concrete safety steps."""
    core = clause.core
    if _SAFETY.search(core):
        return True
    return risk_context and bool(_SERVICES.search(core) or _CARE_IN_RISK.search(core))
