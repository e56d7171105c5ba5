"""The JSON API of DESIGN.md, with Server-Sent Events for streamed replies."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app import practice
from app.auth.policy import SessionAction, visible_session
from app.client.engine import ClientEngine, EngineError
from app.grading.service import end_and_grade
from app.library import rubrics_of
from app.models import (
    PracticeSession,
    SessionCreate,
    SessionPublic,
    SessionState,
    SessionSummary,
    Turn,
    TurnCreate,
    TurnPublic,
    TurnResult,
)
from app.persona import Persona
from app.reply_claims import (
    HEARTBEAT_SECONDS,
    claim_reply,
    new_claim,
    release_reply,
    renew_claim,
)
from app.web.deps import CurrentUser, Database, Db, Personas, SettingsDep
from app.web.responses import COMMON, ENGINE_FAILURE, SSE, errors

__all__ = ["persona_summary", "router", "session_public"]

router = APIRouter(responses=COMMON)
logger = logging.getLogger("rapport")


def persona_summary(persona: Persona) -> dict:
    """What a student may know of a persona before the session: never its disclosures."""
    return {
        "id": persona.id,
        "version": persona.version,
        "title": persona.title,
        "difficulty": persona.difficulty,
        "tags": list(persona.tags),
        "content_warnings": list(persona.content_warnings),
        "learning_objectives": list(persona.learning_objectives),
        "brief": persona.brief,
        "client": {
            "name": persona.client.name,
            "age": persona.client.age,
            "pronouns": persona.client.pronouns,
        },
        "conversational_style": persona.style.conversational_style,
        "engine": persona.engine,
    }


def turn_public(turn: Turn) -> TurnPublic:
    """A stored turn as the API shows it."""
    return TurnPublic.model_validate(turn, from_attributes=True)


def state_public(state: practice.ClientState) -> SessionState:
    """The part of the client state a student may see."""
    return SessionState(trust=state.trust, unlocked=list(state.unlocked), turn=state.turn)


def session_public(session: PracticeSession, turns: list[Turn], persona: Persona) -> SessionPublic:
    """A session with its turns and current state."""
    state = practice.state_before(turns, persona)
    return SessionPublic(
        id=session.id,
        persona_id=session.persona_id,
        persona_version=session.persona_version,
        status=session.status,
        engine=session.engine,
        created_at=session.created_at,
        ended_at=session.ended_at,
        turns=[turn_public(t) for t in turns],
        state=state_public(state),
        awaiting_reply=bool(turns) and turns[-1].speaker == "counsellor",
    )


def _not_found(kind: str, ident: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"No {kind} with id '{ident}'.")


def _persona_for(personas: dict[str, Persona], session: PracticeSession) -> Persona:
    persona = personas.get(session.persona_id)
    if persona is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"Persona '{session.persona_id}' is no longer in the library; "
            "this session can be read but not continued.",
        )
    return persona


def _owned_session(
    db: Session, session_id: str, user: CurrentUser, action: SessionAction = "practice"
) -> PracticeSession:
    # The role and cohort rules live in app.auth.policy; refusals are 404s, like unknown ids.
    return visible_session(db=db, user=user, session_id=session_id, action=action)


def _require_engine(engine: ClientEngine | None, session: PracticeSession) -> ClientEngine:
    if engine is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"The '{session.engine}' client engine is not available on this server.",
        )
    return engine


def _engine_for(request: Request, session: PracticeSession) -> ClientEngine:
    return _require_engine(request.app.state.engines.get(session.engine), session)


@router.get("/healthz", tags=["meta"])
def healthz() -> dict[str, str]:
    """Liveness probe."""
    return {"status": "ok"}


@router.get("/api/personas", tags=["personas"])
def list_personas(personas: Personas) -> list[dict]:
    """The persona library, easiest first."""
    return [persona_summary(p) for p in personas.values()]


@router.get("/api/personas/{persona_id}", tags=["personas"])
def get_persona(persona_id: str, personas: Personas) -> dict:
    """One persona's public card."""
    persona = personas.get(persona_id)
    if persona is None:
        raise _not_found("persona", persona_id)
    return persona_summary(persona)


