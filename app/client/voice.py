"""A conversational style's own lines, for when a persona's lists run dry or have no entry.

Every persona can override these (deflections, reactions). They are short, in character for the
style, and never add biography: they only deflect, ask back, or acknowledge.
"""

from __future__ import annotations

import re

__all__ = ["CORRECTIONS", "DEFLECTIONS", "FALLBACK", "STYLE_LINES", "speak_of", "style_lines"]

# In-character answers to a question the persona has no fact for.
DEFLECTIONS: dict[str, tuple[str, ...]] = {
    "plain": ("Not sure that's really the point.", "I'd have to think about that.",
              "Does that matter?", "I don't really know, to be honest.",
              "Hard to say.", "Why do you ask?"),
    "upset": ("I don't know! I can't even think about that right now.",
              "I don't know, everything's just a mess.", "Why does that matter?",
              "I can't think straight.", "Sorry, I just… I don't know."),
    "verbose": ("Oh, that's a whole other story, honestly. I'd lose my thread.",
                "Hmm. I'd have to think about that one, I've never really put it into words.",
                "Gosh, I don't know. Is that important? I feel like I'd ramble.",
                "That's a funny question. I don't think I've got a neat answer."),
    "reserved": ("Dunno.", "Not really sure.", "Does it matter?", "I'd rather not, really.",
                 "Not much to say about that.", "Hard to say."),
    "tangent": ("Ha, that reminds me of something, but never mind. I don't really know.",
                "Oh, I don't know. Where was I?", "Hmm. Not sure. Anyway.",
                "That's a good question. I've no idea, really."),
    "pleasing": ("Oh, sorry, I'm not sure. Is that bad?", "I don't know, sorry.",
                 "Um, I'd have to think. Sorry.", "I'm not sure what you'd want me to say."),
    "hostile": ("Why's that your business?", "What's that got to do with anything?",
                "Pass.", "Not telling you that.", "Next question."),
    "silent": ("…", "Dunno.", "Mm.", "Not sure.", "…don't know."),
    "interpreted": ("{They} {say} {they} {are} not sure how to answer that.",
                    "{They} {ask} why you want to know.",
                    "{They} {say} {they} would rather not say.",
                    "{They} {say} {they} doesn't know."),
}

# Corrections when a reflection names the wrong feeling: "{named}" is what the student said,
# "{felt}" is the layer's own feeling.
CORRECTIONS: dict[str, tuple[str, ...]] = {
    "plain": ("Not {named}, really. More {felt}.", "I wouldn't say {named}. {Felt}, more like."),
    "upset": ("I'm not {named}! I'm just so {felt}.", "No, not {named}. {Felt}. So {felt}."),
    "verbose": ("Hmm, I wouldn't say {named}, exactly. It's more that I'm {felt}, if that "
                "makes sense.", "{Named}? No, not really. It's more a {felt} sort of feeling."),
    "reserved": ("Not {named}. {Felt}, more like.", "Not really {named}. Just {felt}."),
    "tangent": ("{Named}? Nah, not that. {Felt}, I'd say.", "Not {named}, more {felt}."),
    "pleasing": ("Oh, sorry, not {named} exactly. More {felt}, I think?",
                 "Um, maybe not {named}. {Felt}, sort of?"),
    "hostile": ("I'm not {named}. I'm {felt}. Get it right.", "{Named}? No. {Felt}."),
    "silent": ("Not {named}. …{felt}.", "…{felt}. Not {named}."),
    "interpreted": ("{They} {say} not {named}. {Felt}, more.",
                    "{They} {say} it is not {named}; {they} {are} {felt}."),
}

