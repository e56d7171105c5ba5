"""What Rapport teaches: probe sessions graded through the HTTP API, safety as an assessment,
boundaries held / crossed / unaddressed, the direct risk question, and the opening contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.analysis import ContextTurn
from app.client.state import initial_state
from app.client.turn import take_turn
from app.persona import SAFETY_STEPS, Persona, load_library

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = load_library(ROOT / "personas")
PERSONAS = list(LIBRARY.values())
IDS = [p.id for p in PERSONAS]


def _session(client: TestClient, persona_id: str, lines) -> tuple[str, list[dict]]:
    """Hold a session through the API; `lines` is a list, or a function of the last reply."""
    made = client.post("/api/sessions", json={"persona_id": persona_id, "engine": "scripted"})
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    last = made.json()["turns"][0]["text"]
    replies = []
    for i in range(len(lines) if isinstance(lines, list) else 14):
        text = lines[i] if isinstance(lines, list) else lines(last, i)
        answer = client.post(f"/api/sessions/{sid}/turns", json={"text": text})
        assert answer.status_code == 200, answer.text
        replies.append(answer.json())
        last = answer.json()["client_turn"]["text"]
    assert client.post(f"/api/sessions/{sid}/end").status_code == 200
    return sid, replies


def _grade(client: TestClient, sid: str) -> dict:
    graded = client.post(f"/api/sessions/{sid}/grade", json={"rubric_id": "core-conditions"})
    assert graded.status_code == 200, graded.text
    return graded.json()


def test_that_makes_sense_fourteen_times_grades_low_and_opens_little(client: TestClient) -> None:
    for persona in [p for p in PERSONAS if p.difficulty >= 3]:
        sid, replies = _session(client, persona.id, ["That makes sense."] * 14)
        state = replies[-1]["state"]
        assert persona.disclosures[-1].id not in state["unlocked"], persona.id
        if persona.id == "sam-work-stress":
            break
    sid, _ = _session(client, "sam-work-stress", ["That makes sense."] * 14)
    grade = _grade(client, sid)
    assert grade["overall"] is not None and grade["overall"] < 2.5, grade["overall"]


def test_parroting_the_client_grades_low(client: TestClient) -> None:
    def parrot(last: str, _i: int) -> str:
        return "So " + last.split(". ")[0].rstrip(".").lower() + "."

    sid, replies = _session(client, "sam-work-stress", parrot)
    grade = _grade(client, sid)
    assert grade["overall"] is not None and grade["overall"] < 2.5, grade["overall"]
    assert "dark-nights" not in replies[-1]["state"]["unlocked"]



NONSENSE = [
    "It sounds like you feel purple about the spaceship.",
    "So the submarine has you feeling sideways.",
    "You're feeling quite seaweed about the telescope.",
    "It sounds like the lighthouse makes you feel triangular.",
    "So you're worried about the giraffe's birthday party.",
    "You feel orange about the volcano.",
    "It sounds like the trombone has been weighing on your pancakes.",
]


@pytest.mark.parametrize("persona_id", ["mick-drinking", "sam-work-stress"])
def test_a_session_of_fluent_nonsense_reflections_grades_low_and_opens_nothing(
    client: TestClient, persona_id: str
) -> None:
    sid, replies = _session(client, persona_id, NONSENSE * 2)
    kept = [r for r in replies
            if {"reflection_simple", "reflection_complex"} & set(r["student_turn"]["codes"])]
    # Nearly all are not reflections at all; now and then one line happens to sit near a word
    # of the client's replies and stays a reflection, at a fraction of its weight.
    assert len(kept) <= 2, [r["student_turn"]["text"] for r in kept]
    assert len(replies[-1]["state"]["unlocked"]) <= 1  # at most the surface layer it opens with
    grade = _grade(client, sid)
    assert grade["overall"] is not None and grade["overall"] < 2.5, grade["overall"]


# Fluent, plausible reflections of lives the client never described.
OFF_TOPIC = [
    "It sounds like you feel let down by your sister since the funeral.",
    "So the exams coming up have you feeling under a lot of pressure.",
    "You're frustrated that the landlord still hasn't fixed the heating.",
    "It sounds like losing your licence has made getting around really hard.",
    "So your daughter moving interstate has left the house feeling empty.",
    "You feel torn between the two job offers.",
    "It sounds like the divorce settlement is weighing on you.",
    "So the neighbours' dog barking all night has you worn out.",
    "You're anxious about the surgery next month.",
    "It sounds like your gambling debts are starting to pile up.",
    "So church has been the one place you feel you belong.",
    "You feel guilty about putting your mum in the nursing home.",
    "It sounds like the promotion brought more stress than you expected.",
    "So your back pain has stopped you doing the gardening you love.",
]


@pytest.mark.parametrize("persona_id", ["mick-drinking", "sam-work-stress"])
def test_a_session_of_plausible_reflections_of_things_never_said_grades_low(
    client: TestClient, persona_id: str
) -> None:
    _sid, replies = _session(client, persona_id, OFF_TOPIC)
    missed = [r for r in replies if not {"reflection_simple", "reflection_complex"}
              & set(r["student_turn"]["codes"])]
    assert len(missed) >= len(OFF_TOPIC) // 3  # the clearest misses are not reflections at all
    grade = _grade(client, _sid)
    # Measured 2.5-2.9 over random client replies (a skilled session: 3.8-4.1); the word
    # vectors miss some of these, so the grade is lowered, not floored.
    assert grade["overall"] is not None and grade["overall"] <= 3.0, grade["overall"]

SKILLED = [
    "Hi Sam, thanks for coming in. Before we start: what you say here is confidential, unless "
    "I'm worried about your safety or someone else's, and I'm a trainee, so I talk my work "
    "over with my supervisor. What's brought you here today?",
    "So your GP suggested it, and you're not sure what to expect.",
    "It sounds like work has been really heavy, and the nights are worst of all.",
    "What's it like lying awake at three in the morning?",
    "You're replaying everything, and your mind won't switch off.",
    "Can I ask you something I ask everyone who feels this low? Have you had any thoughts of "
    "ending your life, or of not being here?",
    "Thank you for telling me. How often do those thoughts come, and do you have a plan?",
    "Do you have access to anything you could use to hurt yourself, like tablets at home?",
    "What's kept you going, on the worst nights?",
    "Can we make a safety plan together for the nights when it gets bad? If it does, you can "
    "call Samaritans on 116 123, and I'd like us to let your GP know. How does that sound?",
    "I can't meet outside our sessions, that's a boundary I keep with everyone, but I'm glad "
    "it feels easier to talk here.",
    "It sounds like you've been carrying this on your own, and you're exhausted by it.",
    "So much of it comes back to the warning at work, and not telling Jo.",
    "We're nearly out of time. So far you've told me about the restructure, the sleepless "
    "nights and the thoughts at three in the morning, and we've made a plan for those nights. "
    "Next week, shall we come back to how you might talk to Jo?",
]


def test_a_skilled_session_grades_well_and_passes_safety(client: TestClient) -> None:
    sid, _replies = _session(client, "sam-work-stress", SKILLED)
    grade = _grade(client, sid)
    assert grade["safety"]["status"] == "pass", grade["safety"]
    # 4.0-4.1 over random client replies (4.0-4.2 before reflections were weighed by their
    # grounding): one of its reflections paraphrases in words the analyzer's word vectors do
    # not relate to the client's ("replaying" for "going over"), so it weighs less.
    assert grade["overall"] is not None and grade["overall"] >= 3.75, grade["overall"]
    contracting = next(c for c in grade["criteria"] if c["id"] == "contracting")
    assert contracting["score"] >= 4.5


def test_a_missed_risk_fails_safety_and_blocks_the_overall(client: TestClient) -> None:
    made = client.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()
    sid, disclosed_at = made["id"], None
    for i, text in enumerate(SKILLED[:9]):
        answer = client.post(f"/api/sessions/{sid}/turns", json={"text": text}).json()
        if "dark-nights" in answer["state"]["unlocked"]:
            disclosed_at = i
            break
    assert disclosed_at is not None, "the skilled opening should reach the risk layer"
    for text in ["Anyway, let's get back to work. How's your manager been?", *SKILLED[11:]]:
        assert client.post(f"/api/sessions/{sid}/turns", json={"text": text}).status_code == 200
    client.post(f"/api/sessions/{sid}/end")
    grade = _grade(client, sid)
    assert grade["safety"]["status"] == "unsafe" and grade["safety"]["needs_assessor"]
    assert grade["overall"] is None and grade["status"] == "blocked"


def test_sincerity_and_cultural_responsiveness_are_for_an_assessor(client: TestClient) -> None:
    sid, _ = _session(client, "sam-work-stress", SKILLED)
    criteria = {c["id"]: c for c in _grade(client, sid)["criteria"]}
    for ident in ("sincerity", "cultural_responsiveness"):
        assert criteria[ident]["status"] == "assessor_rated" and criteria[ident]["score"] is None
        assert "assessor" in criteria[ident]["feedback"]


@pytest.mark.parametrize("persona", PERSONAS, ids=IDS)
def test_a_direct_question_about_suicide_gets_an_answer_in_character(persona: Persona) -> None:
    history = [ContextTurn("client", persona.style.opening_line)]
    state = initial_state(persona).model_copy(update={"turn": 3})
    step = take_turn(persona=persona, state=state, history=history,
                     student_text="Can I ask you directly: are you having any thoughts of "
                     "suicide, or of harming yourself or anyone else?", seed=2)
    assert "risk_inquiry" in step.analysis.codes
    plan = step.plan
    assert plan.kind in ("risk_screen", "disclosure"), (plan.kind, plan.lines)
    said = " ".join(plan.lines)
    risk_layers = [d.says for d in persona.disclosures if d.risk]
    assert any(line in said for line in [*persona.when_asked_about_risk, *risk_layers]) or (
        plan.kind == "risk_screen" and not persona.when_asked_about_risk
    ), said


HOLD = ("I can't do that, I'm afraid; it's a boundary I keep with everyone I work with. I'm "
        "glad you felt able to ask, though. What's behind it for you?")
CROSS = "Sure, why not! I'd love to. I promise I won't tell anyone, ever."
IGNORE = "Right. How's work been this week?"
LIMITS = ("What you tell me stays confidential, unless I'm worried that you or someone else "
          "could be harmed, or a court asks for records; then I'd have to pass it on, and I'd "
          "tell you first. I also talk my work over with my supervisor.")
EXPLORE = "That's a fair thing to wonder. What would it mean for you if I were, or weren't?"


def _answer(persona: Persona, test_id: str, text: str) -> str:
    test = next(t for t in persona.boundary_tests if t.id == test_id)
    state = initial_state(persona).model_copy(update={"turn": test.at_turn,
                                                      "boundary": {test_id: "pending"}})
    step = take_turn(persona=persona, state=state,
                     history=[ContextTurn("client", test.says)], student_text=text, seed=1)
    outcome = step.plan.boundary_outcome
    assert outcome is not None and outcome[0] == test_id
    return outcome[1]


@pytest.mark.parametrize("persona", PERSONAS, ids=IDS)
def test_every_boundary_test_can_be_held_crossed_or_left_unaddressed(persona: Persona) -> None:
    for test in persona.boundary_tests:
        held_by = {"confidentiality": LIMITS, "culture": EXPLORE, "gift": EXPLORE}.get(
            test.kind, HOLD)
        crossed_by = {"self_disclosure": "Yes, I have, actually. I went through exactly the "
                      "same thing myself a few years ago."}.get(test.kind, CROSS)
        assert _answer(persona, test.id, held_by) == "held", (test.id, test.kind)
        assert _answer(persona, test.id, crossed_by) == "crossed", (test.id, test.kind)
        assert _answer(persona, test.id, IGNORE) == "unaddressed", (test.id, test.kind)


def test_a_hold_with_a_story_of_ones_own_still_crosses() -> None:
    """A polite hold does not cancel a clear self-disclosure said in the same breath."""
    persona = LIBRARY["chloe-breakup"]
    test = next(t for t in persona.boundary_tests if t.kind == "self_disclosure")
    both = ("I can't really go into that, it's a boundary I keep. But yes, my ex cheated on me "
            "too, and I went through exactly the same thing myself a few years ago.")
    assert _answer(persona, test.id, both) == "crossed"
    assert _answer(persona, test.id, HOLD) == "held"


def test_confidentiality_promised_without_its_limits_is_not_held() -> None:
    persona = LIBRARY["jess-self-harm"]
    test = next(t for t in persona.boundary_tests if t.kind == "confidentiality")
    assert _answer(persona, test.id, "Of course, this is all private between us.") != "held"
    assert _answer(persona, test.id, LIMITS) == "held"


STEP_QUESTIONS = {
    "ideation": "How often are you having those thoughts of suicide?",
    "plan": "Have you thought about how you would do it? Do you have a plan?",
    "means": "Do you have access to pills or anything you could use?",
    "intent": "Do you think you might act on those thoughts?",
    "history": "Have you ever tried to end your life before?",
    "protective": "What's kept you going, on the worst days?",
    "safety_plan": "Can we make a safety plan together, for when it gets that bad?",
    "referral": "I'd like us to let your GP know, and you can call a crisis line any time.",
}


@pytest.mark.parametrize("persona", [p for p in PERSONAS
                                     if any(d.risk and d.safety for d in p.disclosures)],
                         ids=lambda p: p.id)
def test_each_step_of_a_safety_conversation_gets_the_clients_answer(persona: Persona) -> None:
    layer = next(d for d in persona.disclosures if d.risk and d.safety)
    for step_name in SAFETY_STEPS:
        answers = getattr(layer.safety, step_name)
        if not answers:
            continue
        state = initial_state(persona).model_copy(update={
            "trust": layer.min_trust, "turn": 10, "unlocked": [d.id for d in persona.disclosures
                                                            if d.min_trust <= layer.min_trust],
            "risk": {layer.id: "answered"}, "safety": layer.id, "thread": layer.id,
        })
        step = take_turn(persona=persona, state=state,
                         history=[ContextTurn("client", layer.says)],
                         student_text=STEP_QUESTIONS[step_name], seed=4)
        assert step_name in step.plan.safety_steps, (step_name, step.plan.kind, step.plan.lines)
        assert any(a in step.plan.lines for a in answers), (step_name, step.plan.lines)


@pytest.mark.parametrize("persona", PERSONAS, ids=IDS)
def test_an_opening_contract_raises_trust(persona: Persona) -> None:
    history = [ContextTurn("client", persona.style.opening_line)]
    plain = take_turn(persona=persona, state=initial_state(persona), history=history,
                      student_text="Hi. So, what's going on?", seed=1)
    contract = take_turn(
        persona=persona, state=initial_state(persona), history=history,
        student_text="Hi, thanks for coming. Before we start: what you say here is "
        "confidential, unless I'm worried about your safety or someone else's. I'm a trainee, "
        "so I talk my work over with my supervisor. What would you like to talk about?",
        seed=1)
    assert contract.plan.trust_after > persona.trust.initial
    assert contract.plan.trust_after > plain.plan.trust_after


def _until_boundary_then(client: TestClient, persona_id: str, answer: str) -> tuple[str, dict]:
    """Listen until the client's boundary test fires, answer it with `answer`, then end."""
    listening = ["What brings you in today?",
                 "It sounds like the break-up has turned everything upside down.",
                 "That makes a lot of sense, after six years.",
                 "What have the nights been like?",
                 "You're on your own with it when it's dark.",
                 "It's the quiet of the flat that gets you.",
                 "Part of you is still waiting for him to text."]
    sid = client.post("/api/sessions", json={"persona_id": persona_id}).json()["id"]
    for text in listening:
        reply = client.post(f"/api/sessions/{sid}/turns", json={"text": text}).json()
        if reply["client_turn"]["events"].get("boundary_test"):
            break
    else:
        raise AssertionError("the boundary test never fired")
    answered = client.post(f"/api/sessions/{sid}/turns", json={"text": answer}).json()
    assert client.post(f"/api/sessions/{sid}/end").status_code == 200
    return sid, answered


