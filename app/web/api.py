"""The JSON API of DESIGN.md, with Server-Sent Events for streamed replies."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlmodel import Session

from app import practice
from app.auth.policy import SessionAction, analysis_visible, visible_session
from app.client.engine import ClientEngine, EngineError
from app.grading.service import end_and_grade
from app.library import rubrics_of
from app.metrics import ENGINE_ERRORS, TURN_SECONDS, TURNS
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
from app.web.deps import CurrentUser, Database, Db, Personas, SettingsDep

__all__ = ["persona_summary", "router", "session_public"]

router = APIRouter()
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


def turn_public(turn: Turn, *, reveal: bool = True) -> TurnPublic:
    """A stored turn as the API shows it; only its words while the analysis is held back."""
    if not reveal:
        return TurnPublic(index=turn.index, speaker=turn.speaker, text=turn.text,
                          created_at=turn.created_at)
    return TurnPublic.model_validate(turn, from_attributes=True)


def state_public(state: practice.ClientState, *, reveal: bool = True) -> SessionState:
    """The part of the client state a student may see (none of it while grades are held)."""
    if not reveal:
        return SessionState(trust=None, unlocked=[], turn=state.turn)
    return SessionState(trust=state.trust, unlocked=list(state.unlocked), turn=state.turn)


def session_public(
    session: PracticeSession, turns: list[Turn], persona: Persona, *, reveal: bool = True
) -> SessionPublic:
    """A session with its turns and current state (`reveal`: app.auth.policy.analysis_visible)."""
    state = practice.state_before(turns, persona)
    return SessionPublic(
        id=session.id,
        persona_id=session.persona_id,
        persona_version=session.persona_version,
        status=session.status,
        engine=session.engine,
        created_at=session.created_at,
        ended_at=session.ended_at,
        turns=[turn_public(t, reveal=reveal) for t in turns],
        state=state_public(state, reveal=reveal),
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


def _engine_for(request: Request, session: PracticeSession) -> ClientEngine:
    engines: dict[str, ClientEngine] = request.app.state.engines
    engine = engines.get(session.engine)
    if engine is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"The '{session.engine}' client engine is not available on this server.",
        )
    return engine


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
    session, turns, reveal = await db.run(
        _create, persona=persona, user=user, engine=engine
    )
    return session_public(session, turns, persona, reveal=reveal)


def _create(
    *, db: Session, persona: Persona, user: CurrentUser, engine: str
) -> tuple[PracticeSession, list[Turn], bool]:
    session, turns = practice.create_session(db=db, persona=persona, owner_id=user.id,
                                             engine=engine)
    return session, turns, analysis_visible(db=db, user=user, session=session)


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
) -> tuple[PracticeSession, list[Turn], bool]:
    session = _owned_session(db, session_id, user, "read")
    reveal = analysis_visible(db=db, user=user, session=session)
    return session, practice.session_turns(db=db, session_id=session.id), reveal


@router.get("/api/sessions/{session_id}", tags=["sessions"])
async def get_session(
    session_id: str, db: Db, user: CurrentUser, personas: Personas
) -> SessionPublic:
    """A session with every turn."""
    session, turns, reveal = await db.run(_load_owned, session_id=session_id, user=user)
    persona = personas.get(session.persona_id)
    if persona is None:
        raise _not_found("persona", session.persona_id)
    return session_public(session, turns, persona, reveal=reveal)


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


@router.post("/api/sessions/{session_id}/end", tags=["sessions"])
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


@router.post("/api/sessions/{session_id}/turns", tags=["sessions"], response_model=TurnResult)
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

    def load(*, db: Session) -> tuple[practice.TurnContext, ClientEngine, bool]:
        session = _owned_session(db, session_id, user)
        engine = _engine_for(request, session)
        context = practice.load_turn_context(
            db=db,
            session=session,
            client_message_id=body.client_message_id,
            window=getattr(engine, "history_turns", practice.RECENT_TURNS),
        )
        return context, engine, analysis_visible(db=db, user=user, session=session)

    # Read, plan, write: only the short write queues behind other writers.
    context, engine, reveal = await db.read(load)
    persona = _persona_for(personas, context.session)
    try:
        pending = practice.plan_student_turn(
            context=context, persona=persona, text=text, client_message_id=body.client_message_id
        )
        if pending.is_new:
            await db.run(practice.save_student_turn, pending=pending)
            TURNS.labels(speaker="counsellor", engine=engine.name).inc()
    except practice.ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return await _respond(db, pending, engine, accept, reveal=reveal)


@router.post("/api/sessions/{session_id}/retry", tags=["sessions"], response_model=TurnResult)
async def retry_reply(
    session_id: str,
    request: Request,
    user: CurrentUser,
    personas: Personas,
    db: Db,
    accept: Annotated[str | None, Header()] = None,
):
    """Ask again for the client's reply to the last, unanswered student message."""

    def load(*, db: Session) -> tuple[practice.PendingReply, ClientEngine, bool]:
        session = _owned_session(db, session_id, user)
        persona = _persona_for(personas, session)
        engine = _engine_for(request, session)
        reveal = analysis_visible(db=db, user=user, session=session)
        try:
            return practice.pending_reply(db=db, session=session, persona=persona), engine, reveal
        except practice.ConflictError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc

    pending, engine, reveal = await db.run(load)
    return await _respond(db, pending, engine, accept, reveal=reveal)


