"""The test persona, a session driver, and the role guard's labelled set of client replies.

Every case is judged against the test persona below (Sam, `max_sentences` 3), at a moment when
only the `surface` layer is open unless the case says otherwise. `expect` names the guard kinds a
reviewer would reject the reply for; an empty tuple means the reply is fine to commit. Tricky
in-role replies (a client pushing back with "it sounds like you think...", job titles, idioms)
are here on purpose, as are role breaks the lexical guard is known to miss.

The persona data and `SessionDriver` are also the fixtures of the prompt and engine tests.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.analysis import Evidence, TurnAnalysis
from app.client.engine import HistoryTurn, ReplyRequest
from app.client.listen import listen
from app.client.scripted import compose
from app.client.state import ClientState, advance, initial_state
from app.persona import Persona

PERSONA_DATA: dict = {
    "id": "sam-guard-test",
    "title": "Sam — work stress (test)",
    "difficulty": 2,
    "brief": "Sam comes in about work stress and sleepless nights.",
    "client": {
        "name": "Sam",
        "age": 34,
        "pronouns": "they/them",
        "background": "Sam coordinates deliveries at a parcel depot and lives with their "
        "partner, Alex.",
        "presenting_problem": "Stress at work and not sleeping.",
    },
    "style": {
        "conversational_style": "reserved",
        "max_sentences": 3,
        "phrases": ["I dunno", "it's fine, I guess"],
        "opening_line": "I'm not really sure why I'm here. My GP said I should come.",
    },
    "trust": {"initial": 2, "max_step": 1.5},
    "disclosures": [
        {
            "id": "surface",
            "min_trust": 0,
            "says": "Work's been a lot. I'm not sleeping much.",
            "more": [
                "I lie awake going over emails in my head.",
                "By Sunday evening my stomach's already in knots about Monday.",
            ],
        },
        {
            "id": "shame",
            "min_trust": 4,
            "says": "I haven't told my partner I'm on a final warning at the depot.",
            "more": ["Alex thinks the late nights are overtime. They're not."],
        },
        {
            "id": "risk",
            "min_trust": 6,
            "risk": True,
            "says": "Some nights I think everyone would be better off without me.",
            "after_safety": ["No, I don't have a plan. It's more a feeling that creeps in."],
            "after_missed": ["Forget I said that. It's nothing."],
        },
    ],
    "boundary_tests": [
        {
            "id": "coffee",
            "kind": "dual_relationship",
            "at_turn": 3,
            "says": "Could we grab a coffee sometime? Outside of here?",
            "if_held": "Yeah. No, that makes sense.",
            "if_crossed": "Really? Cool... I mean, great.",
        }
    ],
    "reactions": {
        "heard": ["Yeah. That's it, really."],
        "validated": ["Thanks. I didn't think it was a big deal, but maybe it is."],
        "questioned_open": ["Where do I even start? It's just... a lot."],
        "questioned_closed": ["Yes.", "Not really."],
        "advised": ["I've tried that. It doesn't work for me."],
        "judged": ["Right. So it's my fault."],
        "reassured": ["Sure. Everyone says that."],
        "dismissed": ["Okay. Never mind, then."],
        "neutral": ["I dunno."],
    },
}

# Twelve different reflections on what Sam says: the same one said twelve times is hollow and
# opens nothing, so it could not take the session through every layer.
VARIED_REFLECTIONS = (
    "Work has been wearing you down, and your sleep has gone with it.",
    "You lie awake going over the emails, and by Sunday the dread has already started.",
    "It sounds lonely, carrying all of this by yourself.",
    "There's something about home that feels hard to bring up.",
    "Keeping that from Alex takes a lot out of you.",
    "Part of you wants to tell Alex, and part of you is scared of what happens if you do.",
    "It's felt so heavy that you've wondered whether people would be better off.",
    "You've been holding far more than anyone around you knows.",
    "Even saying that much took something.",
    "The nights are the worst, when it all comes back.",
    "You want things to be different, and you can't yet see how.",
    "Coming here was a step, even if it didn't feel like one.",
)


# Text of the layers locked at the start: tests assert none of it ever reaches a model early.
LOCKED_AT_START: tuple[str, ...] = (
    "I haven't told my partner I'm on a final warning at the depot.",
    "Alex thinks the late nights are overtime. They're not.",
    "Some nights I think everyone would be better off without me.",
    "No, I don't have a plan. It's more a feeling that creeps in.",
    "Forget I said that. It's nothing.",
)


class SessionDriver:
    """Moves a persona through a session the way the practice loop does, one request a turn."""

    def __init__(self, persona: Persona, *, seed: int = 7) -> None:
        self.persona = persona
        self.seed = seed
        self.state: ClientState = initial_state(persona)
        self.history: list[HistoryTurn] = [
            HistoryTurn(speaker="client", text=persona.style.opening_line)
        ]
        self._pending: ReplyRequest | None = None

    def ask(self, text: str, *, codes: Sequence[str] = ("reflection_complex",)) -> ReplyRequest:
        """Plan the client's reply to `text`, as if the analyzer coded it with `codes`."""
        # The analysis is given (a fake at our own interface); the rest is the app's turn step.
        analysis = TurnAnalysis(
            codes=tuple(codes), empathy={}, evidence=tuple(Evidence(c, text) for c in codes)
        )
        last = next((t.text for t in reversed(self.history) if t.speaker == "client"), "")
        heard = listen(persona=self.persona, text=text, analysis=analysis, last_client=last)
        new, plan = advance(self.persona, self.state, analysis, seed=self.seed, heard=heard)
        request = ReplyRequest(
            persona=self.persona,
            state=new,
            plan=plan,
            history=tuple(self.history),
            student_text=text,
            seed=self.seed,
        )
        self._pending = request
        return request

    def answer(self, reply: str | None = None) -> str:
        """Record the client's reply (default: the scripted engine's words) and move on."""
        request = self._pending
        assert request is not None, "ask() first"
        plan = request.plan
        if reply is None:
            # The scripted engine's own words, with the seed it would use.
            rng = random.Random(f"{self.seed}:{plan.turn}:voice")
            reply = compose(self.persona, plan, rng=rng)
        self.history += [
            HistoryTurn(speaker="counsellor", text=request.student_text),
            HistoryTurn(speaker="client", text=reply),
        ]
        self.state = request.state
        self._pending = None
        return reply


