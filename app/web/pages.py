"""Server-rendered pages: the persona library, a session, the history and the transcript."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, FastAPI, Form, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from app import practice
from app.auth.policy import SessionAction, analysis_visible, released_review, visible_session
from app.bidi import reveal_bidi
from app.charts import Canvas, PlotFrame, tick_step
from app.coach import coaching_on
from app.grading.records import latest_grade
from app.grading.service import end_and_grade
from app.library import Book, rubrics_of, session_persona
from app.models import PracticeSession, Turn
from app.numbering import TurnNumbers
from app.persona import Persona
from app.review.marking import released_view
from app.services import services, services_of
from app.web.api import persona_summary
from app.web.deps import CurrentUser, DbSession, Personas, SettingsDep
from app.web.edge import CONTENT_SECURITY_POLICY, content_security_policy
from app.web.editor_assets import editor_assets

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "TrustCurve",
    "content_security_policy",
    "engine_label",
    "install_pages",
    "render",
    "render_error",
    "router",
    "session_accounting",
    "trust_curve",
]

FRONTEND = Path(__file__).resolve().parent.parent.parent / "frontend"
TEMPLATES = FRONTEND / "templates"
STATIC = FRONTEND / "static"

DIFFICULTY_WORDS = {
    1: "introductory",
    2: "foundation",
    3: "intermediate",
    4: "challenging",
    5: "advanced",
}

router = APIRouter(include_in_schema=False)


# ---- the trust curve ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """Trust after one student turn, placed on the chart."""

    turn: int
    trust: float
    x: float
    y: float
    label: str
    disclosed: str | None = None
    risk: bool = False
    anchor: str = "middle"


@dataclass(frozen=True, slots=True)
class TrustCurve(Canvas):
    """Everything the transcript page needs to draw trust over the session as inline SVG."""

    start_trust: float
    start_y: float
    points: list[CurvePoint]
    x_ticks: list[tuple[int, float]]
    y_ticks: list[tuple[int, float]]
    summary: str
    polyline: str


def _turn_pairs(turns: Sequence[Turn]) -> list[tuple[Turn, Turn | None]]:
    """Each student turn with the client turn that answered it (None while pending)."""
    pairs: list[tuple[Turn, Turn | None]] = []
    for i, turn in enumerate(turns):
        if turn.speaker != "counsellor":
            continue
        after = turns[i + 1] if i + 1 < len(turns) else None
        pairs.append((turn, after if after is not None and after.speaker == "client" else None))
    return pairs


def _risk_layers(persona: Persona | None) -> set[str]:
    return {d.id for d in persona.disclosures if d.risk} if persona else set()


def layer_titles(persona: Persona | None) -> dict[str, str]:
    """What students see for each layer and boundary test id: its human title."""
    if persona is None:
        return {}
    titles = {d.id: d.label for d in persona.disclosures}
    titles.update({t.id: t.label for t in persona.boundary_tests})
    return titles


def trust_curve(turns: Sequence[Turn], persona: Persona | None) -> TrustCurve:
    """Trust (0-10) after each student turn, laid out for a 640×280 SVG with its summary."""
    pairs = _turn_pairs(turns)
    opening = next((t for t in turns if t.speaker == "client"), None)
    start = opening.trust_after if opening and opening.trust_after is not None else None
    if start is None:
        start = persona.trust.initial if persona else 0.0
    span = max(1, len(pairs))
    # Margins leave room for the larger labels the phone stylesheet gives the chart.
    frame = PlotFrame(width=640, height=280, left=60, right=24, top=28, bottom=56,
                      x_range=(0, span), y_range=(0, 10), clamp_y=True)
    x_edge = frame.left + frame.plot_width

    risky = _risk_layers(persona)
    titles = layer_titles(persona)
    points: list[CurvePoint] = []
    opened: list[str] = []
    events: list[str] = []
    trust = start
    for number, (student, reply) in enumerate(pairs, start=1):
        after = student.trust_after
        if after is None and reply is not None:
            after = reply.trust_after
        trust = trust if after is None else after
        layer_id = reply.disclosed if reply is not None else None
        disclosed = titles.get(layer_id, layer_id) if layer_id else None
        label = f"Turn {number}: trust {trust:.1f}"
        if disclosed:
            label += f"; opened \u201c{disclosed}\u201d" + (" (risk)" if layer_id in risky else "")
            opened.append(f"\u201c{disclosed}\u201d at turn {number}")
        boundary = (student.events or {}).get("boundary")
        if isinstance(boundary, dict) and boundary.get("id"):
            outcome = {"held": "held", "crossed": "crossed", "unaddressed": "left unanswered"}.get(
                boundary.get("outcome", ""), "met")
            name = titles.get(boundary["id"], boundary["id"])
            label += f"; boundary moment \u201c{name}\u201d {outcome}"
            events.append(f"boundary moment \u201c{name}\u201d {outcome} at turn {number}")
        x = frame.x_at(number)
        # Layer names near the chart's edges grow inwards, so they are never clipped.
        anchor = "end" if x > x_edge - 40 else "start" if x < frame.left + 40 else "middle"
        points.append(
            CurvePoint(
                turn=number,
                trust=trust,
                x=x,
                y=frame.y_at(trust),
                label=label,
                disclosed=disclosed,
                risk=bool(layer_id and layer_id in risky),
                anchor=anchor,
            )
        )
    if points:
        summary = (
            f"Trust went from {start:.1f} to {points[-1].trust:.1f} over {len(points)} "
            f"turn{'s' if len(points) != 1 else ''}; "
            + (f"layers opened: {', '.join(opened)}" if opened else "no layers opened")
            + (f"; {'; '.join(events)}" if events else "")
            + "."
        )
    else:
        summary = f"No student turns yet; trust is at its starting level of {start:.1f}."
    start_y = frame.y_at(start)
    return TrustCurve(
        **frame.canvas(),
        start_trust=start,
        start_y=start_y,
        points=points,
        x_ticks=frame.x_ticks(tick_step(span, most=12)),
        y_ticks=frame.y_ticks(2),
        summary=summary,
        polyline=frame.polyline([(frame.x_at(0), start_y)] + [(p.x, p.y) for p in points]),
    )


# ---- rendering ----------------------------------------------------------------------------


def _asset_versions() -> dict[str, str]:
    """A short content hash per static file, so browsers never run a stale app.js."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10]
        for p in STATIC.glob("*")
        if p.is_file()
    }


