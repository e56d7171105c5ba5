"""The practice loop's data functions: sessions, turns and the state they carry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol

import anyio
from sqlalchemy import func, insert, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from app.analysis import TurnAnalysis
from app.analysis.stored import EVENTS_KEY, analysis_record
from app.client.engine import (
    ClientEngine,
    EngineError,
    HistoryTurn,
    ReplyEvent,
    ReplyRequest,
)
from app.client.state import ClientState, ReplyPlan, initial_state
from app.client.turn import take_turn
from app.domain import DomainError
from app.metrics import ENGINE_ERRORS, TURN_SECONDS, TURNS
from app.models import LOCAL_USER_EMAIL, PracticeSession, Turn, User, utcnow
from app.persona import Persona
from app.reply_claims import (
    HEARTBEAT_SECONDS,
    claim_reply,
    new_claim,
    release_reply,
    renew_claim,
)

__all__ = [
    "IMPORTED_ENGINE",
    "LOCAL_USER_EMAIL",
    "ConflictError",
    "DuplicateMessage",
    "NewTurn",
    "PendingReply",
    "TurnContext",
    "add_client_turn",
    "add_student_turn",
    "check_active",
    "choose_engine",
    "create_session",
    "end_session",
    "get_or_create_local_user",
    "get_session",
    "list_sessions",
    "load_turn_context",
    "pending_reply",
    "plan_student_turn",
    "recent_turns",
    "save_student_turn",
    "secure_reply",
    "session_turns",
    "start_reply",
    "state_before",
    "stream_reply",
]

logger = logging.getLogger("rapport")
# The engine name of a session stored from an imported transcript: read and graded only.
IMPORTED_ENGINE = "imported"


class ConflictError(DomainError):
    """The request clashes with the session's current state (ended, reply pending, race)."""

    status_code = 409


class DuplicateMessage(Exception):
    """A concurrent request saved the same `client_message_id` first: answer as a repeat."""


@dataclass(slots=True, kw_only=True)
class NewTurn:
    """A turn this request writes, as plain data with the columns of `Turn` (but `id`).

    Setting a `Turn`'s instrumented attributes cost more than its INSERT; the turn path
    builds, reads and writes these instead (tests hold the fields to the table's columns).
    """

    session_id: str
    index: int
    speaker: str
    text: str
    codes: list[str]
    guard_events: list[dict[str, Any]]
    created_at: datetime
    empathy: dict[str, int] | None = None
    trust_before: float | None = None
    trust_after: float | None = None
    disclosed: str | None = None
    events: dict[str, Any] | None = None
    state: dict[str, Any] | None = None
    client_message_id: str | None = None
    engine: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    reply_claim: str | None = None
    reply_claimed_at: datetime | None = None
    id: int | None = None  # not read back after the INSERT: the API never shows it


@dataclass(frozen=True, slots=True)
class PendingReply:
    """A saved student turn waiting for the client's reply, and how to produce it."""

    student_turn: Turn | NewTurn
    request: ReplyRequest
    state: ClientState
    existing_reply: Turn | NewTurn | None = None
    is_new: bool = False
    # The reply claim (app.reply_claims) this request holds, if any: only its holder may run
    # an engine for the turn.
    claim: str | None = None


def choose_engine(
    *, requested: str | None, persona: Persona, default: str, available: Collection[str]
) -> str | None:
    """The engine for a new session: the one asked for, the persona's, or the default.

    None when an explicitly requested engine is not available here.
    """
    if requested:
        return requested if requested in available else None
    if persona.engine and persona.engine in available:
        return persona.engine
    return default if default in available else "scripted"


def get_or_create_local_user(*, db: Session) -> User:
    """The single user who owns sessions when accounts are off."""
    user = db.exec(select(User).where(User.email == LOCAL_USER_EMAIL)).first()
    if user is not None:
        return user
    user = User(email=LOCAL_USER_EMAIL, name="Local student", role="student")
    db.add(user)
    try:
        db.commit()
    except IntegrityError:
        # Another worker created it first; theirs is as good as ours.
        db.rollback()
        return db.exec(select(User).where(User.email == LOCAL_USER_EMAIL)).one()
    db.refresh(user)
    return user