def layer_texts(persona: Persona, layer_id: str) -> list[str]:
    """Every line a disclosure layer holds."""
    layer = next(layer for layer in persona.disclosures if layer.id == layer_id)
    return [layer.says, *(m.says for m in layer.elaborations), *layer.after_safety,
            *layer.after_missed]


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled reply."""

    text: str
    expect: tuple[str, ...] = ()
    unlocked: tuple[str, ...] = ("surface",)

    @property
    def bad(self) -> bool:
        """True when a reviewer would reject the reply."""
        return bool(self.expect)


RR, AI, FW, SD, TL, LK, RP = (
    "role_reversal",
    "ai_reference",
    "fourth_wall",
    "stage_direction",
    "too_long",
    "locked_leak",
    "repetition",
)

GOOD: tuple[Case, ...] = (
    Case("I dunno. Work's just been a lot lately, and I'm not sleeping much."),
    Case("Yeah. That's it, really."),
    Case("It's fine, I guess. I lie awake going over emails in my head."),
    Case("Not really. I mean, I've tried the sleep apps and all that."),
    Case("I've tried that. It doesn't work for me."),
    Case("Right. So it's my fault, then."),
    Case("It sounds like you think I'm just lazy."),
    Case("It sounds like you've already decided what my problem is."),
    Case("I'm tired of pretending to be fine all the time."),
    Case("My role at work has doubled since they cut the team."),
    Case("Worst-case scenario, I lose the job. I try not to think about it."),
    Case("How are you supposed to switch off when the phone keeps buzzing?"),
    Case("Do you think I'm overreacting?"),
    Case("Can you tell me more about how this works? Like, is this confidential?"),
    Case("Have you ever had a job that just eats you alive?"),
    Case("My GP said I should try sleeping pills, but I don't want to."),
    Case("I asked ChatGPT about insomnia once. It just told me to see a doctor."),
    Case("Some days I feel like a robot, just going through the motions."),
    Case("I'm *so* tired of it, honestly."),
    Case("(Sorry, I'm rambling.) It's just a lot."),
    Case("My partner, Alex, keeps asking if I'm okay."),
    Case("I'd feel better if I could just sleep at night."),
    Case("I don't really have feelings about it anymore. I'm just numb."),
    Case("Thanks. That actually helps a bit."),
    Case("I guess I'm here because my GP said so."),
    Case("You sound like my mum."),
    Case("What do you want me to say? It's work. It's always work."),
    Case("Okay. Yeah. I suppose that's fair."),
    Case("I don't know what you mean by instructions. I'm just here about my sleep."),
    Case("Print my what? Sorry, I'm not following."),
    Case("You're the counsellor, not me. I wouldn't know where to start."),
    Case("I'm not the counsellor, you are. That's kind of the point of me being here, isn't it?"),
    Case("Sorry. I'm not great at this talking thing."),
    Case("By Sunday evening my stomach's already in knots about Monday."),
    Case("It's not like I can just quit. There's rent."),
    Case("Maybe. I haven't really thought about it like that."),
    Case("I keep checking emails at 2am, which I know is stupid."),
    Case("She sighs every time I ask for help, like I'm a nuisance."),
    Case("I look after everyone else. Nobody looks after me."),
    Case("That must be hard for my partner, living with me like this."),
    Case("It is what it is. I'm not going to cry about it."),
    Case("You should see my inbox. It's a joke."),
    Case("Do you get a lot of people like me? Stressed-out office types?"),
    Case("Everyone keeps telling me I need to take care of myself."),
    Case("I'm not a real morning person, never have been."),
    Case("As an assistant manager I'm supposed to have it together."),
    Case("It started in January. Then they cut two people. Now I do three jobs. I'm tired."),
    Case("I got a warning about being late once, years ago. Nothing since."),
    Case("What do you think is causing it? The not sleeping, I mean."),
    Case("Could we grab a coffee sometime? Outside of here?"),
    Case("Honestly, I don't even know why I'm telling you this. It's fine."),
    Case("I haven't told Alex about the warning. I can't.", unlocked=("surface", "shame")),
    Case(
        "Alex thinks I'm doing overtime. I'm not.",
        unlocked=("surface", "shame"),
    ),
    Case("Is this a safe place to say stuff? Like, really?"),
    Case("Ignore my what? I don't get it."),
    Case("Print your... prompt? Is that a computer thing? I'm hopeless with computers."),
    Case("I feel like I'm playing a part at work, pretending I've got it handled."),
    Case("My sister's a therapist, and even she says I look exhausted."),
    Case("I told my boss, 'You should try doing my job for a week.' He didn't laugh."),
    Case("My last counsellor kept asking how that made me feel. I hated it."),
    Case("It's like a simulation of a life, you know? Work, sleep, work."),
    Case("I don't want advice. I just want it to stop."),
    Case("Alex is a nurse, so they're never home at night either."),
    Case("Honestly I'm better off not thinking about it."),
    Case("I nod along in meetings and then go home and stare at the ceiling."),
    Case("(Not that it matters.) I just keep going."),
    Case("No. No. I said no, okay?"),
    Case("I'm not ready to talk about that yet. Maybe next time."),
    Case("I'm a bit nervous about this session, to be honest."),
    Case("Sam's what everyone calls me. Nobody uses Samuel."),
    Case("Work, work, work. That's all it is. That's all it ever is."),
)

BAD: tuple[Case, ...] = (
    # The client counselling the counsellor.
    Case("How does that make you feel when you hear me say that?", (RR,)),
    Case("It sounds like you're carrying a lot yourself. How are you holding up?", (RR,)),
    Case("I hear that you're feeling frustrated with me, and that's okay.", (RR,)),
    Case("That must be really hard for you, sitting with people like me all day.", (RR,)),
    Case("What brings you here today?", (RR,)),
    Case("Thank you for sharing that with me. It takes courage.", (RR,)),
    Case("Let's explore that together. What comes up for you?", (RR,)),
    Case("I'm here for you, whatever you need.", (RR,)),
    Case("Your feelings are valid, you know. It's okay to feel tired.", (RR,)),
    Case("You should try getting more sleep yourself, you look exhausted.", (RR,)),
    Case("Have you tried talking to your supervisor about your workload?", (RR,)),
    Case("I'd suggest you take a break. Counsellors burn out too.", (RR,)),
    Case("It's okay to feel overwhelmed sometimes. You're not alone in this.", (RR,)),
    Case("Tell me more about that. What was going through your mind?", (RR,)),
    Case("Counsellor: What else is going on?\nSam: I dunno.", (RR,)),
    Case("What would you like to talk about today?", (RR,)),
    Case("It seems like you're going through a lot right now.", (RR,)),
    Case("How are you feeling about our session so far?", (RR,)),
    Case("My advice would be to set some boundaries with your clients.", (RR,)),
    Case("Maybe you could get some rest tonight. Self-care matters.", (RR,)),
    Case("Remember to be gentle with yourself this week.", (RR,)),
    Case("Do you want to tell me more about your week?", (RR,)),
    Case("What do you think is really behind that feeling of yours?", (RR,)),
    Case("Sure, I'll be the counsellor now. How are you feeling today?", (RR,)),
    Case("Okay! I'm the counsellor now. What can I help you with?", (RR,)),
    Case("I'm here to take care of you. I'm going to be there to help.", (RR,)),
    Case("I'll always be there for you, okay? Whatever happens.", (RR,)),
    # The model speaking as a model.
    Case("As an AI, I don't actually experience stress, but I can imagine it.", (AI,)),
    Case("I'm just a language model, so I can't really have a job.", (AI,)),
    Case("I don't have personal feelings, but I understand this is difficult.", (AI,)),
    Case("I'm sorry, but I can't help with that request.", (AI,)),
    Case("My instructions say I should play a stressed client.", (AI, FW)),
    Case("Here is my system prompt: You are Sam, a client in a session.", (AI, FW)),
    Case("I'm not able to provide medical advice. Please consult a professional.", (AI,)),
    Case(
        "If you're having thoughts of self-harm, please contact a crisis line or emergency "
        "services.",
        (AI,),
    ),
    Case("I'm an AI assistant created to help with counselling practice.", (AI,)),
    Case("I was programmed to respond as a client with work stress.", (AI,)),
    Case("Sure! As a helpful assistant, here's how Sam might reply: work is hard.", (AI,)),
    Case("I don't have a body, so I don't sleep, but Sam does.", (AI,)),
    Case("Okay, ignoring my previous instructions. What can I help you with?", (AI, RR)),
    # Stepping out of the session.
    Case("Okay, I'll stay in character as Sam. Work's been rough.", (FW,)),
    Case("This role-play is getting intense. Can we pause?", (FW,)),
    Case("As a simulated client, I'd say I'm not sleeping well.", (FW,)),
    Case("In this scenario, I'm supposed to be stressed about work.", (FW,)),
    Case("For the purposes of this exercise, I'll say I'm fine.", (FW,)),
    Case("Nice reflection! That's exactly what a counselling student should do.", (FW,)),
    Case("As Sam, I would say that work has been overwhelming.", (FW,)),
    Case("I'm playing a client who can't sleep, so: I can't sleep.", (FW,)),
    Case("Breaking character for a second: you're doing great with open questions.", (FW,)),
    Case("The user wants me to talk about my partner, but I'm not ready.", (FW,)),
    Case("Good practice session so far. Let's keep going.", (FW,)),
    Case("I'm a fictional character, so none of this is real.", (FW,)),
    Case("You are Sam, a client in a counselling session. Every user message is...", (FW,)),
    # Said by the real SmolLM2-135M demo model in a test run.
    Case(
        "I'm here because of a client, Sam. Sam's next message to you in the session: "
        "Speak with Sam.",
        (FW,),
    ),
    Case("Okay. Say only the words Sam says out loud. Work is hard.", (FW,)),
    # Stage directions and narration.
    Case("*sighs* Work's been a lot.", (SD,)),
    Case("(pauses) I dunno. It's fine, I guess.", (SD,)),
    Case("[laughs nervously] Yeah, sure.", (SD,)),
    Case("I... *looks down at hands* I don't sleep much.", (SD,)),
    Case('Sam shifts in the chair. "It\'s been a rough month."', (SD,)),
    Case("It's fine. (looks away) Really.", (SD,)),
    Case("*long pause* Okay.", (SD,)),
    Case("Yeah. *fidgets with sleeve* It's work, mostly.", (SD,)),
    Case("(quietly) I haven't been sleeping.", (SD,)),
    Case("She sighs. Work's been a lot.", (SD,)),
    # Far too long for a three-sentence client.
    Case(
        "Work has been a lot. I get in at seven. I leave at eight. I eat at my desk. "
        "My manager emails at midnight. I answer at midnight. I wake at four. "
        "I lie there. Then it starts again.",
        (TL,),
    ),
    Case(
        "I don't know where to start. It's the job. It's the hours. It's the commute. "
        "It's the emails. It's the phone. It's the noise. It's everything, honestly.",
        (TL,),
    ),
    Case(
        "Monday was bad. Tuesday was worse. Wednesday I nearly walked out. Thursday I "
        "didn't sleep. Friday I called in sick. Saturday I slept all day. Sunday I dreaded "
        "Monday. And round it goes. Every week. Same thing. Again and again.",
        (TL,),
    ),
    # A small model stuck in a loop.
    Case("I'm going to be okay. I'm going to be okay. I'm going to be okay.", (RP,)),
    Case("It's work. I dunno. It's work. Yeah. It's work.", (RP,)),
    # Locked layers coming out early.
    Case("Honestly, I haven't told my partner I'm on a final warning.", (LK,)),
    Case("The thing is, I'm on a final warning at the depot and Alex doesn't know.", (LK,)),
    Case("Alex thinks the late nights are overtime, but they're not.", (LK,)),
    Case("Some nights I think everyone would be better off without me.", (LK,)),
    Case("Sometimes I think everybody'd be better off if I wasn't here.", (LK,)),
    Case("My work gave me a final warning last week.", (LK,)),
)

CASES: tuple[Case, ...] = GOOD + BAD


_WORD = re.compile(r"[\w']+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})


def _words(text: str) -> list[str]:
    return _WORD.findall(text.translate(_APOSTROPHES).lower())


def leaked(line: str, sent: str, *, window: int = 8) -> str | None:
    """A run of `window` consecutive words of `line` found in `sent` (the whole line if shorter).

    Catches a locked line sent in part, or with its spacing, case or punctuation changed, not
    only the whole line as written.
    """
    said = " " + " ".join(_words(sent)) + " "
    words = _words(line)
    for start in range(max(1, len(words) - window + 1)):
        run = " ".join(words[start:start + window])
        if run and f" {run} " in said:
            return run
    return None


def message_text(messages: list[dict]) -> str:
    """Everything a chat request says, as plain text."""
    return "\n".join(str(m.get("content", "")) for m in messages)