# Reaction kinds a persona may leave empty, per style.
STYLE_LINES: dict[str, dict[str, tuple[str, ...]]] = {
    "confused": {
        "plain": ("Sorry, what? I didn't say anything about that.", "I'm not sure what you mean.",
                  "Hang on, where did that come from?"),
        "upset": ("What? That's not what I said!", "I don't know what you're talking about."),
        "verbose": ("Sorry, I think I've lost you there. That's not really what I was saying.",
                    "Hmm, I'm not sure where that came from, to be honest."),
        "reserved": ("…What?", "Not sure what you mean.", "I didn't say that."),
        "tangent": ("Ha, sorry, you've lost me.", "Wait, what? I wasn't talking about that."),
        "pleasing": ("Oh, sorry, did I say that? I don't think I did.",
                     "Sorry, I'm a bit lost, is that what you meant?"),
        "hostile": ("What are you on about?", "That's not what I said. Are you even listening?"),
        "silent": ("…what?", "Huh?"),
        "interpreted": ("{They} {say} {they} {do} not understand.",
                        "{They} {say} {they} didn't say that."),
    },
    "contracted": {
        "plain": ("Okay. Good to know.", "Right. That makes sense."),
        "upset": ("Okay. Okay, good.", "Right. I just needed to know that."),
        "verbose": ("Oh, okay, that's helpful actually. I did wonder about that.",),
        "reserved": ("Okay.", "Right. Fair enough."),
        "tangent": ("Okay, cool. Good to know.",),
        "pleasing": ("Oh, okay, thank you for explaining.",),
        "hostile": ("Fine. Whatever.", "Right. Noted."),
        "silent": ("…okay.", "Mm."),
        "interpreted": ("{They} {say} thank you, {they} {understand}.",),
    },
    "repaired": {
        "plain": ("Okay. Thanks for saying that.", "Alright. Fair enough."),
        "upset": ("Okay. Thank you. That… that helps.",),
        "verbose": ("Oh. Well, thank you, I appreciate you saying that, honestly.",),
        "reserved": ("Okay.", "Right. Thanks."),
        "tangent": ("Ha, okay, no worries.",),
        "pleasing": ("Oh no, it's fine, honestly.",),
        "hostile": ("Hm. Well. At least you said it.", "Fine. Go on then."),
        "silent": ("…okay.",),
        "interpreted": ("{They} {say} it is alright.",),
    },
    "risk_denial": {
        "plain": ("No. Nothing like that.", "No, I'm not thinking about anything like that."),
        "upset": ("No! God, no. It's not that.", "No. I'm upset, but not like that."),
        "verbose": ("Oh, no, no, nothing like that, honestly. It's not got to that.",),
        "reserved": ("No.", "No. Not that."),
        "tangent": ("Oh, no, nothing like that.",),
        "pleasing": ("No, no, sorry, I didn't mean to worry you.",),
        "hostile": ("No. Don't put words in my mouth.", "What? No."),
        "silent": ("…no.", "No."),
        "interpreted": ("{They} {say} no, nothing like that.",),
    },
    "risk_guarded": {
        "plain": ("I… don't really want to go there right now.", "Why do you ask that?"),
        "upset": ("I don't know. Sometimes I just… I don't know.",),
        "verbose": ("That's a big question. I'm not sure I'm ready to talk about that bit.",),
        "reserved": ("…Not really. Why?", "I'd rather not say."),
        "tangent": ("Hmm. That's… let's not, maybe.",),
        "pleasing": ("Oh. Um. Sorry, I'm not sure what to say to that.",),
        "hostile": ("Why, do I look like I am?", "That's a bit much, isn't it?"),
        "silent": ("…", "…dunno."),
        "interpreted": ("{They} {are} quiet. {They} {say} {they} {do} not want to talk about "
                        "that now.",),
    },
    "neutral": {
        "plain": ("Yeah.", "Mm.", "I suppose.", "Right."),
        "upset": ("I don't know.", "Yeah.", "I just… yeah."),
        "verbose": ("Yeah, I suppose so.", "Mm, yeah."),
        "reserved": ("Yeah.", "Mm.", "Maybe."),
        "tangent": ("Yeah. Anyway.", "Mm, yeah."),
        "pleasing": ("Yes, sorry.", "Mm, yes."),
        "hostile": ("Right.", "So?"),
        "silent": ("…", "Mm."),
        "interpreted": ("{They} {nod}.", "{They} {say} yes."),
    },
}

# Acknowledgements and hedges composed when every authored line has been used: many distinct
# short replies, so nothing is said twice verbatim.
FALLBACK: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "default": (
        ("Yeah.", "Mm.", "Right.", "Okay.", "Hm.", "I suppose.", "Maybe."),
        ("", "I don't know.", "I guess.", "Not sure.", "Hard to say.", "Something like that.",
         "I'm still thinking.", "It's a lot."),
    ),
    "silent": (("…", "Mm.", "…yeah."), ("", "Dunno.", "Maybe.")),
    "interpreted": (("{They} {nod}.", "{They} {pause}.", "{They} {are} quiet."),
                    ("", "{They} {say} {they} {are} thinking.",
                     "{They} {say} {they} {are} not sure.")),
}


def _pronoun_forms(pronouns: str) -> dict[str, str]:
    """Words for speaking of the client in the third person (interpreted sessions)."""
    first = pronouns.split("/")[0].strip().lower() if pronouns else "they"
    if first in ("he", "she"):
        forms = {"they": first, "say": "says", "ask": "asks", "are": "is", "nod": "nods",
                 "pause": "pauses", "do": "does", "understand": "understands"}
    else:
        forms = {"they": "they", "say": "say", "ask": "ask", "are": "are", "nod": "nod",
                 "pause": "pause", "do": "do", "understand": "understand"}
    forms["They"] = forms["they"].capitalize()
    return forms


def speak_of(line: str, pronouns: str) -> str:
    """Fill a style line's pronoun placeholders from the client's pronouns."""
    if "{" not in line:
        return line
    forms = _pronoun_forms(pronouns)
    return re.sub(r"\{(\w+)\}", lambda m: forms.get(m.group(1), m.group(0)), line)


def style_lines(kind: str, style: str) -> tuple[str, ...]:
    """The style's own lines for a reaction kind or "deflect" (empty when there are none)."""
    if kind == "deflect":
        return DEFLECTIONS.get(style, DEFLECTIONS["plain"])
    by_style = STYLE_LINES.get(kind)
    if by_style is None:
        return ()
    return by_style.get(style, by_style["plain"])