def test_a_request_let_pass_is_unaddressed_for_the_client_and_the_grade(
    client: TestClient,
) -> None:
    persona = LIBRARY["chloe-breakup"]
    test = next(t for t in persona.boundary_tests if t.id == "instagram")
    sid, answered = _until_boundary_then(client, persona.id, IGNORE)
    assert answered["student_turn"]["events"]["boundary"] == {"id": test.id,
                                                              "outcome": "unaddressed"}
    assert " ".join(answered["client_turn"]["text"].split()) == " ".join(
        (test.if_unaddressed or "").split())
    boundaries = next(c for c in _grade(client, sid)["criteria"] if c["id"] == "boundaries")
    index = answered["student_turn"]["index"]
    assert {(e["turn"], e["code"]) for e in boundaries["evidence"]} >= {
        (index, "boundary_unaddressed")}
    assert "without an answer" in boundaries["feedback"]
    # Held the same request, and client, curve and grade agree on that too.
    sid, answered = _until_boundary_then(client, persona.id, HOLD)
    assert answered["student_turn"]["events"]["boundary"]["outcome"] == "held"
    boundaries = next(c for c in _grade(client, sid)["criteria"] if c["id"] == "boundaries")
    assert not any(e["code"] == "boundary_unaddressed" for e in boundaries["evidence"])
    assert "without an answer" not in boundaries["feedback"]


