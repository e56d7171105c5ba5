"""A cap on request body size, checked before the body is read into memory."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["BodySizeLimit", "WiderLimit"]


@dataclass(frozen=True, slots=True)
class WiderLimit:
    """Paths with a larger limit of their own: a prefix, or a pattern the whole path matches.

    `hint` is added to the refusal, to tell the person what to send instead.
    """

    path: str | re.Pattern[str]
    max_bytes: int
    hint: str = ""

    def matches(self, path: str) -> bool:
        if isinstance(self.path, re.Pattern):
            return self.path.fullmatch(path) is not None
        return path.startswith(self.path)


class BodySizeLimit:
    """Refuse bodies over `max_bytes` with 413, whether declared or streamed.

    `wider` gives some paths their own limit (file uploads, transcript and roster imports).
    A browser that sent a form is answered with a short page, an API client with JSON.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, wider: Sequence[WiderLimit] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.wider = list(wider)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        rule = next((w for w in self.wider if w.matches(path)), None)
        limit, hint = (rule.max_bytes, rule.hint) if rule else (self.max_bytes, "")
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit, hint, headers)
            return
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit, hint)
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _refuse(send, limit, hint, headers)


async def _refuse(send: Send, limit: int, hint: str, headers: dict[bytes, bytes]) -> None:
    detail = _too_large(limit, hint)
    if b"text/html" in headers.get(b"accept", b""):
        # Outside the sign-in gate there is no one to greet: a bare page with the sentence.
        body = _PAGE.format(detail=html.escape(detail)).encode()
        kind = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"detail": detail}).encode()
        kind = b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


_PAGE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Too large to send - Rapport</title>"
    '<link rel="stylesheet" href="/static/app.css"></head>'
    '<body><main class="page" id="main"><div class="intro error-page">'
    '<p class="eyebrow">Error 413</p><h1>Too large to send</h1>'
    '<p class="lede" id="too-large">{detail}</p>'
    '<p class="actions"><a class="button" href="/">Back to Rapport</a></p>'
    "</div></main></body></html>\n"
)


class _TooLarge(HTTPException):
    """Raised from `receive`: an HTTPException, so FastAPI's body parsing passes it on as 413
    instead of turning it into "400 error parsing the body"."""

    def __init__(self, limit: int, hint: str) -> None:
        super().__init__(413, _too_large(limit, hint))


def _too_large(limit: int, hint: str) -> str:
    said = f"Request body too large: the limit is {limit:,} bytes."
    return f"{said} {hint}" if hint else said
