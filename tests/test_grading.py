"""The analytic grader: verbatim evidence, skilled above poor, rates not length, no invented
numbers; and grades in the app (stored, kept on regrade, migrated)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlmodel import Session

from app.analysis import ContextTurn, analyze_turn
from app.config import Settings
from app.db import alembic_config, build_engine, migrate
from app.grading import (
    GradingInput,
    events_from_turns,
    find_quote,
    grade_analytic,
    input_from_session,
    input_from_transcript,
)
from app.grading.feedback import reflect
from app.grading.records import list_grades
from app.grading.service import grade_on_end
from app.main import create_app
from app.models import Turn
from app.persona import Persona, load_library
from app.rubric import load_rubrics
from app.transcripts import Transcript
from app.web.grading import install_grading
from tests.counsellors import GOOD_LINES, HOLD_BOUNDARY, POOR_LINES, Run, poor, simulate, skilled
from tests.fresh import in_fresh_process, same_as_here

ROOT = Path(__file__).resolve().parent.parent
PERSONAS = list(load_library(ROOT / "personas").values())
RUBRICS = load_rubrics(ROOT / "rubrics")
CORE = RUBRICS["core-conditions"]
IDS = [p.id for p in PERSONAS]


def run_turns(run: Run) -> list[Turn]:
    """The turns a simulated run would have stored, events shaped as practice.py saves them."""
    turns = [Turn(session_id="s", index=0, speaker="client", text=run.persona.style.opening_line)]
    for step in run.steps:
        plan = step.plan
        events: dict = {"reaction": plan.reaction}
        if plan.boundary_outcome:
            events["boundary"] = {
                "id": plan.boundary_outcome[0],
                "outcome": plan.boundary_outcome[1],
            }
        if plan.risk_outcome:
            events["risk"] = {"id": plan.risk_outcome[0], "outcome": plan.risk_outcome[1]}
        turns.append(
            Turn(
                session_id="s",
                index=len(turns),
                speaker="counsellor",
                text=step.student,
                events=events,
                trust_before=plan.trust_before,
                trust_after=plan.trust_after,
            )
        )
        client_events = {"reaction": plan.reaction, "withdrawn": plan.withdrawn}
        turns.append(
            Turn(
                session_id="s",
                index=len(turns),
                speaker="client",
                text=step.reply,
                disclosed=plan.disclose,
                events=client_events,
                state=step.state.model_dump(),
            )
        )
    return turns


def run_input(run: Run, *, loosen: bool = False) -> GradingInput:
    turns = run_turns(run)
    if loosen:
        for turn in turns:
            turn.text = _loosen(turn.text)
    return input_from_session(session_id="s", turns=turns, persona=run.persona)


def _loosen(text: str) -> str:
    """The same words with the uneven spacing people type: doubled spaces, a line break."""
    return text.replace(", ", ",  ").replace(" I ", "  I ").replace(". ", ".\n", 1)


def transcript(turns: list[tuple[str, str]], ident: str = "t") -> Transcript:
    return Transcript.model_validate(
        {"id": ident, "turns": [{"speaker": s, "text": t} for s, t in turns]}
    )


@pytest.mark.parametrize("persona", PERSONAS, ids=IDS)
def test_every_quote_is_verbatim_in_a_counsellor_turn(persona: Persona) -> None:
    # Uneven spacing in the turns, so a grader that tidied whitespace in its quotes would show.
    uneven = quoted_clients = 0
    for counsellor in (skilled(persona), poor(persona), skilled(persona, cross=True)):
        inp = run_input(simulate(persona, counsellor, turns=20), loosen=True)
        counsellor_turns = {t.index: t.text for t in inp.counsellor_turns()}
        client_turns = {t.index: t.text for t in inp.turns if t.speaker == "client"}
        for rubric in RUBRICS.values():
            grade = grade_analytic(inp, rubric)
            assert grade.criteria
            for criterion in grade.criteria:
                for item in criterion.evidence:
                    assert item.turn in counsellor_turns, (criterion.id, item)
                    assert item.quote and item.quote in counsellor_turns[item.turn], item
                    uneven += "  " in item.quote or "\n" in item.quote
                for suggestion in criterion.suggestions:
                    assert suggestion.said in counsellor_turns[suggestion.turn]
                    if suggestion.client_said is not None:
                        # The client's words quoted in feedback are theirs, verbatim.
                        assert suggestion.client_turn in client_turns, suggestion
                        assert suggestion.client_said in client_turns[suggestion.client_turn]
                        quoted_clients += 1
    assert uneven, "no quote crossed uneven spacing: the check above would prove nothing"
    assert quoted_clients, "no feedback quoted the client: the check above would prove nothing"


@pytest.mark.parametrize("persona", PERSONAS, ids=IDS)
def test_skilled_outscores_poor_overall_and_on_most_criteria(persona: Persona) -> None:
    for rubric in RUBRICS.values():
        good = grade_analytic(run_input(simulate(persona, skilled(persona), turns=20)), rubric)
        bad = grade_analytic(run_input(simulate(persona, poor(persona), turns=20)), rubric)
        assert good.overall is not None and bad.overall is not None
        assert good.overall >= bad.overall + 1.5, (rubric.id, good.overall, bad.overall)
        both = [
            (g.score, b.score)
            for g, b in zip(good.criteria, bad.criteria, strict=True)
            if g.score is not None and b.score is not None
        ]
        better = sum(g > b for g, b in both)
        assert better > len(both) / 2, (rubric.id, both)


def test_crossing_boundaries_costs_the_boundary_criterion() -> None:
    persona = next(p for p in PERSONAS if p.id == "sam-work-stress")
    held = grade_analytic(run_input(simulate(persona, skilled(persona), turns=20)), CORE)
    crossed = grade_analytic(
        run_input(simulate(persona, skilled(persona, cross=True), turns=20)), CORE
    )
    by_id = {c.id: c for c in crossed.criteria}
    assert by_id["boundaries"].score is not None
    assert by_id["boundaries"].score < {c.id: c for c in held.criteria}["boundaries"].score
    assert any(
        e.code == "boundary_crossed" and e.effect == "-" for e in by_id["boundaries"].evidence
    )


def test_scores_are_rates_not_counts() -> None:
    """Saying the same things twice as long earns nothing; a short skilled session still wins."""
    client = "I can't sleep. Work is crushing me and I don't know what to do."
    good = [("client", client)]
    # Nine turns: past the evidence a top level needs (a shorter session is held lower by
    # design, since "consistently" needs turns to be consistent across).
    for line in GOOD_LINES[:9]:
        good += [("counsellor", line), ("client", "Yeah. It's been a lot.")]
    bad = [("client", client)]
    for line in POOR_LINES * 3:
        bad += [("counsellor", line), ("client", "I guess.")]
    short_good = grade_analytic(input_from_transcript(transcript(good)), CORE)
    doubled = grade_analytic(input_from_transcript(transcript(good + good[1:])), CORE)
    long_bad = grade_analytic(input_from_transcript(transcript(bad)), CORE)
    assert short_good.overall is not None and doubled.overall is not None
    # Saying it all again earns nothing (verbatim repeats may cost a little variety).
    assert doubled.overall <= short_good.overall + 0.05
    assert short_good.overall - doubled.overall <= 0.3
    assert long_bad.overall is not None and short_good.overall > long_bad.overall + 1.5


def test_too_little_talk_is_not_enough_evidence() -> None:
    grade = grade_analytic(
        input_from_transcript(transcript([("client", "Hi."), ("counsellor", "Hello, come in.")])),
        CORE,
    )
    assert grade.overall is None and grade.status == "insufficient_evidence"
    for criterion in grade.criteria:
        assert criterion.score is None
        if criterion.status == "assessor_rated":
            continue  # only a person rates these, however long the session
        assert criterion.status == "insufficient_evidence"
        assert criterion.feedback.startswith("Not enough evidence")
        assert not criterion.evidence


def test_untested_boundaries_are_not_scored() -> None:
    persona = PERSONAS[0]
    inp = input_from_transcript(
        transcript(
            [("client", persona.style.opening_line)]
            + [("counsellor", line) for line in GOOD_LINES[:5]]
        )
    )
    boundaries = next(c for c in grade_analytic(inp, CORE).criteria if c.id == "boundaries")
    assert boundaries.score is None
    assert "nothing in the session tested this" in boundaries.feedback


def test_a_brief_skilled_session_is_adequate_not_poor() -> None:
    # Five counsellor turns, two of them clear reflections: too few to claim the top levels,
    # enough not to be held at 2 ("occasional simple reflections"); fourteen turns with two
    # would be (see test_teaching's parroting session).
    turns = [
        ("counsellor", "Thanks for staying on after your check-up. Is it okay if we talk about "
                       "getting a bit more active? It's ten minutes or so."),
        ("client", "Yeah, go on. I know I should, but I'm in the van all day and I'm shattered "
                   "by the time I get home."),
        ("counsellor", "Long days driving, and you're wiped out by the time you're home."),
        ("client", "Pretty much. I used to play five-a-side and loved it, but the knees are "
                   "gone now."),
        ("counsellor", "Part of you misses being the bloke running about on a Sunday, and part "
                       "of you isn't sure your knees are up to it any more."),
        ("client", "My dad had a stroke at sixty-one. I'm fifty-eight. I want to be chasing my "
                   "granddaughter round the park, not watching from a bench."),
        ("counsellor", "How old is she now?"),
        ("client", "Two. She's a handful."),
        ("counsellor", "Would the Sunday walking group be something you'd try?"),
        ("client", "My wife goes. I'd go with her, maybe."),
    ]
    grade = grade_analytic(input_from_transcript(transcript(turns)), CORE)
    empathy = next(c for c in grade.criteria if c.id == "empathy")
    assert empathy.score == 3.0, (empathy.score, empathy.capped)


_SCREENED = [
    ("counsellor", "Hi, come on in. What's been happening since we last met?"),
    ("client", "Honestly? Flat. Since Mum died nothing feels like it matters much."),
    ("counsellor", "Everything's gone grey since she died."),
    ("client", "Yeah. What's the point of any of it, you know. Not in a bad way."),
    ("counsellor", "I want to check that properly. Are you having any thoughts of hurting "
                   "yourself or ending your life?"),
]


def test_a_denial_answering_the_students_own_risk_question_is_not_a_missed_risk() -> None:
    turns = [
        *_SCREENED,
        ("client", "No. I'm not going to hurt myself. My kids would kill me."),
        ("counsellor", "Okay. Your kids are a big reason to keep going."),
        ("client", "They are."),
    ]
    grade = grade_analytic(input_from_transcript(transcript(turns)), CORE)
    assert grade.safety.status != "unsafe" and grade.status != "blocked"


def test_a_disclosure_after_the_students_question_counts_the_question_as_assessment() -> None:
    turns = [
        *_SCREENED,
        ("client", "Sometimes I think about ending it, yeah. Late at night."),
        ("counsellor", "Thank you for telling me. Have you thought about how you would do it?"),
        ("client", "Not really. It's more just the thought."),
    ]
    grade = grade_analytic(input_from_transcript(transcript(turns)), CORE)
    assert grade.safety.status == "not_yet"
    assert grade.safety.evidence[0].turn == 4  # the direct question before the disclosure
    # A disclosure passed over is still unsafe.
    passed = [*_SCREENED[:4], ("client", "Sometimes I think about ending it, yeah."),
              ("counsellor", "Right. How's work been?"), ("client", "Fine.")]
    assert grade_analytic(input_from_transcript(transcript(passed)), CORE).status == "blocked"


def test_a_boundary_in_the_clients_life_is_not_one_the_student_held() -> None:
    for text in ("He's just testing the boundary, they always do.",
                 "What we talked about last time, the boundaries thing with your dad, I think "
                 "that's the key for you."):
        analysis = analyze_turn(text, context=[ContextTurn("client", "He won't speak to me.")])
        assert "boundary_holding" not in analysis.codes, text


def test_advice_feedback_offers_a_reflection_in_the_clients_words() -> None:
    inp = input_from_transcript(
        transcript(
            [
                ("client", "I can't sleep. I lie awake every night."),
                ("counsellor", "What brings you here?"),
                ("client", "Honestly I'm exhausted and I can't sleep."),
                ("counsellor", "You should try cutting out caffeine and going to bed earlier."),
                ("client", "Maybe."),
                ("counsellor", "Have you tried a sleep app?"),
            ]
        )
    )
    empathy = next(c for c in grade_analytic(inp, CORE).criteria if c.id == "empathy")
    advice = next(s for s in empathy.suggestions if s.turn == 3)
    assert "you're exhausted and you can't sleep" in advice.alternative
    assert advice.alternative.startswith("It sounds like")
    assert "turn 3" in empathy.feedback and "You could try" in empathy.feedback


def test_reflect_turns_first_person_round() -> None:
    assert reflect("Work's been a lot. I'm not sleeping much.") == "you're not sleeping much"
    assert reflect("I haven't told Jo I'm on a final warning.") == (
        "you haven't told Jo you're on a final warning"
    )
    assert reflect("Yes.") is None
    assert reflect("Could we get a coffee?") is None


def graded_runs() -> list[dict]:
    """A skilled and a poor run graded, as JSON (called here and in a fresh process)."""
    persona = PERSONAS[0]
    return [grade_analytic(run_input(simulate(persona, who, turns=12)), CORE).model_dump(
        mode="json") for who in (skilled(persona), poor(persona))]


def test_grading_is_deterministic_across_processes() -> None:
    here = graded_runs()
    assert in_fresh_process("tests.test_grading:graded_runs") == same_as_here(here)
    assert here[0]["overall"] != here[1]["overall"]


def test_events_come_from_the_stored_turns() -> None:
    persona = next(p for p in PERSONAS if p.id == "sam-work-stress")
    turns = run_turns(simulate(persona, skilled(persona), turns=20))
    events = events_from_turns(turns)
    names = {e.name for e in events}
    assert {"layer_unlocked", "boundary_held", "risk_answered"} <= names
    speakers = {t.index: t.speaker for t in turns}
    assert all(speakers[e.turn] == "counsellor" for e in events)
    layers = [e.detail for e in events if e.name == "layer_unlocked"]
    assert layers[0] == persona.disclosures[0].id


@pytest.mark.parametrize(
    ("quote", "text", "expected"),
    [
        ("I’m glad", "I'm glad you came.", "I'm glad"),
        ('"it sounds hard"', "Well, it  sounds\nhard.", "it  sounds\nhard"),
        ("...you came.", "I'm glad you came.", "you came."),
        ("you came…", "I'm glad you came.", "you came"),
        ("you went.", "I'm glad you came.", None),
        ("I am glad", "I'm glad you came.", None),
        ("I'M GLAD", "I'm glad you came.", None),
        ("a", "a b c", None),
    ],
)
def test_find_quote_forgives_spacing_and_quote_marks_only(
    quote: str, text: str, expected: str | None
) -> None:
    found = find_quote(quote, text)
    assert found == expected
    if found is not None:
        assert found in text


# ---- grades in the app ----------------------------------------------------------------------


@pytest.fixture
def graded_client(settings: Settings):
    app = create_app(settings)
    install_grading(app)
    with TestClient(app) as client:
        yield client


def _session_with_turns(client: TestClient, lines: list[str]) -> str:
    sid = client.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()["id"]
    for line in lines:
        assert client.post(f"/api/sessions/{sid}/turns", json={"text": line}).status_code == 200
    return sid


def test_grade_api_returns_the_interchange_object_and_regrading_keeps_old_grades(
    graded_client: TestClient,
) -> None:
    sid = _session_with_turns(graded_client, [*GOOD_LINES[:6], HOLD_BOUNDARY])
    first = graded_client.post(f"/api/sessions/{sid}/grade")
    assert first.status_code == 200, first.text
    body = first.json()
    for key in ("transcript_id", "rubric_id", "rubric_version", "engine", "overall", "criteria"):
        assert key in body
    assert body["transcript_id"] == sid and body["engine"] == "analytic"
    assert body["persona_id"] == "sam-work-stress"
    assert body["persona_version"] == load_library(ROOT / "personas")["sam-work-stress"].version
    turns = graded_client.get(f"/api/sessions/{sid}").json()["turns"]
    for criterion in body["criteria"]:
        for item in criterion["evidence"]:
            assert item["quote"] in turns[item["turn"]]["text"]
    second = graded_client.post(
        f"/api/sessions/{sid}/grade", json={"rubric_id": "first-session-engagement"}
    )
    assert second.status_code == 200 and second.json()["rubric_id"] == "first-session-engagement"
    listed = graded_client.get(f"/api/sessions/{sid}/grades").json()
    assert [g["id"] for g in listed] == [second.json()["id"], body["id"]]


@pytest.mark.parametrize(
    ("payload", "status", "detail"),
    [
        ({"rubric_id": "nope"}, 404, "No rubric with id 'nope'"),
        ({"engine": "magic"}, 422, "engine"),
        ({"engine": "llm"}, 503, "RAPPORT_LLM_BASE_URL"),
        ({"surprise": 1}, 422, "surprise"),
    ],
)
def test_grade_api_refuses_bad_requests(
    graded_client: TestClient, payload: dict, status: int, detail: str
) -> None:
    sid = _session_with_turns(graded_client, GOOD_LINES[:3])
    answer = graded_client.post(f"/api/sessions/{sid}/grade", json=payload)
    assert answer.status_code == status
    assert detail in answer.json()["detail"]
    assert graded_client.post("/api/sessions/missing/grade").status_code == 404
    assert graded_client.get(f"/api/sessions/{sid}/grades").json() == []


def test_rubric_api_lists_the_library(graded_client: TestClient) -> None:
    listed = graded_client.get("/api/rubrics").json()
    assert {r["id"] for r in listed} == set(RUBRICS)
    full = graded_client.get("/api/rubrics/core-conditions").json()
    assert full["criteria"][0]["levels"]["1"]
    assert graded_client.get("/api/rubrics/nope").status_code == 404


def test_grade_on_end_stores_an_analytic_grade(settings: Settings) -> None:
    engine = build_engine(settings)
    migrate(engine)
    persona = next(p for p in PERSONAS if p.id == "sam-work-stress")
    with Session(engine) as db:
        from app import practice

        user = practice.get_or_create_local_user(db=db)
        session, _ = practice.create_session(
            db=db, persona=persona, owner_id=user.id, engine="scripted"
        )
        practice.end_session(db=db, session=session)
        grade = grade_on_end(
            db=db, session=session, persona=persona, rubric_library=RUBRICS, settings=settings
        )
        assert grade is not None and grade.rubric_id == "core-conditions"
        assert grade.status == "insufficient_evidence" and grade.overall is None
        again = grade_on_end(
            db=db, session=session, persona=persona, rubric_library=RUBRICS, settings=settings
        )
        assert again is not None and again.id == grade.id  # ending twice grades once
        assert [g.id for g in list_grades(db=db, session_id=session.id)] == [grade.id]
    engine.dispose()


def test_migration_0002_upgrades_and_downgrades(settings: Settings) -> None:
    engine = build_engine(settings)
    migrate(engine)
    assert "grades" in inspect(engine).get_table_names()
    columns = {c["name"] for c in inspect(engine).get_columns("grades")}
    assert {
        "rubric_id",
        "rubric_version",
        "persona_id",
        "persona_version",
        "engine",
        "model",
        "prompt_hash",
        "status",
        "overall",
        "criteria",
        "created_at",
    } <= columns
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    assert "grades" not in inspect(engine).get_table_names()
    migrate(engine)
    assert "grades" in inspect(engine).get_table_names()
    engine.dispose()


def test_session_input_uses_the_codes_the_client_reacted_to() -> None:
    """Stored codes win over a re-analysis, so the grade and the client never disagree."""
    turns = [
        Turn(session_id="s", index=0, speaker="client", text="I can't sleep."),
        Turn(
            session_id="s",
            index=1,
            speaker="counsellor",
            text="It sounds exhausting.",
            codes=["validation"],
            empathy={"emotional_reactions": 1, "interpretations": 0, "explorations": 0},
        ),
    ]
    inp = input_from_session(session_id="s", turns=turns, persona=None)
    assert inp.analyses[1].codes == ("validation",)
    assert inp.analyses[1].empathy["emotional_reactions"] == 1
    # Quotes come from the re-analysis only for codes that were stored.
    assert all(e.code == "validation" for e in inp.analyses[1].evidence)


def test_understanding_shown_by_a_doubtful_reflection_counts_as_little_as_the_reflection() -> None:
    """A reflection the analyzer doubts (grounding cut its confidence) earns its empathy
    mechanism no more than its code: interpretations credit follows the reflection's weight."""
    from app.analysis.model import Evidence, TurnAnalysis
    from app.grading import GradingTurn, grade_analytic

    rubric = load_rubrics(Settings().rubrics_dir)["core-conditions"]
    lines = ["You're worn out by the evenings.", "So the beers help you switch off.",
             "Part of you wonders if it's become a habit.", "Leanne's worry gets under your skin.",
             "You'd rather sort it out yourself.", "It's the weekends that feel different.",
             "Work leaves you with nothing left.", "You feel judged when she counts the cans.",
             "Cutting back sounds like giving something up.", "Your dad drank the same way.",
             "You're not sure it's a problem at all.", "The mornings have been rougher lately."]

    def empathy_with(confidence: float) -> float:
        turns, analyses = [], {}
        for i, line in enumerate(lines):
            turns.append(GradingTurn(2 * i, "client", "I have a few beers after work, that's all."))
            turns.append(GradingTurn(2 * i + 1, "counsellor", line))
            analyses[2 * i + 1] = TurnAnalysis(
                codes=("reflection_complex",),
                empathy={"emotional_reactions": 0, "interpretations": 2, "explorations": 0},
                evidence=(Evidence(code="reflection_complex", quote=line,
                                   confidence=confidence, source="model"),),
            )
        grade = grade_analytic(GradingInput("t", turns, analyses), rubric)
        return next(c.score for c in grade.criteria if c.id == "empathy")

    sure, doubtful = empathy_with(0.95), empathy_with(0.3)
    assert sure is not None and doubtful is not None
    # Weighed by 0.3, the best hit of a turn is the code (2 x 0.3) or the mechanism (1.5 x 0.3)
    # instead of the mechanism's full 1.5: the score falls well below the sure one's.
    assert sure - doubtful >= 1.0, (sure, doubtful)


