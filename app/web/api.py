"""The JSON API of DESIGN.md, with Server-Sent Events for streamed replies."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlmodel import Session

from app import practice
from app.auth.policy import SessionAction, analysis_visible, visible_session
from app.client.engine import ClientEngine
from app.coach import coach_note, coaching_on
from app.grading.on_end import grade_ended_session
from app.library import Book, Library, rubrics_of, session_persona
from app.metrics import TURNS
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
from app.services import services
from app.turn_store import read_turn
from app.web.deps import CurrentUser, Database, Db, LibraryDep, Personas, SettingsDep
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
        stepped_out_at=session.stepped_out_at,
        turns=[turn_public(t, reveal=reveal) for t in turns],
        state=state_public(state, reveal=reveal),
        awaiting_reply=bool(turns) and turns[-1].speaker == "counsellor",
        course_id=session.course_id,
        session_number=session.session_number,
        previous_id=session.previous_id,
        coach=session.coach,
    )


def add_coach_note(
    *, pending: practice.PendingReply, context: practice.TurnContext, persona: Persona
) -> None:
    """Coach mode: store the note on the new student turn (never part of the engine's request)."""
    last_client = next((t for t in reversed(context.turns) if t.speaker == "client"), None)
    student = pending.student_turn
    student.events = {**(student.events or {}), "coach": coach_note(
        codes=student.codes, events=student.events,
        client_text=last_client.text if last_client else None, persona=persona,
        trust_delta=(student.trust_after or 0.0) - (student.trust_before or 0.0),
    )}


def coach_of(turn: Turn) -> dict | None:
    """The coach note stored on a student turn, if coach mode made one."""
    return (turn.events or {}).get("coach")


def _not_found(kind: str, ident: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"No {kind} with id '{ident}'.")


def _persona_for(personas: dict[str, Persona] | Library, session: PracticeSession) -> Persona:
    persona = session_persona(personas, session)
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
    return _require_engine(services(request).engines.get(session.engine), session)


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
        available=services(request).engines,
    )
    if engine is None:
        raise HTTPException(
            422,
            f"engine: '{body.engine}' is not available here "
            f"(available: {', '.join(sorted(services(request).engines))}).",
        )
    revision = personas.revision_of(persona.id) if isinstance(personas, Book) else None
    session, turns, reveal = await db.run(
        _create, persona=persona, user=user, engine=engine, coach=body.coach,
        revision=revision
    )
    return session_public(session, turns, persona, reveal=reveal)


def _create(
    *, db: Session, persona: Persona, user: CurrentUser, engine: str, coach: bool = False,
    revision: int | None = None,
) -> tuple[PracticeSession, list[Turn], bool]:
    session, turns = practice.create_session(db=db, persona=persona, owner_id=user.id,
                                             engine=engine, revision=revision)
    reveal = analysis_visible(db=db, user=user, session=session)
    if coach and reveal:
        # Coaching shows the analysis, so a student whose grades wait for release gets it
        # only from the cohort's own setting (app.coach.coaching_on).
        session.coach = True
        db.add(session)
        db.commit()
        db.refresh(session)
    return session, turns, reveal


def _title(personas: Personas, session: PracticeSession) -> str | None:
    persona = session_persona(personas, session)
    return persona.title if persona is not None else None