@router.post("/api/sessions", status_code=status.HTTP_201_CREATED, tags=["sessions"])
async def create_session(
    body: SessionCreate,
    db: Db,
    user: CurrentUser,
    personas: Personas,
    settings: SettingsDep,
    request: Request,
) -> SessionPublic:
    """Start a practice session with a persona; the client's opening line is turn 0."""
    persona = personas.get(body.persona_id)
    if persona is None:
        raise _not_found("persona", body.persona_id)
    engine = practice.choose_engine(
        requested=body.engine,
        persona=persona,
        default=settings.engine,
        available=request.app.state.engines,
    )
    if engine is None:
        raise HTTPException(
            422,
            f"engine: '{body.engine}' is not available here "
            f"(available: {', '.join(sorted(request.app.state.engines))}).",
        )
    session, turns = await db.run(
        practice.create_session, persona=persona, owner_id=user.id, engine=engine
    )
    return session_public(session, turns, persona)


@router.get("/api/sessions", tags=["sessions"])
async def list_sessions(db: Db, user: CurrentUser, personas: Personas) -> list[SessionSummary]:
    """The current user's sessions, newest first."""
    rows = await db.run(practice.list_sessions, owner_id=user.id)
    return [
        SessionSummary(
            id=s.id,
            persona_id=s.persona_id,
            persona_title=personas[s.persona_id].title if s.persona_id in personas else None,
            status=s.status,
            engine=s.engine,
            created_at=s.created_at,
            ended_at=s.ended_at,
            turn_count=n,
        )
        for s, n in rows
    ]


def _load_owned(
    *, db: Session, session_id: str, user: CurrentUser
) -> tuple[PracticeSession, list[Turn]]:
    session = _owned_session(db, session_id, user, "read")
    return session, practice.session_turns(db=db, session_id=session.id)


@router.get("/api/sessions/{session_id}", tags=["sessions"])
async def get_session(
    session_id: str, db: Db, user: CurrentUser, personas: Personas
) -> SessionPublic:
    """A session with every turn."""
    session, turns = await db.run(_load_owned, session_id=session_id, user=user)
    persona = personas.get(session.persona_id)
    if persona is None:
        raise _not_found("persona", session.persona_id)
    return session_public(session, turns, persona)


def _end(
    *, db: Session, session_id: str, user: CurrentUser, request: Request, personas: Personas
) -> PracticeSession:
    session = _owned_session(db, session_id, user)
    return end_and_grade(
        db=db,
        session=session,
        persona=personas.get(session.persona_id),
        rubric_library=rubrics_of(request),
        settings=request.app.state.settings,
    )


@router.post("/api/sessions/{session_id}/end", tags=["sessions"], responses=errors(409))
async def end_session(
    session_id: str, db: Db, user: CurrentUser, request: Request, personas: Personas
) -> dict:
    """End a session and grade it offline; further turns are refused."""
    session = await db.run(
        _end, session_id=session_id, user=user, request=request, personas=personas
    )
    return {"id": session.id, "status": session.status}


def _validated_text(text: str, limit: int) -> str:
    """The student's text, or a 422 naming what is wrong with it."""
    if not text.strip():
        raise HTTPException(422, "text: the message is empty.")
    if len(text) > limit:
        raise HTTPException(
            422,
            f"text: the message is {len(text):,} characters; the limit is {limit:,}.",
        )
    return text.strip()


