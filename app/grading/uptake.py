"""How the client took a reflection: the client's next words are the test of its accuracy.

Person-centred and MI practice check a reflection against the client's answer: a client who
carries on, agrees or adds has been understood; one who asks where that came from has not, and
one who puts it right ("I wouldn't say angry. Tired, more like.") was half heard. The grader
uses this to weigh reflection credit, so a reflection the client rejects counts for little
however fluent it was. The phrases are the everyday English ways of saying "that's not what
I said" and "not quite"; they are read only at the start of the client's answer, or anywhere
for the unmistakable ones.
"""

from __future__ import annotations

import re

__all__ = ["CONFUSED_CREDIT", "CORRECTED_CREDIT", "uptake"]

CONFUSED_CREDIT = 0.0  # the client did not recognise it at all
CORRECTED_CREDIT = 0.5  # the client put it right: the topic was heard, the rest was not

_QUOTE = "['\u2019]"
_CONFUSED = re.compile(
    rf"where did that come from|\bi didn{_QUOTE}?t say (?:that|anything)"
    rf"|\b(?:that|it){_QUOTE}?s? (?:is )?not what i (?:said|meant|was saying)"
    rf"|\bnot what i was (?:saying|talking about)|\bwhat are you on about"
    rf"|\byou{_QUOTE}?ve lost me|\bi{_QUOTE}?ve lost you|\bnot sure what you mean"
    rf"|\bdon{_QUOTE}?t (?:know|get) what you{_QUOTE}?re (?:talking about|on about)"
    rf"|\bi wasn{_QUOTE}?t talking about|\bare you even listening|\bdid i say that"
    rf"|\bwhat{_QUOTE}?s that (?:got )?to do with|\bwhat has that got to do with"
    rf"|\bi don{_QUOTE}?t think i (?:mentioned|said) (?:that|anything|it)"
    rf"|\bi (?:never|didn{_QUOTE}?t) mention(?:ed)? (?:that|anything|it)"
)
# Words every _CONFUSED phrase contains: an answer holding none of them cannot match. Looking
# for them is much cheaper than the regex's try of every phrase at every position, and a grade
# reads the client's answer to every reflection.
_CONFUSED_WORDS = (
    "where did", "didn", "not what i", "what are you", "lost me", "lost you", "not sure",
    "what you", "wasn", "even listening", "did i say", "to do with", "think i", "mention",
)
_CORRECTED = re.compile(
    rf"^\W*(?:(?:no|nah|nope)\b(?!\s+(?:doubt|wonder))|not really\b|not exactly\b|not quite\b"
    rf"|that{_QUOTE}?s not (?:it|quite it|right)\b"
    # "Not empty, really. More annoyed.": the word taken back, then the right one.
    rf"|not \w+(?: \w+)?,? (?:really|exactly|so much)\b)"
)
# Said anywhere near the start ("To be honest... I wouldn't say empty."): a correction.
_CORRECTING = re.compile(
    rf"\bi wouldn{_QUOTE}?t (?:say|call it|put it)\b|\bit{_QUOTE}?s not so much\b"
)


# A whole answer of "What?" or "Huh?" is a client who did not follow.
_BARE = re.compile(r"^\W*(?:sorry\W+)?(?:what|huh|pardon|eh)\W*$")


def uptake(client_answer: str | None) -> str:
    """"confused", "corrected" or "taken" for the client's answer to a reflection."""
    if not client_answer:
        return "taken"
    text = client_answer.strip().lower()
    confused = any(w in text for w in _CONFUSED_WORDS) and _CONFUSED.search(text)
    if confused or _BARE.match(text):
        return "confused"
    if _CORRECTED.search(text[:80]) or _CORRECTING.search(text[:80]):
        return "corrected"
    return "taken"
