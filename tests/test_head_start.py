"""A streamed reply asks its engine at once, before the response to the student starts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app import practice
from app.client.engine import ReplyEvent, ReplyRequest
from app.config import Settings
from app.models import Turn
from app.persona import load_library
from app.web.deps import Database


class RecordingEngine:
    """A client engine at our own interface: it notes when it is asked and when it stops."""

    name = "recording"
    model = None
    demo_quality = False
    history_turns = 6

    def __init__(self, *, first_token: asyncio.Event | None = None) -> None:
        self.asked = asyncio.Event()
        self.closed = False
        self._first_token = first_token

    async def reply(self, request: ReplyRequest) -> AsyncIterator[ReplyEvent]:
        self.asked.set()
        try:
            if self._first_token is not None:
                await self._first_token.wait()  # a model server still thinking
            for word in ("Work's ", "been ", "a lot."):
                yield ReplyEvent(kind="delta", text=word)
            yield ReplyEvent(kind="done", text="Work's been a lot.", meta={"engine": self.name})
        finally:
            self.closed = True

    async def check(self) -> str | None:
        return None

    async def aclose(self) -> None:
        return None


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    return db_engine


def _pending(engine: Engine) -> practice.PendingReply:
    persona = load_library(Settings().personas_dir)["sam-work-stress"]
    with Session(engine, expire_on_commit=False) as db:
        user = practice.get_or_create_local_user(db=db)
        session, _ = practice.create_session(db=db, persona=persona, owner_id=user.id or 0,
                                             engine="scripted")
        return practice.add_student_turn(db=db, session=session, persona=persona,
                                         text="What's been going on for you?",
                                         client_message_id=None)


def _replies(engine: Engine, pending: practice.PendingReply) -> list[str]:
    with Session(engine) as db:
        turns = db.exec(select(Turn).where(Turn.session_id == pending.student_turn.session_id)
                        .order_by(Turn.index)).all()
        return [t.text for t in turns if t.speaker == "client" and t.index > 0]


def test_the_engine_is_asked_before_the_stream_is_read(engine: Engine) -> None:
    pending = _pending(engine)
    runner = Database(engine)

    async def scenario() -> tuple[bool, list[str]]:
        voice = RecordingEngine()
        pending_ = await practice.secure_reply(runner=runner, pending=pending)
        events = await practice.start_reply(runner=runner, pending=pending_, engine=voice)
        asked_before_reading = voice.asked.is_set()
        kinds = [event.kind async for event in events]
        return asked_before_reading, kinds

    asked, kinds = asyncio.run(scenario())
    assert asked, "the engine was not asked until the response began to be read"
    assert kinds == ["student", "delta", "delta", "delta", "done"]
    assert _replies(engine, pending) == ["Work's been a lot."]


def test_a_stream_closed_before_its_first_token_stops_the_engine(engine: Engine) -> None:
    pending = _pending(engine)
    runner = Database(engine)

    async def scenario() -> RecordingEngine:
        voice = RecordingEngine(first_token=asyncio.Event())  # never set: the model hangs
        pending_ = await practice.secure_reply(runner=runner, pending=pending)
        events = await practice.start_reply(runner=runner, pending=pending_, engine=voice)
        first = await anext(events)
        assert first.kind == "student"
        await events.aclose()  # the student's browser went away
        await asyncio.sleep(0)
        return voice

    voice = asyncio.run(scenario())
    assert voice.asked.is_set() and voice.closed
    assert _replies(engine, pending) == []
    # The claim was given up, so Retry can ask again at once.
    with Session(engine) as db:
        saved = db.get(Turn, pending.student_turn.id) if pending.student_turn.id else None
        if saved is None:
            saved = db.exec(select(Turn).where(
                Turn.session_id == pending.student_turn.session_id,
                Turn.index == pending.student_turn.index)).one()
        assert saved.reply_claim is None
