"""A cap on request body size, checked before the body is read into memory (app.web.edge)."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import Send

__all__ = ["TooLarge", "refuse_too_large"]


async def refuse_too_large(send: Send, limit: int) -> None:
    """Answer 413, naming the limit."""
    body = json.dumps({"detail": _too_large(limit)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TooLarge(HTTPException):
    """Raised from `receive`: an HTTPException, so FastAPI's body parsing passes it on as 413
    instead of turning it into "400 error parsing the body"."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


def _too_large(limit: int) -> str:
    return f"Request body too large: the limit is {limit:,} bytes."