def _date(value: datetime | None) -> str:
    # Stored as UTC; SQLite hands it back without a zone, PostgreSQL with one.
    return f"{value.day} {value:%b %Y, %H:%M} UTC" if value else ""


def _trust(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def build_environment() -> jinja2.Environment:
    """The Jinja2 environment: autoescaping on for everything, undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    versions = _asset_versions()

    def static(name: str) -> str:
        return f"/static/{name}?v={versions.get(name, '0')}"

    env.globals["static"] = static
    env.globals["editor"] = editor_assets(STATIC, static)
    env.globals["difficulty_words"] = DIFFICULTY_WORDS
    # One numbering of turns for people on every page (app.numbering).
    env.globals["turn_numbers"] = TurnNumbers.of
    env.filters["date"] = _date
    env.filters["trust"] = _trust
    env.filters["ms"] = _ms
    env.filters["reveal"] = reveal_bidi
    return env


def _env(request: Request) -> jinja2.Environment:
    return services(request).page_templates


def render(
    request: Request, name: str | Sequence[str], context: dict[str, Any], status_code: int = 200,
    *, editor: bool = False,
) -> HTMLResponse:
    """Render a template (or the first of several that exists) as an HTML response.

    `editor`: the page loads the YAML editor, so its policy allows the editor's import map and
    the styles CodeMirror writes with this response's nonce.
    """
    env = _env(request)
    template = env.select_template([name] if isinstance(name, str) else list(name))
    headers = {"Cache-Control": "no-store"}
    nonce = ""
    if editor:
        nonce = base64.b64encode(secrets.token_bytes(16)).decode("ascii")
        headers["Content-Security-Policy"] = content_security_policy(
            scripts=[env.globals["editor"].script_hash], styles=[f"'nonce-{nonce}'"])
    html = template.render(request=request, path=request.url.path, csp_nonce=nonce, **context)
    return HTMLResponse(html, status_code=status_code, headers=headers)


def _status_phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


# A heading that says what kind of problem it is; the detail line says what to do. Statuses
# not listed (and every 5xx) keep "Something went wrong".
_HEADINGS = {
    400: "That request did not work",
    403: "This is not open to you",
    409: "That cannot be done right now",
    413: "That is too large",
    422: "Please check what you entered",
    429: "Too many tries",
    503: "Not available right now",
}


def render_error(request: Request, status_code: int, detail: str) -> HTMLResponse:
    """An error page: `{status}.html` if there is one, else `error.html`."""
    return render(
        request,
        [f"{status_code}.html", "error.html"],
        {"status_code": status_code, "detail": detail, "title": _status_phrase(status_code),
         "heading": _HEADINGS.get(status_code, "Something went wrong")},
        status_code=status_code,
    )


def install_pages(app: FastAPI) -> None:
    """Mount the pages, the static files and the HTML error renderer (headers: app.web.edge)."""
    shared = services_of(app)
    shared.page_templates = build_environment()
    shared.render_error = render_error
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


# ---- helpers shared by the routes ---------------------------------------------------------


def _session_or_404(
    db: DbSession, session_id: str, user: CurrentUser, action: SessionAction = "practice"
) -> PracticeSession:
    # The role and cohort rules live in app.auth.policy; refusals are 404s, like unknown ids.
    return visible_session(db=db, user=user, session_id=session_id, action=action)


def _client_name(persona: Persona | None) -> str:
    return persona.client.name if persona else "The client"


def _engine_for(persona: Persona, settings: SettingsDep, request: Request) -> str:
    """The engine a new session runs on, chosen as the API chooses it."""
    engine = practice.choose_engine(
        requested=None, persona=persona, default=settings.engine,
        available=services(request).engines,
    )
    assert engine is not None  # only an explicit request can be unavailable
    return engine


def engine_label(request: Request, name: str) -> dict[str, Any]:
    """Who is voicing the client, said plainly, with a warning for demo-quality models."""
    engine = services(request).engines.get(name)
    model = getattr(engine, "model", None)
    return {
        "name": name,
        "model": model,
        "demo": bool(getattr(engine, "demo_quality", False)),
    }


def session_accounting(turns: Sequence[Turn]) -> dict[str, Any]:
    """Totals for trainers: tokens, model time and guard events over the client's replies."""
    replies = [t for t in turns if t.speaker == "client" and t.index > 0]

    def total(values: list[float | int | None]) -> float | int | None:
        known = [v for v in values if v is not None]
        return sum(known) if known else None

    ttfts = sorted(t.ttft_ms for t in replies if t.ttft_ms is not None)
    outcomes = [((t.events or {}).get("voice") or {}).get("outcome") for t in replies]
    return {
        "replies": len(replies),
        "prompt_tokens": total([t.prompt_tokens for t in replies]),
        "completion_tokens": total([t.completion_tokens for t in replies]),
        "engine_ms": total([t.total_ms for t in replies]),
        "median_ttft_ms": ttfts[len(ttfts) // 2] if ttfts else None,
        "guard_events": sum(len(t.guard_events or []) for t in replies),
        "regenerated": outcomes.count("regenerated"),
        "fallback": outcomes.count("fallback"),
        "engines": sorted({t.engine for t in replies if t.engine}),
    }


# ---- routes -------------------------------------------------------------------------------


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """The icon, for browsers and tools that ask for it without reading the page."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/", response_class=HTMLResponse)
def library_page(request: Request, personas: Personas) -> HTMLResponse:
    """The persona library: one card per simulated client."""
    cards = [persona_summary(p) for p in personas.values()]
    return render(request, "library.html", {"cards": cards, "title": "Persona library"})


@router.post("/sessions")
def start_session(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    personas: Personas,
    settings: SettingsDep,
    persona_id: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Start a session from the library form and go to it."""
    if not persona_id:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "Choose a persona to start.")
    persona = personas.get(persona_id)
    if persona is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No persona with id '{persona_id}'.")
    engine = _engine_for(persona, settings, request)
    revision = personas.revision_of(persona.id) if isinstance(personas, Book) else None
    session, _ = practice.create_session(db=db, persona=persona, owner_id=user.id, engine=engine,
                                         revision=revision)
    return RedirectResponse(f"/sessions/{session.id}", status_code=status.HTTP_303_SEE_OTHER)


def _coach_notes(turns: Sequence[Turn]) -> list[tuple[int, dict]]:
    """Coach mode's stored notes, each with the number of the student turn it is about."""
    student = [t for t in turns if t.speaker == "counsellor"]
    return [(n, t.events["coach"]) for n, t in enumerate(student, start=1)
            if "coach" in (t.events or {})]


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(
    session_id: str,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    personas: Personas,
    settings: SettingsDep,
) -> HTMLResponse:
    """A practice session: the conversation so far and the message box."""
    session = _session_or_404(db, session_id, user)
    turns = practice.session_turns(db=db, session_id=session.id)
    persona = session_persona(personas, session)
    return render(
        request,
        "session.html",
        {
            "title": f"Session with {_client_name(persona)}",
            "session": session,
            "turns": turns,
            "persona": persona_summary(persona) if persona else None,
            "client_name": _client_name(persona),
            "awaiting_reply": bool(turns) and turns[-1].speaker == "counsellor",
            "can_continue": session.status == "active" and persona is not None,
            "max_chars": settings.max_turn_chars,
            "voice": engine_label(request, session.engine),
            "coach": coaching_on(db=db, session=session),
            "coach_by_cohort": coaching_on(db=db, session=session) and not session.coach,
            "coach_allowed": analysis_visible(db=db, user=user, session=session),
            "coach_notes": _coach_notes(turns),
        },
    )


@router.post("/sessions/{session_id}/end")
def end_session_form(
    session_id: str,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    personas: Personas,
    settings: SettingsDep,
) -> RedirectResponse:
    """End a session from its page (the no-JavaScript path) and show its report."""
    session = _session_or_404(db, session_id, user)
    # Discarded in another tab a moment ago: practice.ConflictError, a 409 page.
    end_and_grade(
        db=db,
        session=session,
        persona=session_persona(personas, session),
        rubric_library=rubrics_of(request),
        settings=settings,
    )
    return RedirectResponse(f"/sessions/{session.id}/report", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/history", response_class=HTMLResponse)
def history_page(
    request: Request, db: DbSession, user: CurrentUser, personas: Personas
) -> HTMLResponse:
    """The current user's sessions, newest first, with the score they may see and every link."""
    rows = [
        {
            "session": s,
            "title": getattr(session_persona(personas, s), "title", s.persona_id),
            "turns": n,
            "score": _history_score(db=db, user=user, session=s),
        }
        for s, n in practice.list_sessions(db=db, owner_id=user.id)
    ]
    return render(request, "history.html", {"rows": rows, "title": "Session history",
                                            "discarded": "discarded" in request.query_params})


def _history_score(*, db: DbSession, user: CurrentUser, session: PracticeSession) -> dict | None:
    """The overall score shown in the history: the released one, else the auto-grade's."""
    if session.status != "ended":
        return None
    released = released_review(db=db, session_id=session.id)
    if released is not None:
        view = released_view(db=db, session_id=session.id)
        return {"overall": view.overall if view else None, "source": "released"}
    if not analysis_visible(db=db, user=user, session=session):
        return {"overall": None, "source": "held"}
    grade = latest_grade(db=db, session_id=session.id)
    if grade is None:
        return None
    return {"overall": grade.overall, "source": "auto"}


@router.get("/sessions/{session_id}/transcript", response_class=HTMLResponse)
def transcript_page(
    session_id: str, request: Request, db: DbSession, user: CurrentUser, personas: Personas
) -> HTMLResponse:
    """Every turn with its codes and events, and the trust curve."""
    session = _session_or_404(db, session_id, user, "read")
    turns = practice.session_turns(db=db, session_id=session.id)
    persona = session_persona(personas, session)
    pairs = _turn_pairs(turns)
    numbers = {student.index: n for n, (student, _) in enumerate(pairs, start=1)}
    reveal = analysis_visible(db=db, user=user, session=session)
    return render(
        request,
        "transcript.html",
        {
            "title": f"Transcript: session with {_client_name(persona)}",
            "session": session,
            "turns": turns,
            "numbers": numbers,
            "persona": persona_summary(persona) if persona else None,
            "client_name": _client_name(persona),
            "risk_layers": _risk_layers(persona),
            "titles": layer_titles(persona),
            "curve": trust_curve(turns, persona),
            "voice": engine_label(request, session.engine),
            "accounting": session_accounting(turns),
            "reveal": reveal,
        },
    )