async def _respond(
    db: Database,
    pending: practice.PendingReply,
    engine: ClientEngine,
    accept: str | None,
    *,
    reveal: bool,
):
    """Run the engine for a saved student turn and answer as JSON or SSE."""
    if accept and "text/event-stream" in accept:
        return StreamingResponse(
            _sse(db, pending, engine, reveal=reveal),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    if pending.existing_reply is not None:
        client_turn = pending.existing_reply
    else:
        try:
            client_turn = await _run_engine(db, pending, engine)
        except EngineError as exc:
            return JSONResponse(
                status_code=status.HTTP_502_BAD_GATEWAY,
                content={
                    "detail": exc.message,
                    "retryable": exc.retryable,
                    "student_turn": turn_public(
                        pending.student_turn, reveal=reveal
                    ).model_dump(mode="json"),
                },
            )
    result = TurnResult(
        student_turn=turn_public(pending.student_turn, reveal=reveal),
        client_turn=turn_public(client_turn, reveal=reveal),
        state=state_public(pending.state, reveal=reveal),
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


async def _sse(
    db: Database, pending, engine: ClientEngine, *, reveal: bool
) -> AsyncIterator[bytes]:
    """The reply as Server-Sent Events: student, delta..., done (or error)."""
    yield _sse_event(
        "student", turn_public(pending.student_turn, reveal=reveal).model_dump(mode="json")
    )
    if pending.existing_reply is not None:
        turn = pending.existing_reply
    else:
        turn = None
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
            # The response has started, so no error handler can answer any more: log it with
            # its traceback and tell the page in the stream's own terms. The turn is saved.
            logger.exception("unhandled error while streaming a reply")
            yield _sse_event(
                "error",
                {"message": "Something went wrong on the server. Try again.", "retryable": True},
            )
            return
        if turn is None:
            return
    yield _sse_event(
        "done",
        {
            "client_turn": turn_public(turn, reveal=reveal).model_dump(mode="json"),
            "state": state_public(pending.state, reveal=reveal).model_dump(mode="json"),
        },
    )


async def _stream_and_commit(db: Database, pending, engine: ClientEngine):
    """Yield SSE bytes for each delta/replace, then the committed client Turn."""
    started = time.perf_counter()
    final_text: str | None = None
    meta: dict = {}
    try:
        async for event in engine.reply(pending.request):
            if event.kind == "done":
                final_text, meta = event.text, event.meta
            else:
                yield _sse_event(event.kind, {"text": event.text})
        if final_text is None:
            raise EngineError("The client engine stopped without finishing its reply.")
    except EngineError as exc:
        # The student is told something plain; the operator's fix goes to the log (and to
        # /healthz/ready, which runs the engine's own check).
        ENGINE_ERRORS.labels(engine=engine.name, retryable=str(exc.retryable).lower()).inc()
        logger.warning("client engine %s could not reply: %s", engine.name, exc.operator)
        raise

    turn = await db.run(practice.add_client_turn, pending=pending, text=final_text, meta=meta)
    TURNS.labels(speaker="client", engine=engine.name).inc()
    TURN_SECONDS.labels(engine=engine.name).observe(time.perf_counter() - started)
    yield turn