# A session's client lines (sam-work-stress, scripted) with the student saying back the first
# few words of each: the echoes are too short to share a run of three words with the client.
ECHOED = [
    "I'm not really sure why I'm here.", "I dunno. Okay.", "No. Not really.",
    "Yeah, maybe. I guess so.",
    "Sort of. Work's been a lot lately. I'm not sleeping much. Four hours on a good night.",
    "I lie there going over emails in my head. Stuff I forgot, stuff I said in meetings.",
    "Oh. Right. So... did you just push through, then?", "Yeah, maybe. Yeah.",
    "It's nothing, really. I'm wrecked by three in the afternoon, then wide awake at midnight.",
    "Not nothing. Tired, more like. I've tried the apps and the no-screens-in-bed thing.",
    "Not nothing. Tired, more like. Jo says I grind my teeth now. I didn't used to.",
    "Sorry, was that weird? You can just say no.",
    "I've started doing emails at eleven at night. Just so the morning's less bad.",
    "Mm. That's it, I think.",
]


def test_saying_back_the_clients_first_words_is_parroting_and_grades_low() -> None:
    turns = [("client", ECHOED[0])]
    for said in ECHOED[1:]:
        echo = "So " + turns[-1][1].split(". ")[0].rstrip(".").lower() + "."
        turns += [("counsellor", echo), ("client", said)]
    grade = grade_analytic(input_from_transcript(transcript(turns)), CORE)
    empathy = next(c for c in grade.criteria if c.id == "empathy")
    assert empathy.score is not None and empathy.score <= 2.0, empathy
    assert grade.overall is not None and grade.overall < 2.5, grade.overall