@router.post(
    "/api/sessions/{session_id}/turns",
    tags=["sessions"],
    response_model=TurnResult,
    responses={**SSE, **errors(409, 503), **ENGINE_FAILURE},
)
async def add_turn(
    session_id: str,
    body: TurnCreate,
    request: Request,
    user: CurrentUser,
    personas: Personas,
    settings: SettingsDep,
    db: Db,
    accept: Annotated[str | None, Header()] = None,
):
    """Send the student's message; the client's reply comes back whole or as SSE."""
    text = _validated_text(body.text, settings.max_turn_chars)

    def load(*, db: Session) -> tuple[practice.TurnContext, ClientEngine | None]:
        session = _owned_session(db, session_id, user)
        engine = request.app.state.engines.get(session.engine)
        context = practice.load_turn_context(
            db=db,
            session=session,
            client_message_id=body.client_message_id,
            window=getattr(engine, "history_turns", practice.RECENT_TURNS),
        )
        return context, engine

    def plan(context: practice.TurnContext) -> practice.PendingReply:
        return practice.plan_student_turn(
            context=context, persona=persona, text=text, client_message_id=body.client_message_id
        )

    # Read, plan, write: only the short write queues behind other writers.
    context, engine = await db.read(load)
    persona = _persona_for(personas, context.session)
    try:
        pending = plan(context)
        if pending.is_new:
            _require_engine(engine, context.session)
            try:
                await db.run(practice.save_student_turn, pending=pending)
            except practice.DuplicateMessage:
                # The same message arrived twice at once and the other copy was saved first.
                context, engine = await db.read(load)
                pending = plan(context)
    except practice.ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    pending = await _secure_reply(db, pending)
    return await _respond(db, pending, _require_engine(engine, context.session), accept)


@router.post(
    "/api/sessions/{session_id}/retry",
    tags=["sessions"],
    response_model=TurnResult,
    responses={**SSE, **errors(409, 503), **ENGINE_FAILURE},
)
async def retry_reply(
    session_id: str,
    request: Request,
    user: CurrentUser,
    personas: Personas,
    db: Db,
    accept: Annotated[str | None, Header()] = None,
):
    """Ask again for the client's reply to the last, unanswered student message."""

    def load(*, db: Session) -> tuple[practice.PendingReply, ClientEngine]:
        session = _owned_session(db, session_id, user)
        persona = _persona_for(personas, session)
        try:
            pending = practice.pending_reply(db=db, session=session, persona=persona)
        except practice.ConflictError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        return pending, _engine_for(request, session)

    pending, engine = await db.read(load)
    pending = await _secure_reply(db, pending)
    return await _respond(db, pending, engine, accept)


# How long a repeated message or a second Retry waits for the request already producing the
# reply before it answers 409; replies that take longer are fetched with another repeat.
REPLY_WAIT_SECONDS = 30.0


async def _secure_reply(db: Database, pending: practice.PendingReply) -> practice.PendingReply:
    """The pending reply with either its saved reply or a claim to produce it (else 409).

    Only one request at a time may run an engine for a turn: a duplicate waits for the
    holder's reply and answers with it, so the model is asked once.
    """
    if pending.existing_reply is not None or pending.claim is not None:
        return pending
    claim = new_claim()
    deadline = time.monotonic() + REPLY_WAIT_SECONDS
    pause = 0.02
    while True:
        outcome = await db.run(claim_reply, student=pending.student_turn, claim=claim)
        if outcome.reply is not None:
            return replace(pending, existing_reply=outcome.reply)
        if outcome.held:
            return replace(pending, claim=claim)
        if time.monotonic() >= deadline:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                "This message is still being answered; ask again in a moment.",
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.25)


async def _release(db: Database, pending: practice.PendingReply) -> None:
    """Give up this request's claim after a failed reply (also when cancelled)."""
    if pending.claim is None:
        return
    with anyio.CancelScope(shield=True):
        await db.run(release_reply, student=pending.student_turn, claim=pending.claim)


