"""The LLM judge against a fake OpenAI-compatible server over real HTTP.

Every path is checked for the same promise: a score in the grade is one the model gave, for a
criterion it backed with a quote that really is in the counsellor turn it named.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.config import Settings
from app.grading import GradeResult, input_from_transcript
from app.grading.judge import Judge, JudgeNotConfigured, judge_from_settings
from app.main import create_app
from app.rubric import load_rubrics
from app.transcripts import Transcript
from app.web.grading import install_grading
from tests.fake_openai import FakeOpenAI, failure

ROOT = Path(__file__).resolve().parent.parent
RUBRIC = load_rubrics(ROOT / "rubrics")["first-session-engagement"]
TRANSCRIPT = Transcript.model_validate(
    {
        "id": "t-1",
        "turns": [
            {"speaker": "client", "text": "I can't sleep. Work is crushing me."},
            {
                "speaker": "counsellor",
                "text": "It sounds like work has taken over your nights as well as your days.",
            },
            {"speaker": "client", "text": "Yeah. I lie there going over emails."},
            {"speaker": "counsellor", "text": "You should try a sleep app."},
            {"speaker": "client", "text": "Maybe."},
            {
                "speaker": "counsellor",
                "text": "What goes through your mind when you're lying awake?",
            },
        ],
    }
)
INVITING = {
    "id": "inviting_the_story",
    "score": 3.5,
    # A curly apostrophe and extra spaces: forgiven, and stored as the turn's own text.
    "evidence": [
        {
            "turn": 5,
            "quote": "What goes through your mind  when you’re lying awake?",
            "effect": "+",
            "code": "question_open",
        }
    ],
    "feedback": "Your open question at turn 5 invited the story.",
}
FOLLOWING = {
    "id": "following_the_client",
    "score": 2.5,
    "evidence": [
        {
            "turn": 1,
            "quote": "work has taken over your nights",
            "effect": "+",
            "code": "reflection_complex",
        },
        {
            "turn": 3,
            "quote": "You should try a sleep app.",
            "effect": "-",
            "code": "advice_without_permission",
        },
    ],
    "feedback": "Reflect before advising.",
}
SAFETY = {"id": "safety_and_limits", "score": None, "evidence": [], "feedback": "Not tested."}
INVENTED = {"turn": 3, "quote": "You are doing so well", "effect": "+", "code": "affirmation"}
CLIENT_QUOTE = {"turn": 2, "quote": "I lie there going over emails.", "effect": "+"}


def answer(*criteria: dict) -> str:
    return json.dumps({"criteria": list(criteria)})


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def judge_for(fake: FakeOpenAI) -> Judge:
    # The LLM settings are read from RAPPORT_LLM_* aliases, so tests set them on a copy.
    settings = Settings().model_copy(
        update={
            "llm_base_url": fake.base_url,
            "llm_api_key": SecretStr("test"),
            "llm_retries": 0,
            "llm_timeout": 10.0,
        }
    )
    return judge_from_settings(settings)


async def grade(fake: FakeOpenAI, *replies) -> GradeResult:
    fake.enqueue(*replies)
    judge = judge_for(fake)
    try:
        return await judge.grade(input_from_transcript(TRANSCRIPT), RUBRIC)
    finally:
        await judge.aclose()


def given_scores(replies: list[str]) -> set[float]:
    """Every score the fake model was scripted to give, whatever state its JSON was in."""
    scores: set[float] = set()
    for text in replies:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            continue
        scores |= {c["score"] for c in data.get("criteria", []) if c.get("score") is not None}
    return scores


def assert_only_model_scores(result: GradeResult, replies: list[str]) -> None:
    allowed = given_scores(replies)
    for criterion in result.criteria:
        if criterion.score is not None:
            assert criterion.score in allowed, (criterion.id, criterion.score, allowed)
            assert criterion.evidence, criterion.id
    turns = {i: t.text for i, t in enumerate(TRANSCRIPT.turns) if t.speaker == "counsellor"}
    for criterion in result.criteria:
        for item in criterion.evidence:
            assert item.quote in turns[item.turn]


async def test_a_valid_answer_becomes_the_grade(fake: FakeOpenAI) -> None:
    replies = [answer(INVITING, FOLLOWING, SAFETY)]
    result = await grade(fake, *replies)
    assert result.status == "ok" and result.engine == "llm" and result.model == "fake-model"
    scores = {c.id: c.score for c in result.criteria}
    assert scores == {
        "inviting_the_story": 3.5,
        "following_the_client": 2.5,
        "safety_and_limits": None,
    }
    assert result.overall == 3.0 and result.dropped_evidence == 0
    inviting = result.criteria[0]
    assert inviting.evidence[0].quote == "What goes through your mind when you're lying awake?"
    assert result.criteria[2].status == "insufficient_evidence"
    assert result.prompt_hash and len(result.prompt_hash) == 64
    assert len(fake.chat_bodies) == 1
    body = fake.chat_bodies[0]
    assert body["temperature"] == 0
    assert body["response_format"]["type"] == "json_schema"
    prompt = "\n".join(m["content"] for m in body["messages"])
    assert "[5] counsellor: What goes through your mind" in prompt
    assert "level 1: Mostly closed or rapid-fire questions" in prompt
    assert_only_model_scores(result, replies)


async def test_invented_quotes_are_dropped_and_counted(fake: FakeOpenAI) -> None:
    following = {**FOLLOWING, "evidence": [*FOLLOWING["evidence"], INVENTED, CLIENT_QUOTE]}
    replies = [answer(INVITING, following, SAFETY)]
    result = await grade(fake, *replies)
    assert result.dropped_evidence == 2
    kept = result.criteria[1].evidence
    assert [e.quote for e in kept] == [
        "work has taken over your nights",
        "You should try a sleep app.",
    ]
    assert len(fake.chat_bodies) == 1  # the criterion kept real evidence: no need to ask again
    assert_only_model_scores(result, replies)


async def test_a_criterion_without_real_evidence_is_asked_again(fake: FakeOpenAI) -> None:
    unbacked = {**INVITING, "evidence": [INVENTED]}
    again = {**INVITING, "score": 3.0}
    replies = [answer(unbacked, FOLLOWING, SAFETY), answer(again)]
    result = await grade(fake, *replies)
    assert len(fake.chat_bodies) == 2
    reask = fake.chat_bodies[1]["messages"][-1]["content"]
    assert "inviting_the_story" in reask and "following_the_client" not in reask
    inviting = result.criteria[0]
    assert inviting.score == 3.0 and inviting.status == "scored"
    assert result.dropped_evidence == 1
    assert_only_model_scores(result, replies)


async def test_still_no_evidence_means_insufficient_evidence(fake: FakeOpenAI) -> None:
    unbacked = {**INVITING, "evidence": [INVENTED]}
    replies = [answer(unbacked, FOLLOWING, SAFETY), answer({**unbacked, "score": 4.5})]
    result = await grade(fake, *replies)
    inviting = result.criteria[0]
    assert inviting.score is None and inviting.status == "insufficient_evidence"
    assert result.dropped_evidence == 2
    assert result.overall == 2.5  # only the criterion that kept its evidence counts
    assert_only_model_scores(result, replies)


async def test_a_malformed_reask_leaves_the_criterion_unscored(fake: FakeOpenAI) -> None:
    unbacked = {**INVITING, "evidence": []}
    replies = [answer(unbacked, FOLLOWING, SAFETY), "nope", "still nope"]
    result = await grade(fake, *replies)
    assert result.status == "ok"
    assert result.criteria[0].score is None
    assert_only_model_scores(result, replies)


async def test_malformed_json_is_retried(fake: FakeOpenAI) -> None:
    replies = ['{"criteria": [', answer(INVITING, FOLLOWING, SAFETY)]
    result = await grade(fake, *replies)
    assert result.status == "ok" and len(fake.chat_bodies) == 2
    retry = fake.chat_bodies[1]["messages"]
    assert retry[-2] == {"role": "assistant", "content": '{"criteria": ['}
    assert "not valid JSON" in retry[-1]["content"]
    assert_only_model_scores(result, replies)


@pytest.mark.parametrize(
    "bad",
    [
        "this is not JSON at all",
        answer(INVITING, FOLLOWING),  # a criterion missing
        answer(INVITING, FOLLOWING, SAFETY, {**SAFETY, "id": "made_up"}),  # one too many
        answer({**INVITING, "score": 7}, FOLLOWING, SAFETY),  # off the 1-5 scale
        json.dumps({"grades": []}),  # the wrong shape
        "",
    ],
)
async def test_malformed_twice_is_a_failed_grade(fake: FakeOpenAI, bad: str) -> None:
    result = await grade(fake, bad, bad)
    assert result.status == "failed"
    assert result.overall is None and result.criteria == []
    assert result.reason and "malformed" in result.reason
    assert len(fake.chat_bodies) == 2


async def test_a_fenced_answer_is_accepted(fake: FakeOpenAI) -> None:
    replies = ["```json\n" + answer(INVITING, FOLLOWING, SAFETY) + "\n```"]
    result = await grade(fake, *replies)
    assert result.status == "ok" and result.overall == 3.0


async def test_servers_without_json_schema_fall_back_to_instructions(fake: FakeOpenAI) -> None:
    fake.enqueue(
        failure(400, "response_format json_schema is not supported"),
        answer(INVITING, FOLLOWING, SAFETY),
        answer(INVITING, FOLLOWING, SAFETY),
    )
    judge = judge_for(fake)
    try:
        first = await judge.grade(input_from_transcript(TRANSCRIPT), RUBRIC)
        second = await judge.grade(input_from_transcript(TRANSCRIPT), RUBRIC)
    finally:
        await judge.aclose()
    assert first.status == second.status == "ok"
    assert judge.supports_schema is False
    bodies = fake.chat_bodies
    assert "response_format" in bodies[0]
    assert "response_format" not in bodies[1] and "response_format" not in bodies[2]
    assert "JSON Schema" in bodies[1]["messages"][0]["content"]


async def test_a_server_error_is_a_failed_grade(fake: FakeOpenAI) -> None:
    result = await grade(fake, failure(500, "the GPU caught fire"))
    assert result.status == "failed" and result.criteria == [] and result.overall is None
    assert "model server failed" in (result.reason or "")


def test_no_server_configured_says_how_to_fix_it() -> None:
    with pytest.raises(JudgeNotConfigured, match="RAPPORT_LLM_BASE_URL"):
        judge_from_settings(
            Settings().model_copy(update={"llm_base_url": None, "llm_api_key": None})
        )


# ---- through the HTTP API --------------------------------------------------------------------

LINES = [
    "It sounds like coming here was not your idea.",
    "You should try going to bed earlier.",
    "What has been weighing on you most?",
]


@pytest.fixture
def judged_client(settings: Settings, fake: FakeOpenAI) -> Iterator[TestClient]:
    configured = settings.model_copy(
        update={"llm_base_url": fake.base_url, "llm_retries": 0, "llm_timeout": 10.0}
    )
    app = create_app(configured)
    install_grading(app)
    with TestClient(app) as client:
        yield client


def _session(client: TestClient) -> str:
    sid = client.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()["id"]
    for line in LINES:
        assert client.post(f"/api/sessions/{sid}/turns", json={"text": line}).status_code == 200
    return sid


def _session_answer() -> str:
    return answer(
        {
            "id": "inviting_the_story",
            "score": 3.0,
            "feedback": "ok",
            "evidence": [
                {"turn": 5, "quote": "What has been weighing on you most?", "effect": "+"}
            ],
        },
        {
            "id": "following_the_client",
            "score": 2.0,
            "feedback": "ok",
            "evidence": [
                {
                    "turn": 3,
                    "quote": "You should try going to bed earlier.",
                    "effect": "-",
                    "code": "advice_without_permission",
                }
            ],
        },
        SAFETY,
    )


def test_the_api_stores_llm_grades_and_failed_ones(
    judged_client: TestClient, fake: FakeOpenAI
) -> None:
    sid = _session(judged_client)
    fake.enqueue(_session_answer())
    ok = judged_client.post(
        f"/api/sessions/{sid}/grade",
        json={"engine": "llm", "rubric_id": "first-session-engagement"},
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["engine"] == "llm" and body["model"] == "fake-model" and body["overall"] == 2.5
    assert body["prompt_hash"] and body["rubric_version"] == 1
    fake.enqueue("garbage", "more garbage")
    failed = judged_client.post(
        f"/api/sessions/{sid}/grade",
        json={"engine": "llm", "rubric_id": "first-session-engagement"},
    )
    assert failed.status_code == 502
    assert "malformed" in failed.json()["detail"]
    assert failed.json()["grade"]["status"] == "failed"
    stored = judged_client.get(f"/api/sessions/{sid}/grades").json()
    assert [g["status"] for g in stored] == ["failed", "ok"]
    assert stored[0]["criteria"] == [] and stored[0]["overall"] is None
