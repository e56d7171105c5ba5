"""Hostile bytes refused before any route runs: 422 naming the field, never a 500.

Checks the path, the query string and JSON or form bodies of every request with
`app.input_checks`. Multipart uploads are checked by the routes that read them (the transcript
import, the trainer's YAML files), as they know which part is text.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.input_checks import MAX_NESTING, InputProblem, field_label, load_json, text_problem
from app.services import services_of
from app.web.bodies import read_body, replay

__all__ = ["InputGuard"]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Cheap signs that a JSON body needs a closer look: a NUL or surrogate escape, or raw NUL.
_SUSPECT = (b"\\u0000", b"\x00", b"\\ud", b"\\uD")


def _form_problem(text: str, prefix: str = "") -> InputProblem | None:
    for name, value in parse_qsl(text, keep_blank_values=True):
        for part in (name, value):
            problem = text_problem(part)
            if problem:
                return InputProblem(field_label(prefix + name), problem)
    return None


def _json_problem(body: bytes) -> InputProblem | None:
    suspect = any(sign in body for sign in _SUSPECT)
    if not suspect and body.count(b"[") + body.count(b"{") <= MAX_NESTING:
        return None
    try:
        load_json(body)
    except InputProblem as exc:
        return exc
    except (ValueError, RecursionError):
        return None  # malformed JSON: the route's own validation says so
    return None


class InputGuard:
    """ASGI middleware: refuse NUL, lone surrogates and deep nesting with a 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = None
        if "\x00" in scope.get("path", ""):
            problem = InputProblem("path", "contains a NUL character, which is not allowed")
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            problem = problem or _form_problem(query.decode("latin-1"), "query.")
        if problem is None and scope.get("method") in _BODY_METHODS:
            headers = dict(scope.get("headers") or [])
            content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if content_type == b"application/json" or content_type.endswith(b"+json"):
                body = await read_body(receive)
                receive = replay(body, receive)
                problem = _json_problem(body)
            elif content_type == b"application/x-www-form-urlencoded":
                body = await read_body(receive)
                receive = replay(body, receive)
                if b"%00" in body or b"\x00" in body:
                    problem = _form_problem(body.decode("utf-8", "replace"))
        if problem is None:
            await self.app(scope, receive, send)
            return
        await _refuse(scope, receive, send, problem)


async def _refuse(scope: Scope, receive: Receive, send: Send, problem: InputProblem) -> None:
    request = Request(scope, receive)
    render = services_of(scope["app"]).render_error
    wants_page = not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )
    if render is not None and wants_page:
        response = render(request, 422, str(problem))
    else:
        response = JSONResponse({"detail": str(problem)}, status_code=422)
    await response(scope, receive, send)