async def _respond(
    db: Database, pending: practice.PendingReply, engine: ClientEngine, accept: str | None
):
    """Run the engine for a saved student turn and answer as JSON or SSE."""
    if accept and "text/event-stream" in accept:
        return StreamingResponse(
            _sse(db, pending, engine),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    if pending.existing_reply is not None:
        client_turn = pending.existing_reply
    else:
        try:
            client_turn = await _run_engine(db, pending, engine)
        except EngineError as exc:
            await _release(db, pending)
            return JSONResponse(
                status_code=status.HTTP_502_BAD_GATEWAY,
                content={
                    "detail": exc.message,
                    "retryable": exc.retryable,
                    "student_turn": turn_public(pending.student_turn).model_dump(mode="json"),
                },
            )
        except BaseException:
            await _release(db, pending)
            raise
    result = TurnResult(
        student_turn=turn_public(pending.student_turn),
        client_turn=turn_public(client_turn),
        state=state_public(pending.state),
    )
    # Already a validated TurnResult: serialise it once rather than have FastAPI check it again
    # (the route still declares response_model for the OpenAPI schema). This is the hot path.
    return Response(result.model_dump_json(), media_type="application/json")


async def _run_engine(db: Database, pending, engine: ClientEngine) -> Turn:
    """Run the engine to the end without streaming and return the committed client turn."""
    turn: Turn | None = None
    async for chunk in _stream_and_commit(db, pending, engine):
        if isinstance(chunk, Turn):
            turn = chunk
    assert turn is not None  # _stream_and_commit always ends with the turn or raises
    return turn


def _sse_event(name: str, data: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def _sse(db: Database, pending, engine: ClientEngine) -> AsyncIterator[bytes]:
    """The reply as Server-Sent Events: student, delta..., done (or error)."""
    turn = pending.existing_reply
    try:
        yield _sse_event("student", turn_public(pending.student_turn).model_dump(mode="json"))
        if turn is None:
            try:
                async for chunk in _stream_and_commit(db, pending, engine):
                    if isinstance(chunk, bytes):
                        yield chunk
                    else:
                        turn = chunk
            except EngineError as exc:
                yield _sse_event("error", {"message": exc.message, "retryable": exc.retryable})
                return
            except Exception:
                # The response has started, so no error handler can answer any more: log it
                # with its traceback and tell the page in the stream's own terms. The turn is
                # saved.
                logger.exception("unhandled error while streaming a reply")
                yield _sse_event(
                    "error",
                    {"message": "Something went wrong on the server. Try again.",
                     "retryable": True},
                )
                return
    finally:
        # No reply saved (a failure, or the browser went away mid-stream): let Retry run.
        if turn is None:
            await _release(db, pending)
    if turn is None:
        return
    yield _sse_event(
        "done",
        {
            "client_turn": turn_public(turn).model_dump(mode="json"),
            "state": state_public(pending.state).model_dump(mode="json"),
        },
    )


@asynccontextmanager
async def _heartbeat(db: Database, pending: practice.PendingReply) -> AsyncIterator[None]:
    """Renew this request's claim on the reply while the engine runs (app.reply_claims)."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await db.run(renew_claim, student=pending.student_turn, claim=pending.claim)
            except SQLAlchemyError:
                # A missed beat is not fatal (the lease allows several); keep the reply going.
                logger.warning("could not renew a reply claim", exc_info=True)

    task = asyncio.create_task(beat()) if pending.claim is not None else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()


async def _stream_and_commit(db: Database, pending, engine: ClientEngine):
    """Yield SSE bytes for each delta/replace, then the committed client Turn."""
    final_text: str | None = None
    meta: dict = {}
    async with _heartbeat(db, pending):
        async for event in engine.reply(pending.request):
            if event.kind == "done":
                final_text, meta = event.text, event.meta
            else:
                yield _sse_event(event.kind, {"text": event.text})
    if final_text is None:
        raise EngineError("The client engine stopped without finishing its reply.")

    yield await db.run(practice.add_client_turn, pending=pending, text=final_text, meta=meta)