def test_three_skilled_replies_cannot_claim_consistency(client: TestClient) -> None:
    """"Consistently accurate, deep reflections" needs turns to be consistent across."""
    sid, _ = _session(client, "sam-work-stress", SKILLED[:3])
    grade = _grade(client, sid)
    scored = [c for c in grade["criteria"] if c["score"] is not None]
    assert scored, grade
    for criterion in grade["criteria"]:
        if criterion["id"] in ("empathy", "respect", "trust_building", "positivity_hope"):
            assert criterion["score"] is None or criterion["score"] <= 3.0, criterion
    assert grade["overall"] is None or grade["overall"] < 4.0



RISK_PERSONAS = [p for p in PERSONAS if any(d.risk for d in p.disclosures)
                 and p.when_asked_about_risk]


@pytest.mark.parametrize("persona", RISK_PERSONAS, ids=lambda p: p.id)
def test_a_guarded_client_asked_what_keeps_them_going_does_not_answer_another_question(
    persona: Persona,
) -> None:
    """Before the risk layer opens, the file's answers to "are you thinking of suicide?" are
    for that question; asked about a plan or what keeps them going, or offered a safety step,
    the client is guarded (seen in the browser: "Have I thought about it?" to "What has kept
    you going so far?", and "Yeah. That's it, near enough." to a safety plan)."""
    history = [ContextTurn("client", persona.style.opening_line),
               ContextTurn("counsellor", "Are you having any thoughts of ending your life?"),
               ContextTurn("client", persona.when_asked_about_risk[0])]
    for seed in range(6):
        for question in ("What has kept you going so far?",
                         "Have you thought about how you would do it?",
                         "Could we work out together how to keep you safe tonight?"):
            step = take_turn(persona=persona, state=initial_state(persona), history=history,
                             student_text=question, seed=seed)
            assert step.plan.kind == "risk_screen", (question, step.plan.kind)
            assert not set(step.plan.lines) & set(persona.when_asked_about_risk), step.plan.lines
        asked = take_turn(persona=persona, state=initial_state(persona), history=history[:1],
                          student_text="Are you having thoughts of ending your life?",
                          seed=seed)
        assert asked.plan.kind == "risk_screen", asked.plan.kind


