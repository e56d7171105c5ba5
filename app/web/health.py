"""Health probes: liveness (the process answers) and readiness (it can do its job).

`/healthz` and `/healthz/live` answer as long as the event loop runs: an orchestrator restarts
a worker only when these fail. `/healthz/ready` checks what a request needs: the database (and
that it is migrated), the persona and rubric libraries, and each configured model server. A
database or library failure answers 503, so a load balancer sends no traffic to that worker; a
model server that is down answers 200 with status "degraded" and the fix, because every page
but a reply from that engine still works and taking all workers out would make it worse.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.client.engines import check_engine
from app.db import current_revision, schema_head
from app.services import Services, services

__all__ = ["MODEL_CHECK_SECONDS", "ModelCheck", "install_health", "router"]

router = APIRouter(tags=["meta"])
# A model server is asked at most this often, however often probes come.
MODEL_CHECK_SECONDS = 15.0


@dataclass(slots=True)
class ModelCheck:
    """A model server's last check: when (monotonic seconds) and its problem, if any."""

    at: float
    problem: str | None


def _database(engine: Engine) -> dict:
    """{"ok", "detail"}: the database answers and is at the latest migration."""
    head = schema_head()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = current_revision(conn)
    except (SQLAlchemyError, OSError) as exc:  # not ready; the detail says why
        return {"ok": False, "detail": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    if current != head:
        return {"ok": False,
                "detail": f"schema at {current}, code needs {head}: run `rapport db upgrade`"}
    return {"ok": True, "detail": f"migrated to {head}"}


def _libraries(shared: Services) -> dict:
    library = shared.library
    personas = library.persona_shelf
    rubrics = library.rubric_shelf
    counts = {"personas": len(personas.get()), "rubrics": len(rubrics.get()) if rubrics else 0}
    problems = [str(p) for shelf in (personas, rubrics) if shelf for p in shelf.problems]
    ok = counts["personas"] > 0 and counts["rubrics"] > 0
    detail = f"{counts['personas']} personas, {counts['rubrics']} rubrics"
    if problems:
        detail += "; a changed file did not load, the last good library is in use"
    return {"ok": ok, "detail": detail, **counts, "problems": problems[:20]}


async def _models(shared: Services) -> dict[str, dict]:
    """Each non-scripted engine's check, asked at most every MODEL_CHECK_SECONDS."""
    cache = shared.health_cache
    settings = shared.settings
    found: dict[str, dict] = {}
    for name, engine in shared.engines.items():
        if getattr(engine, "check", None) is None:
            continue
        cached = cache.get(name)
        now = time.monotonic()
        if cached is None or now - cached.at >= MODEL_CHECK_SECONDS:
            problem = await check_engine(settings=settings, engine=engine)
            cached = cache[name] = ModelCheck(at=now, problem=problem)
        found[name] = {"ok": cached.problem is None, "detail": cached.problem or "answering",
                       "model": getattr(engine, "model", None)}
    return found


@router.get("/healthz")
@router.get("/healthz/live")
async def live() -> dict[str, str]:
    """Liveness: the worker is running."""
    return {"status": "ok"}


@router.get("/healthz/ready")
async def ready(request: Request) -> JSONResponse:
    """Readiness: database, libraries and model servers, each with what to fix."""
    shared = services(request)
    database = await to_thread.run_sync(_database, shared.db_engine)
    libraries = _libraries(shared)
    models = await _models(shared)
    if not (database["ok"] and libraries["ok"]):
        status, code = "unavailable", 503
    elif not all(m["ok"] for m in models.values()):
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    body = {"status": status, "checks": {"database": database, "libraries": libraries,
                                         "models": models}}
    return JSONResponse(body, status_code=code, headers={"Cache-Control": "no-store"})


def install_health(app: FastAPI) -> None:
    """Add the probes (their model-check cache is `Services.health_cache`)."""
    app.include_router(router)
