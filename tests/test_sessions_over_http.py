"""Full sessions through the HTTP API: a skilled student earns trust, a poor one does not.

The team's counsellor scripts (app/client/scripts) are played against every shipped persona
through the app as a browser uses it: POST each turn, read the reply, and let the script choose
its next line from the reply and the state the app stored. Nothing here calls the turn step
directly, so breaking the practice loop (trust never applied, turns analysed without context,
the stored state not carried forward) turns these red.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.client.selftest import ScriptCounsellor, auroc, load_scripts
from app.config import Settings
from app.main import create_app
from app.persona import Persona, load_library
from app.practice import session_turns, state_before
from app.services import services_of
from tests.support import ROOT

TURNS = 25  # the self-test's session length; trust is also compared at 5 and 20
PERSONAS: list[Persona] = list(load_library(ROOT / "personas").values())


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from tests.support import database_url

    folder = tmp_path_factory.mktemp("http-sessions")
    with database_url(folder) as url, TestClient(
        create_app(Settings(data_dir=folder, database_url=url, stream_delay=0.0))
    ) as test_client:
        yield test_client


def _script(quality: str):
    return next(s for s in load_scripts() if s.quality == quality)


def play(client: TestClient, persona: Persona, quality: str) -> dict:
    """One scripted session over HTTP; the trust after each turn and what opened when."""
    counsellor = ScriptCounsellor(_script(quality), persona, seed=7)
    sid = client.post("/api/sessions", json={"persona_id": persona.id}).json()["id"]
    engine = services_of(client.app).db_engine
    last = persona.style.opening_line
    plan = None
    trust: list[float] = []
    opened: dict[str, int] = {}
    replies: list[str] = []
    for number in range(1, TURNS + 1):
        with Session(engine) as db:
            state = state_before(session_turns(db=db, session_id=sid), persona)
        text = counsellor(last, state, plan)
        answer = client.post(f"/api/sessions/{sid}/turns", json={"text": text})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        reply = body["client_turn"]
        last = reply["text"]
        replies.append(last)
        trust.append(body["state"]["trust"])
        if reply["disclosed"]:
            opened.setdefault(reply["disclosed"], number)
        # The answer carries what the script needs to react to a boundary test.
        plan = SimpleNamespace(boundary_fire=reply["events"].get("boundary_test"), keys=[])
    return {"trust": trust, "opened": opened, "replies": replies, "sid": sid}


_PLAYED: dict[tuple[str, str], dict] = {}


def sessions(client: TestClient) -> dict[tuple[str, str], dict]:
    """Every persona, good and poor, played once for the module."""
    if not _PLAYED:
        for persona in PERSONAS:
            for quality in ("good", "poor"):
                _PLAYED[(persona.id, quality)] = play(client, persona, quality)
    return _PLAYED


def test_final_trust_separates_good_from_poor_at_every_turn_count(client: TestClient) -> None:
    played = sessions(client)
    for at in (5, 20, TURNS):
        good = [played[(p.id, "good")]["trust"][at - 1] for p in PERSONAS]
        poor = [played[(p.id, "poor")]["trust"][at - 1] for p in PERSONAS]
        floor = 0.85 if at == 5 else 0.95
        assert auroc(good, poor) >= floor, (at, good, poor)


def test_good_sessions_go_deep_and_poor_ones_stay_at_the_surface(client: TestClient) -> None:
    played = sessions(client)
    for persona in PERSONAS:
        good, poor = played[(persona.id, "good")], played[(persona.id, "poor")]
        first = persona.disclosures[0].id
        assert set(poor["opened"]) <= {first}, (persona.id, poor["opened"])
        # Trust is earned gradually: no session is pinned at the top before turn 15.
        assert 10.0 not in good["trust"][:14], (persona.id, good["trust"])
        assert good["trust"][-1] > poor["trust"][-1], persona.id
        assert persona.disclosures[-1].id in good["opened"], (persona.id, good["opened"])


def test_replies_are_not_repeated_word_for_word(client: TestClient) -> None:
    played = sessions(client)
    replies = repeats = 0
    for session in played.values():
        seen: set[str] = set()
        for reply in session["replies"]:
            replies += 1
            repeats += reply in seen
            seen.add(reply)
    assert repeats / replies <= 0.01, (repeats, replies)


def test_the_state_the_app_stored_is_the_state_it_answered(client: TestClient) -> None:
    played = sessions(client)
    persona = PERSONAS[0]
    session = played[(persona.id, "good")]
    with Session(services_of(client.app).db_engine) as db:
        turns = session_turns(db=db, session_id=session["sid"])
    stored = [t.state["trust"] for t in turns
              if t.speaker == "client" and t.state and t.index > 0]  # not the opening line
    assert stored == session["trust"]
    assert state_before(turns, persona).unlocked == list(session["opened"])