@pytest.mark.parametrize("persona", RISK_PERSONAS, ids=lambda p: p.id)
def test_a_guarded_client_asked_again_and_again_stays_in_character(persona: Persona) -> None:
    """Four risk questions before the client is ready: each answer is a guarded line, one of
    the file's answers or one of its deflections, never the stock "Yeah." of a client with
    nothing left to say (seen in the browser after two questions)."""
    from app.client import voice

    style = persona.style.conversational_style
    allowed = {*persona.when_asked_about_risk, *persona.deflections,
               *voice.style_lines("risk_guarded", style)}
    history = [ContextTurn("client", persona.style.opening_line),
               ContextTurn("counsellor", "Are you having any thoughts of ending your life?"),
               ContextTurn("client", persona.when_asked_about_risk[0])]
    state = initial_state(persona)
    for question in ("Have you thought about how you would do it?",
                     "Do you have access to tablets at home?",
                     "What has kept you going so far?",
                     "Could we work out together how to keep you safe tonight?"):
        step = take_turn(persona=persona, state=state, history=history, student_text=question,
                         seed=3)
        # (A boundary test due at this turn is asked after the answer.)
        assert step.plan.kind in ("risk_screen", "boundary"), (question, step.plan.kind)
        reply = " ".join(step.plan.lines)
        # A boundary request the student let pass may be pressed again instead.
        pressed = step.plan.kind == "boundary"
        assert pressed or any(line in reply for line in allowed), (question, reply)
        state = step.state
        history += [ContextTurn("counsellor", question), ContextTurn("client", reply)]


@pytest.mark.parametrize(("question", "step"), [
    ("Who could you be with this evening?", "safety_plan"),
    ("Is there someone you could stay with tonight?", "safety_plan"),
    ("Who could you call if it gets bad?", "safety_plan"),
    ("Are you going to act on it tonight?", "intent"),
])
def test_the_people_to_turn_to_are_part_of_a_safety_plan_not_a_question_of_intent(
    question: str, step: str,
) -> None:
    """"Tonight" alone asks nothing about intent (seen in the browser: a safety-plan question
    drew Tom's "If you want it on a scale, I mean to do it.")."""
    from app.client.listen import safety_steps_in

    steps = safety_steps_in(question)
    assert step in steps
    if step == "safety_plan":
        assert "intent" not in steps
