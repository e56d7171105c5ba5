"""The client's answer weighs a reflection: one the client does not recognise earns little."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.grading import grade_analytic, input_from_transcript
from app.grading.uptake import uptake
from app.rubric import load_rubrics
from tests.test_grading import transcript

CORE = load_rubrics(Path(__file__).resolve().parent.parent / "rubrics")["core-conditions"]

CLIENT = [
    "Work's been a lot lately. I'm not sleeping much, maybe four hours on a good night.",
    "I lie there going over emails in my head, stuff I forgot, stuff I said in meetings.",
    "My manager had me in his office on Thursday. Ten minutes, door shut.",
    "I haven't told my partner any of this. They think it's just a busy patch.",
    "There was a restructure. I'm basically doing two people's jobs now.",
    "Some days I wonder what the point of trying is.",
    "My chest goes tight when his name comes up on my screen.",
    "I used to climb every weekend. I haven't been in months.",
]
REFLECTIONS = [
    "So work's been heavy and you're barely sleeping.",
    "You lie awake going back over the emails and the meetings.",
    "That meeting on Thursday really shook you.",
    "You're carrying this on your own, without your partner knowing.",
    "Since the restructure you're doing two people's jobs.",
    "It sounds like you're wondering whether trying is worth it.",
    "Even his name on your screen makes your chest go tight.",
    "Climbing used to be yours, and it's slipped away.",
]


def _session(answers: list[str]) -> list[tuple[str, str]]:
    turns = [("client", CLIENT[0])]
    for reflection, answer, nxt in zip(REFLECTIONS, answers, [*CLIENT[1:], "Yeah."],
                                       strict=True):
        turns += [("counsellor", reflection), ("client", f"{answer} {nxt}".strip())]
    return turns


def _empathy(turns: list[tuple[str, str]]) -> float | None:
    grade = grade_analytic(input_from_transcript(transcript(turns)), CORE)
    return next(c.score for c in grade.criteria if c.id == "empathy")


def test_reflections_the_client_rejects_earn_less_than_ones_the_client_takes_up() -> None:
    n = len(REFLECTIONS)
    taken = _empathy(_session(["Yeah, exactly."] * n))
    half = _empathy(_session(["Yeah, exactly.", "Hang on, where did that come from?"] * (n // 2)))
    corrected = _empathy(_session(["Not really, it's more that I'm tired."] * n))
    rejected = _empathy(_session(["Sorry, what? I didn't say that."] * n))
    assert taken is not None and half is not None and corrected is not None
    assert half < taken and corrected <= taken
    # Rejected every time, the reflections count for nothing: no evidence of empathy at all.
    assert rejected is None


@pytest.mark.parametrize(("answer", "reading"), [
    ("Yeah. And it's been like that since March.", "taken"),
    ("No doubt about it.", "taken"),
    ("What about you, do you have kids?", "taken"),
    ("Sorry, what?", "confused"),
    ("…Huh?", "confused"),
    ("That's not what I said.", "confused"),
    ("Hang on, what's that got to do with anything?", "confused"),
    ("I don't know what you're on about.", "confused"),
    ("Nah. It's more the nights.", "corrected"),
    ("To be honest, I wouldn't say angry. Tired, more like.", "corrected"),
    ("Not exactly. It's my mum, not my dad.", "corrected"),
    ("Not empty, really. More annoyed.", "corrected"),
    ("Not angry so much. Worn out.", "corrected"),
    ("Not really sure yet, to be honest.", "corrected"),
    ("Not bad, actually. Better than last week.", "taken"),
])
def test_the_clients_answer_is_read_as_taken_up_corrected_or_not_followed(
    answer: str, reading: str
) -> None:
    assert uptake(answer) == reading


@pytest.mark.parametrize("answer", [
    "Where did that come from?",
    "I didn’t say that.",
    "It's not what I meant.",
    "That is not what I was saying.",
    "Not what I was talking about, no.",
    "What are you on about?",
    "You've lost me.",
    "Sorry, I've lost you.",
    "I'm not sure what you mean.",
    "I don't get what you're talking about.",
    "I wasn't talking about work.",
    "Are you even listening?",
    "Did I say that?",
    "What’s that to do with it?",
    "What has that got to do with my mum?",
    "Yeah, maybe. I don't think I mentioned that?",
    "I never mentioned that.",
])
def test_every_phrase_of_not_following_is_read_as_confused(answer: str) -> None:
    # One answer per phrase of uptake's _CONFUSED, so the cheap word check in front of the
    # regex cannot drop a phrase unnoticed.
    assert uptake(answer) == "confused"