def create_session(
    *, db: Session, persona: Persona, owner_id: int, engine: str, seed: int | None = None,
    revision: int | None = None,
) -> tuple[PracticeSession, list[Turn]]:
    """Start a session: the client's opening line is turn 0.

    `revision` is the stored library version the persona came from (None: its shipped file);
    the session keeps it, so a later publish never changes a conversation under way.
    """
    session = PracticeSession(
        id=secrets.token_urlsafe(12),
        owner_id=owner_id,
        persona_id=persona.id,
        persona_version=persona.version,
        persona_revision=revision,
        engine=engine,
        seed=secrets.randbelow(2**31) if seed is None else seed,
    )
    state = initial_state(persona)
    opening = Turn(
        session_id=session.id,
        index=0,
        speaker="client",
        text=persona.style.opening_line,
        trust_after=state.trust,
        state=state.model_dump(),
        engine="scripted",
    )
    db.add(session)
    db.add(opening)
    db.commit()
    db.refresh(session)
    db.refresh(opening)
    return session, [opening]


def get_session(*, db: Session, session_id: str, owner_id: int | None) -> PracticeSession | None:
    """A session if it exists and (when owner_id is given) belongs to that user."""
    session = db.get(PracticeSession, session_id)
    if session is None or (owner_id is not None and session.owner_id != owner_id):
        return None
    return session


def list_sessions(*, db: Session, owner_id: int) -> list[tuple[PracticeSession, int]]:
    """A user's sessions, newest first, each with its number of turns."""
    counts = (
        select(Turn.session_id, func.count(col(Turn.id)).label("n"))
        .group_by(col(Turn.session_id))
        .subquery()
    )
    rows = db.exec(
        select(PracticeSession, counts.c.n)
        .join(counts, counts.c.session_id == PracticeSession.id, isouter=True)
        .where(PracticeSession.owner_id == owner_id)
        .order_by(col(PracticeSession.created_at).desc())
    ).all()
    return [(session, n or 0) for session, n in rows]


def session_turns(*, db: Session, session_id: str) -> list[Turn]:
    """All turns of a session in order."""
    return list(
        db.exec(select(Turn).where(Turn.session_id == session_id).order_by(col(Turn.index))).all()
    )


# Turns loaded to plan a reply: enough for the analyzer's context, its check that a reflection
# takes up something the client said (15 client turns), and any engine's history window, so a
# turn costs the same at turn 5 and turn 200.
RECENT_TURNS = 30


def recent_turns(
    *, db: Session, session_id: str, upto: int | None = None, limit: int = RECENT_TURNS
) -> list[Turn]:
    """The last `limit` turns before index `upto` (default: all), oldest first."""
    query = select(Turn).where(Turn.session_id == session_id)
    if upto is not None:
        query = query.where(Turn.index < upto)
    rows = db.exec(query.order_by(col(Turn.index).desc()).limit(limit)).all()
    return list(reversed(rows))


def state_before(turns: Sequence[Turn], persona: Persona) -> ClientState:
    """The client's state after the last client turn in `turns`."""
    for turn in reversed(turns):
        if turn.speaker == "client" and turn.state is not None:
            return ClientState.model_validate(turn.state)
    return initial_state(persona)


