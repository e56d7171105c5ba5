"""Asking permission before advising, and handing the choice back (autonomy support)."""

from __future__ import annotations

import re

from app.analysis.sentences import Sentence

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


def asks_permission(clause: Sentence) -> bool:
    """Asks before advising ("Would it be OK if I shared some ideas?")."""
    return bool(_PERMISSION.search(clause.core))


def supports_autonomy(clause: Sentence) -> bool:
    """Hands the choice back ("would that fit for you?", "it's up to you")."""
    return bool(AUTONOMY.search(clause.core))


# "Have you tried exercising more?" names an action for the client to take: a suggestion
# dressed as a question, which the codebook codes as advice. Asking about what the client has
# done ("Have you tried quitting before?", "...so far?"), about a pronoun ("Have you tried
# it?") or a wh-clause ("Have you thought about what you'd say?") is a question.
_SUGGESTION_QUESTION = re.compile(
    r"^have you (?:tried|thought about|considered|looked into) "
    r"(?!(?:what|how|why|when|where|who|whether|if|it|that|this|them|anything|something|any|"
    r"doing anything)\b)(?!.*\b(?:before|yet|already|so far|in the past|ever)\b)[a-z]"
)


def suggests_as_question(clause: Sentence) -> bool:
    """A question that suggests an action ("Have you tried cutting back at night?")."""
    return clause.text.rstrip().endswith("?") and bool(_SUGGESTION_QUESTION.search(clause.core))

