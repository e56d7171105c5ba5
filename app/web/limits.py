"""A cap on request body size, checked before the body is read into memory (app.web.edge)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import Send

__all__ = ["TooLarge", "WiderLimit", "refuse_too_large"]


@dataclass(frozen=True, slots=True)
class WiderLimit:
    """Paths with a larger limit of their own: a prefix, or a pattern the whole path matches.

    `hint` is added to the refusal, to tell the person what to send instead.
    """

    path: str | re.Pattern[str]
    max_bytes: int
    hint: str = ""

    def matches(self, path: str) -> bool:
        """Whether this limit is the one for `path`."""
        if isinstance(self.path, re.Pattern):
            return self.path.fullmatch(path) is not None
        return path.startswith(self.path)


async def refuse_too_large(
    send: Send, limit: int, *, hint: str = "", headers: dict[bytes, bytes] | None = None
) -> None:
    """Answer 413, naming the limit: a short page to a browser that sent a form, JSON else."""
    detail = _too_large(limit, hint)
    if b"text/html" in (headers or {}).get(b"accept", b""):
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


class TooLarge(HTTPException):
    """Raised from `receive`: an HTTPException, so FastAPI's body parsing passes it on as 413
    instead of turning it into "400 error parsing the body"."""

    def __init__(self, limit: int, hint: str = "") -> None:
        super().__init__(413, _too_large(limit, hint))
        self.limit, self.hint = limit, hint


def _too_large(limit: int, hint: str) -> str:
    said = f"Request body too large: the limit is {limit:,} bytes."
    return f"{said} {hint}" if hint else said