def _request_for(
    *, persona: Persona, session: PracticeSession, earlier: list[Turn], student: Turn
) -> tuple[ReplyRequest, ClientState, TurnAnalysis]:
    """Re-derive the plan for a student turn; deterministic, so a retry plans the same reply."""
    step = take_turn(
        persona=persona,
        state=state_before(earlier, persona),
        history=earlier,
        student_text=student.text,
        seed=session.seed,
    )
    history = [HistoryTurn(speaker=t.speaker, text=t.text) for t in earlier]  # type: ignore[arg-type]
    request = ReplyRequest(
        persona=persona,
        state=step.state,
        plan=step.plan,
        history=history,
        student_text=student.text,
        seed=session.seed,
    )
    return request, step.state, step.analysis


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What planning a student turn needs from the database, read in one go."""

    session: PracticeSession
    turns: list[Turn]
    sent: Turn | None = None
    sent_reply: Turn | None = None
    sent_window: list[Turn] | None = None


def load_turn_context(
    *,
    db: Session,
    session: PracticeSession,
    client_message_id: str | None,
    window: int = RECENT_TURNS,
) -> TurnContext:
    """Read the last `window` turns, and the earlier turn of a repeated message id if any."""
    # The turns first, the repeat check after: a concurrent copy of this message saved between
    # the two reads is then found as a repeat, never taken for an unanswered earlier message.
    turns = recent_turns(db=db, session_id=session.id, limit=window)
    if client_message_id is not None:
        sent = db.exec(
            select(Turn).where(
                Turn.session_id == session.id, Turn.client_message_id == client_message_id
            )
        ).first()
        if sent is not None:
            earlier = recent_turns(
                db=db, session_id=session.id, upto=sent.index + 1, limit=window
            )
            reply = db.exec(
                select(Turn).where(Turn.session_id == session.id, Turn.index == sent.index + 1)
            ).first()
            return TurnContext(
                session=session, turns=[], sent=sent, sent_reply=reply, sent_window=earlier
            )
    return TurnContext(session=session, turns=turns)


def plan_student_turn(
    *, context: TurnContext, persona: Persona, text: str, client_message_id: str | None
) -> PendingReply:
    """Analyse the student's message and plan the reply; no database work.

    For a repeated `client_message_id` this is the saved turn (with its reply if one was saved),
    so a retried request never produces two turns. Otherwise the student turn is new and not
    yet saved: `save_student_turn` commits it before any engine runs.
    """
    session = context.session
    if context.sent is not None and context.sent_window is not None:
        return _pending(
            persona=persona, session=session, turns=context.sent_window,
            reply=context.sent_reply,
        )
    turns = context.turns
    check_active(session)
    if turns and turns[-1].speaker == "counsellor":
        raise ConflictError(
            "The client has not answered your last message yet. Retry it before sending another."
        )
    claim = new_claim()
    now = utcnow()
    student = NewTurn(
        session_id=session.id,
        index=turns[-1].index + 1 if turns else 0,
        speaker="counsellor",
        text=text,
        client_message_id=client_message_id,
        codes=[],
        guard_events=[],
        created_at=now,
        # Saved already claimed: the request that saves a turn produces its reply.
        reply_claim=claim,
        reply_claimed_at=now,
    )
    request, state, analysis = _request_for(
        persona=persona, session=session, earlier=turns, student=student
    )
    plan = request.plan
    student.codes = list(analysis.codes)
    student.empathy = dict(analysis.empathy)
    student.trust_before = plan.trust_before
    student.trust_after = plan.trust_after
    # The analysis is kept with the turn: grading reads it instead of analysing again.
    student.events = _student_events(plan) | {EVENTS_KEY: analysis_record(analysis)}
    return PendingReply(
        student_turn=student, request=request, state=state, is_new=True, claim=claim
    )


def check_active(session: PracticeSession) -> None:
    """ConflictError unless the session can take another turn (active, not imported)."""
    if session.engine == IMPORTED_ENGINE:
        raise ConflictError(
            "This session was imported: it can be read and graded, but not continued."
        )
    if session.status != "active":
        raise ConflictError("This session has ended; start a new one to keep practising.")


def save_student_turn(*, db: Session | Connection, pending: PendingReply) -> None:
    """Commit a newly planned student turn (on an ORM session or a plain Core connection).

    A clash with another message is a ConflictError; a clash with a concurrent copy of the
    same message (same `client_message_id`) is DuplicateMessage, to be answered as a repeat.
    """
    student = pending.student_turn
    try:
        # Inside the try: PostgreSQL reports the unique-index clash at the INSERT itself.
        _insert(db, student)
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        if student.client_message_id is not None:
            twin = db.execute(
                select(Turn.id).where(
                    Turn.session_id == student.session_id,
                    Turn.client_message_id == student.client_message_id,
                )
            ).first()
            if twin is not None:
                raise DuplicateMessage from exc
        raise ConflictError("Another message for this session arrived at the same time.") from exc


def _insert(db: Session | Connection, turn: Turn | NewTurn) -> None:
    """INSERT one turn without the ORM's unit of work, which costs more than the write."""
    values = {name: getattr(turn, name) for name in _TURN_COLUMNS}
    # Values as parameters, not baked into the statement, so the compiled INSERT is cached.
    db.execute(_TURN_INSERT, values)