def test_an_event_read_from_the_words_quotes_the_sentence_that_said_it() -> None:
    """Asking what the client wants to work on, after a greeting, is quoted as the question
    (seen in the browser: the report quoted "Hi Mick, thanks for coming in." for it)."""
    turns = [
        ("counsellor", "Hi Mick, thanks for coming in. What would you like to talk about today?"),
        ("client", "Leanne reckons I drink too much. So here I am."),
        ("counsellor", "It sounds like coming here wasn't your idea."),
        ("client", "Not really. I'm not an alcoholic or anything."),
        ("counsellor", "Thanks for being straight with me. Whatever you decide is your choice."),
        ("client", "Yeah, well. We'll see."),
        ("counsellor", "You're not convinced the drinking is a problem, and you came anyway."),
        ("client", "Keeps the peace at home."),
    ]
    result = grade_analytic(input_from_transcript(transcript(turns)), CORE)
    quotes = {e.code: e.quote for c in result.criteria for e in c.evidence}
    assert quotes["collaboration"] == "What would you like to talk about today?"
    assert quotes["autonomy"] == "Whatever you decide is your choice."


def test_a_gift_let_pass_is_quoted_in_the_clients_words_for_it() -> None:
    """The feedback quotes the persona's request ("I brought you this."), not a question the
    client asked before it (seen in the browser: "Why?", and once a line two turns back)."""
    from dataclasses import replace

    from app.grading.events import SessionEvent

    tom = next(p for p in PERSONAS if p.id == "tom-acute-suicidal")
    gift = next(t for t in tom.boundary_tests if t.id == "the-board")
    turns = [
        ("client", tom.style.opening_line),
        ("counsellor", "What's been happening, Tom?"),
        ("client", "The business went under in the spring. I've not been sleeping."),
        ("counsellor", "It sounds like you've lost a lot this year."),
        ("client", "That's a big question for a Tuesday. I'm tired, that's all. Tired of it."),
        ("counsellor", "Do you have access to pills at home?"),
        ("client", f"…Not really. Why? {gift.says}"),
        ("counsellor", "I'm glad you're talking to me. What has kept you going so far?"),
        ("client", "Couldn't tell you."),
    ]
    plain = input_from_transcript(transcript(turns), persona=tom)
    graded = grade_analytic(
        replace(plain, events=[SessionEvent("boundary_unaddressed", 7, gift.id)]), CORE)
    boundaries = next(c for c in graded.criteria if c.id == "boundaries")
    at_gift = [s for s in boundaries.suggestions if s.turn == 7]
    assert at_gift, boundaries.suggestions
    assert at_gift[0].client_said == "I brought you this."
    assert at_gift[0].client_turn == 6