@router.get("/api/sessions", tags=["sessions"])
async def list_sessions(db: Db, user: CurrentUser, personas: Personas) -> list[SessionSummary]:
    """The current user's sessions, newest first."""
    rows = await db.run(practice.list_sessions, owner_id=user.id)
    return [
        SessionSummary(
            id=s.id,
            persona_id=s.persona_id,
            persona_title=_title(personas, s),
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
    persona = session_persona(personas, session)
    if persona is None:
        raise _not_found("persona", session.persona_id)
    return session_public(session, turns, persona, reveal=reveal)


def _end(
    *, db: Session, session_id: str, user: CurrentUser, personas: Personas
) -> tuple[PracticeSession, Persona | None]:
    session = _owned_session(db, session_id, user)
    # A session discarded in another tab a moment ago is a ConflictError: 409 (app.web.errors).
    ended = practice.end_session(db=db, session=session)
    # The version the session was held with (a stored draft or published version may need
    # a database read, so it is found here, off the event loop).
    return ended, session_persona(personas, session)


@router.post("/api/sessions/{session_id}/end", tags=["sessions"], responses=errors(409))
async def end_session(
    session_id: str, db: Db, user: CurrentUser, request: Request, personas: Personas
) -> dict:
    """End a session and grade it offline; further turns are refused."""
    session, persona = await db.run(_end, session_id=session_id, user=user, personas=personas)
    # Graded off the event loop (app.grading.on_end): a long session never stalls the others.
    await grade_ended_session(
        database=db,
        session=session,
        persona=persona,
        rubric_library=rubrics_of(request),
        settings=services(request).settings,
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
    library: LibraryDep,
    settings: SettingsDep,
    db: Db,
    accept: Annotated[str | None, Header()] = None,
):
    """Send the student's message; the client's reply comes back whole or as SSE."""
    text = _validated_text(body.text, settings.max_turn_chars)

    coached = False

    def load(*, db: Session) -> tuple[practice.TurnContext, ClientEngine | None, bool]:
        nonlocal coached
        session = _owned_session(db, session_id, user)
        engine = services(request).engines.get(session.engine)
        context = practice.load_turn_context(
            db=db, session=session, client_message_id=body.client_message_id,
            window=window(session.engine),
        )
        coached = coaching_on(db=db, session=session)
        return context, engine, analysis_visible(db=db, user=user, session=session)

    def plan(context: practice.TurnContext) -> practice.PendingReply:
        pending = practice.plan_student_turn(
            context=context, persona=persona, text=text, client_message_id=body.client_message_id
        )
        if coached and pending.is_new:
            add_coach_note(pending=pending, context=context, persona=persona)
        return pending

    def window(engine_name: str) -> int:
        # At least RECENT_TURNS: the analyzer checks that a reflection takes up something
        # the client said, across more of the session than an engine's history needs.
        engine = services(request).engines.get(engine_name)
        return max(engine.history_turns if engine is not None else 0, practice.RECENT_TURNS)

    # Read, plan, write: only the short write queues behind other writers. The read is plain
    # SQL (app.turn_store); a repeated message or a refusal takes the ORM path, which
    # reloads the saved turn whole or answers 404.
    fast = await db.connect(
        read_turn, session_id=session_id, user_id=user.id, user_role=user.role,
        client_message_id=body.client_message_id, window=window,
    )
    if fast is not None:
        context, reveal, coached = fast.context, fast.reveal, fast.coached
        engine = services(request).engines.get(context.session.engine)
    else:
        context, engine, reveal = await db.read(load)
    # The session's own persona version: no need to ask what the library serves now.
    persona = _persona_for(library, context.session)
    # A turn the session cannot take now raises practice.ConflictError: 409 (app.web.errors).
    pending = plan(context)
    if pending.is_new:
        ready = _require_engine(engine, context.session)
        try:
            await db.write(practice.save_student_turn, pending=pending)
            TURNS.labels(speaker="counsellor", engine=ready.name).inc()
        except practice.DuplicateMessage:
            # The same message arrived twice at once and the other copy was saved first.
            context, engine, reveal = await db.read(load)
            pending = plan(context)
    pending = await practice.secure_reply(runner=db, pending=pending)
    return await _respond(db, pending, _require_engine(engine, context.session), accept,
                          reveal=reveal)


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

    def load(*, db: Session) -> tuple[practice.PendingReply, ClientEngine, bool]:
        session = _owned_session(db, session_id, user)
        persona = _persona_for(personas, session)
        pending = practice.pending_reply(db=db, session=session, persona=persona)
        reveal = analysis_visible(db=db, user=user, session=session)
        return pending, _engine_for(request, session), reveal

    pending, engine, reveal = await db.read(load)
    pending = await practice.secure_reply(runner=db, pending=pending)
    return await _respond(db, pending, engine, accept, reveal=reveal)


async def _respond(
    db: Database, pending: practice.PendingReply, engine: ClientEngine, accept: str | None,
    *, reveal: bool,
):
    """Run the engine for a saved student turn and answer as JSON or SSE.

    `reveal` is app.auth.policy.analysis_visible: a student whose grades wait for release
    sees the words only, no codes, trust or accounting."""
    if accept and "text/event-stream" in accept:
        # Asked now, so the model server works on the reply while the response starts.
        events = await practice.start_reply(runner=db, pending=pending, engine=engine)
        return StreamingResponse(
            _sse(events, pending, reveal=reveal),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    # Answered whole: the engine need not pace or split its words (ReplyRequest.whole).
    whole = replace(pending, request=replace(pending.request, whole=True))
    async for event in practice.stream_reply(runner=db, pending=whole, engine=engine):
        if event.kind == "error" and event.data.get("unexpected"):
            # A bug on our side, not the model server's: a plain 500 (the stream says the
            # same in its own terms), already logged with its traceback.
            return JSONResponse(status_code=500, content={"detail": event.message})
        if event.kind == "error":
            return JSONResponse(
                status_code=status.HTTP_502_BAD_GATEWAY,
                content={
                    "detail": event.message,
                    "retryable": event.retryable,
                    "student_turn": turn_public(
                        pending.student_turn, reveal=reveal
                    ).model_dump(mode="json"),
                },
            )
        if event.kind == "done":
            assert event.turn is not None
            result = TurnResult(
                student_turn=turn_public(pending.student_turn, reveal=reveal),
                client_turn=turn_public(event.turn, reveal=reveal),
                state=state_public(pending.state, reveal=reveal),
                coach=coach_of(pending.student_turn),
            )
            # Already a validated TurnResult: serialise it once rather than have FastAPI check
            # it again (the route still declares response_model for the OpenAPI schema).
            return Response(result.model_dump_json(), media_type="application/json")
    raise AssertionError("stream_reply always ends with done or error")


def _sse_event(name: str, data: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def _sse(
    events: AsyncIterator[practice.StreamEvent], pending, *, reveal: bool
) -> AsyncIterator[bytes]:
    """The reply as Server-Sent Events: student, delta..., then done or error."""
    async for event in events:
        if event.kind == "student":
            student = turn_public(pending.student_turn, reveal=reveal)
            yield _sse_event("student", student.model_dump(mode="json"))
            note = coach_of(pending.student_turn)
            if note is not None:
                # Straight after the student's turn, before the client's words arrive.
                yield _sse_event("coach", note)
        elif event.kind in ("delta", "replace"):
            yield _sse_event(event.kind, {"text": event.text})
        elif event.kind == "error":
            yield _sse_event("error", {"message": event.message, "retryable": event.retryable})
        else:
            assert event.turn is not None
            yield _sse_event(
                "done",
                {
                    "client_turn": turn_public(event.turn, reveal=reveal).model_dump(mode="json"),
                    "state": state_public(pending.state, reveal=reveal).model_dump(mode="json"),
                },
            )