_TURN_TABLE = Turn.__table__  # type: ignore[attr-defined]
_TURN_COLUMNS = [c.name for c in _TURN_TABLE.columns if c.name != "id"]
_TURN_INSERT = insert(_TURN_TABLE)


def add_student_turn(
    *,
    db: Session,
    session: PracticeSession,
    persona: Persona,
    text: str,
    client_message_id: str | None,
) -> PendingReply:
    """Read, plan and commit the student's turn in one call (see the three steps above)."""
    context = load_turn_context(db=db, session=session, client_message_id=client_message_id)
    pending = plan_student_turn(
        context=context, persona=persona, text=text, client_message_id=client_message_id
    )
    if pending.is_new:
        save_student_turn(db=db, pending=pending)
    return pending


def pending_reply(*, db: Session, session: PracticeSession, persona: Persona) -> PendingReply:
    """The unanswered last student turn of a session, ready to retry."""
    check_active(session)
    turns = recent_turns(db=db, session_id=session.id)
    if not turns or turns[-1].speaker != "counsellor":
        raise ConflictError("There is no unanswered message to retry.")
    return _pending(persona=persona, session=session, turns=turns, reply=None)


def _pending(
    *, persona: Persona, session: PracticeSession, turns: list[Turn], reply: Turn | None
) -> PendingReply:
    """Re-plan the reply to `turns[-1]`, a saved student turn."""
    request, state, _ = _request_for(
        persona=persona, session=session, earlier=turns[:-1], student=turns[-1]
    )
    return PendingReply(student_turn=turns[-1], request=request, state=state, existing_reply=reply)


def _student_events(plan: ReplyPlan) -> dict:
    """What the student's turn set off, for the transcript and the grader."""
    events: dict = {"reaction": plan.reaction}
    if plan.boundary_outcome:
        events["boundary"] = {"id": plan.boundary_outcome[0], "outcome": plan.boundary_outcome[1]}
    if plan.risk_outcome:
        events["risk"] = {"id": plan.risk_outcome[0], "outcome": plan.risk_outcome[1]}
    return events


def add_client_turn(
    *, db: Session | Connection, pending: PendingReply, text: str, meta: dict
) -> Turn | NewTurn:
    """Commit the client's completed reply to a student turn (ORM session or Core connection)."""
    plan = pending.request.plan
    events: dict = {"reaction": plan.reaction, "withdrawn": plan.withdrawn}
    if plan.boundary_fire:
        events["boundary_test"] = plan.boundary_fire
    if plan.elaborate:
        events["elaborated"] = plan.elaborate
    if meta.get("outcome"):
        # How a model-voiced reply ended: the model's words, a regeneration, or the fallback.
        events["voice"] = {"outcome": meta["outcome"], "attempts": meta.get("attempts")}
    turn = NewTurn(
        session_id=pending.student_turn.session_id,
        index=pending.student_turn.index + 1,
        speaker="client",
        text=text,
        trust_before=plan.trust_before,
        trust_after=plan.trust_after,
        codes=[],
        disclosed=plan.disclose,
        events=events,
        state=pending.state.model_dump(),
        engine=meta.get("engine"),
        model=meta.get("model"),
        prompt_tokens=meta.get("prompt_tokens"),
        completion_tokens=meta.get("completion_tokens"),
        ttft_ms=meta.get("ttft_ms"),
        total_ms=meta.get("total_ms"),
        guard_events=list(meta.get("guard_events") or []),
        created_at=utcnow(),
    )
    try:
        _insert(db, turn)
        db.commit()
    except IntegrityError as exc:
        # A concurrent retry already saved the reply: keep theirs, never two replies.
        db.rollback()
        existing = db.execute(
            _TURN_TABLE.select().where(
                col(Turn.session_id) == turn.session_id, col(Turn.index) == turn.index)
        ).first()
        if existing is None:
            raise ConflictError("The reply could not be saved; please retry.") from exc
        return Turn(**existing._mapping)
    return turn


