"""Whether a reflection takes up anything the client has said in the session.

A reflection restates or extends the client's own words; one about a topic the client never
raised ("So moving house has been stressful" to a client who has talked only of beer and his
wife) reflects nothing, however fluent it is. The analyzer's context window holds the last few
turns, too little to tell, so this check reads everything the client has said so far in the
session. It applies only once the client has said a fair amount (with little client talk, real
reflections often share no word with it), and only to reflections that bring in at least two
content words of their own, none of which the client used, and that are far from each of the
client's last three turns in meaning.

Measured on the team corpus (a pessimistic bound: its rows carry at most three client turns),
the share of real reflections this would wrongly discard falls with the client talk before
them: 4.6 % with any, 3.1 % with 20 or more content stems, 0 of 40 with 30 or more.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.analysis.features import _text_stems, relation
from app.analysis.semantics import similarity
from app.analysis.sentences import Sentence

__all__ = ["MIN_CLIENT_STEMS", "NEAR_IN_MEANING", "takes_up"]

MIN_CLIENT_STEMS = 30  # distinct content stems the client has said before the check applies
NEAR_IN_MEANING = 0.3  # cosine similarity to a recent client turn that counts as taking it up


def takes_up(unit: Sentence, client_said: Sequence[str]) -> bool:
    """False only when a reflection-shaped sentence clearly reflects nothing the client said."""
    if len(unit.words) < 4 or not client_said:
        return True
    stems = frozenset().union(*(_text_stems(text) for text in client_said))
    if len(stems) < MIN_CLIENT_STEMS:
        return True
    rel = relation(unit.words, stems)
    if rel.shared or rel.novel < 2:
        return True
    return any(similarity(unit.text, text) >= NEAR_IN_MEANING for text in client_said[-3:])
