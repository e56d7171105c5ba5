"""Error answers: JSON `{"detail": "..."}` for the API, pages for the browser."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.domain import DomainError
from app.services import services_of

__all__ = ["install_error_handlers", "validation_message"]

logger = logging.getLogger("rapport")


def validation_message(exc: RequestValidationError) -> str:
    """One readable sentence from pydantic's validation errors."""
    parts: list[str] = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            return "Malformed JSON body: " + str(error.get("ctx", {}).get("error", "invalid JSON"))
        loc = [str(p) for p in error.get("loc", ()) if p != "body"]
        where = ".".join(loc) or "body"
        if error.get("type") == "missing":
            parts.append(f"{where}: required field missing")
        elif error.get("type") == "extra_forbidden":
            parts.append(f"{where}: unknown field")
        else:
            parts.append(f"{where}: {error.get('msg', 'invalid value')}")
    return "; ".join(parts) or "Invalid request."


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/healthz", "/metrics")):
        return False
    return "text/html" in request.headers.get("accept", "")


def install_error_handlers(app: FastAPI) -> None:
    """JSON errors for API paths; the page renderer (if any) for browser paths."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={"detail": validation_message(exc)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # Logged with its traceback for the operator; the person sees a plain sentence in the
        # same shape as every other error, never a stack trace.
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        detail = "Something went wrong on the server. What you had saved is still there; try again."
        render = services_of(app).render_error
        if render is not None and _wants_html(request):
            return render(request, 500, detail)
        return JSONResponse(status_code=500, content={"detail": detail})

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        # The domain's refusals answer as an HTTPException of their status would.
        return await _http(request, StarletteHTTPException(exc.status_code, str(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        render = services_of(app).render_error
        if render is not None and _wants_html(request):
            return render(request, exc.status_code, str(exc.detail))
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": exc.detail},
            headers=getattr(exc, "headers", None),
        )