def end_session(*, db: Session, session: PracticeSession) -> PracticeSession:
    """Mark a session ended (idempotent); ConflictError if it was discarded meanwhile."""
    if session.status != "ended":
        sid = session.id
        # A conditional UPDATE, not the ORM's: the student may discard the session in another
        # tab at the same moment (app.retention.discard_session), and then no row is left.
        db.exec(  # type: ignore[call-overload]
            update(PracticeSession)
            .where(col(PracticeSession.id) == sid,
                   col(PracticeSession.status) != "ended")
            .values(status="ended", ended_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.commit()
        now = db.exec(select(PracticeSession.status).where(PracticeSession.id == sid))
        if now.first() != "ended":
            raise ConflictError("This session was discarded, so there is nothing to end.")
        db.refresh(session)
    return session


class Runner(Protocol):
    """Runs a data function with a short-lived database session (app.web.deps.Database)."""

    def run(self, fn: Callable[..., Any], /, **kwargs: object) -> Awaitable[Any]: ...

    def write(self, fn: Callable[..., Any], /, **kwargs: object) -> Awaitable[Any]: ...


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event of a reply: the saved student turn, text as it comes, then done or error."""

    kind: Literal["student", "delta", "replace", "done", "error"]
    text: str = ""
    turn: Turn | None = None  # the student turn (student) or the committed client turn (done)
    message: str = ""
    retryable: bool = True
    data: dict = field(default_factory=dict)


SERVER_ERROR = "Something went wrong on the server. Try again."

# How long a repeated message or a second Retry waits for the request already producing the
# reply before it answers 409; replies that take longer are fetched with another repeat.
REPLY_WAIT_SECONDS = 30.0


async def secure_reply(*, runner: Runner, pending: PendingReply) -> PendingReply:
    """The pending reply with either its saved reply or a claim to produce it.

    Only one request at a time may run an engine for a turn: a duplicate waits for the
    holder's reply and answers with it, so the model is asked once. Raises ConflictError when
    the holder takes longer than REPLY_WAIT_SECONDS.
    """
    if pending.existing_reply is not None or pending.claim is not None:
        return pending
    claim = new_claim()
    deadline = time.monotonic() + REPLY_WAIT_SECONDS
    pause = 0.02
    while True:
        outcome = await runner.run(claim_reply, student=pending.student_turn, claim=claim)
        if outcome.reply is not None:
            return replace(pending, existing_reply=outcome.reply)
        if outcome.held:
            return replace(pending, claim=claim)
        if time.monotonic() >= deadline:
            raise ConflictError("This message is still being answered; ask again in a moment.")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.25)


async def _release(runner: Runner, pending: PendingReply) -> None:
    """Give up this request's claim after a failed reply (also when cancelled)."""
    if pending.claim is None:
        return
    with anyio.CancelScope(shield=True):
        await runner.run(release_reply, student=pending.student_turn, claim=pending.claim)


@asynccontextmanager
async def _heartbeat(runner: Runner, pending: PendingReply) -> AsyncIterator[None]:
    """Renew this request's claim on the reply while the engine runs (app.reply_claims)."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await runner.run(renew_claim, student=pending.student_turn, claim=pending.claim)
            except SQLAlchemyError:
                # A missed beat is not fatal (the lease allows several); keep the reply going.
                logger.warning("could not renew a reply claim", exc_info=True)

    task = asyncio.create_task(beat()) if pending.claim is not None else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()


class _HeadStart:
    """An engine's reply whose first step already runs in its own task.

    The first step is where an engine builds its prompt, sends the request and waits for the
    first token; the rest of the reply is read on, step by step, by whoever iterates this.
    """

    def __init__(self, replies: AsyncIterator[ReplyEvent]) -> None:
        self._replies = replies
        self._first: asyncio.Future[ReplyEvent] | None = asyncio.ensure_future(
            anext(replies)
        )
        # Read its outcome even if no one awaits it (the listener went before the stream
        # began), so a failed request is not logged as a task exception never retrieved.
        self._first.add_done_callback(lambda f: f.cancelled() or f.exception())

    def __aiter__(self) -> _HeadStart:
        return self

    async def __anext__(self) -> ReplyEvent:
        first, self._first = self._first, None
        if first is not None:
            return await first
        return await anext(self._replies)

    async def aclose(self) -> None:
        """Stop the reply: cancel a first step still waiting, then close the engine's stream."""
        if self._first is not None and not self._first.done():
            self._first.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._first
        self._first = None
        await self._replies.aclose()


async def start_reply(
    *, runner: Runner, pending: PendingReply, engine: ClientEngine
) -> AsyncIterator[StreamEvent]:
    """`stream_reply`, with the engine asked at once rather than when the stream is first read.

    A model server's first token is what the student waits for: asked here, the request is in
    flight while the response to the student starts and their own turn is sent back to them.
    """
    if pending.existing_reply is not None:
        return stream_reply(runner=runner, pending=pending, engine=engine)
    replies = _HeadStart(engine.reply(pending.request))
    # One pass of the event loop: the engine's task runs up to its first wait (the request
    # sent) before this one goes on to start the response.
    await asyncio.sleep(0)
    return stream_reply(runner=runner, pending=pending, engine=engine, replies=replies)


async def stream_reply(
    *, runner: Runner, pending: PendingReply, engine: ClientEngine,
    replies: _HeadStart | None = None,
) -> AsyncIterator[StreamEvent]:
    """Voice the reply to a saved student turn and commit it.

    Yields `student` first, then `delta`/`replace` events, and always ends with exactly one
    `done` (carrying the committed client turn) or one `error`: the student's turn is saved
    either way, so Retry can always produce the reply later. A reply that fails, or whose
    listener goes away, gives up its claim so a Retry can run at once. `replies`: the
    engine's reply already started (`start_reply`); by default it is asked here.
    """
    turn: Turn | None = None
    started = time.perf_counter()
    try:
        yield StreamEvent(kind="student", turn=pending.student_turn)
        if pending.existing_reply is not None:
            yield StreamEvent(kind="done", turn=pending.existing_reply)
            return
        events = replies if replies is not None else engine.reply(pending.request)
        final_text: str | None = None
        meta: dict = {}
        try:
            async with _heartbeat(runner, pending):
                async for event in events:
                    if event.kind == "done":
                        final_text, meta = event.text, event.meta
                    else:
                        yield StreamEvent(kind=event.kind, text=event.text)
            if final_text is None:
                raise EngineError("The client engine stopped without finishing its reply.")
            turn = await runner.write(add_client_turn, pending=pending, text=final_text,
                                      meta=meta)
            TURNS.labels(speaker="client", engine=engine.name).inc()
            TURN_SECONDS.labels(engine=engine.name).observe(time.perf_counter() - started)
        except EngineError as exc:
            # The student is told something plain; the operator's fix goes to the log (and to
            # /healthz/ready, which runs the engine's own check).
            ENGINE_ERRORS.labels(engine=engine.name, retryable=str(exc.retryable).lower()).inc()
            logger.warning("client engine %s could not reply: %s", engine.name, exc.operator)
            yield StreamEvent(kind="error", message=exc.message, retryable=exc.retryable)
            return
        except Exception:
            # A response may have started, so no error handler can answer: log it with its
            # traceback and end the stream in its own terms. The turn is saved.
            logger.exception("unhandled error while producing a reply")
            yield StreamEvent(kind="error", message=SERVER_ERROR, data={"unexpected": True})
            return
    finally:
        # A head-started reply the listener left before its end stops here, not when collected.
        if replies is not None:
            await replies.aclose()
        if turn is None and pending.existing_reply is None:
            await _release(runner, pending)
    yield StreamEvent(kind="done", turn=turn)
