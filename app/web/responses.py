"""What the API answers besides success, declared for the OpenAPI schema.

Every error is `{"detail": "<a sentence>"}` (app.web.errors); a few carry more. Generated
clients read these declarations, so they must match what the routes send.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.models import TurnPublic

__all__ = ["COMMON", "ENGINE_FAILURE", "SSE", "EngineFailure", "ErrorBody", "errors"]


class ErrorBody(BaseModel):
    """Every error answer: one sentence that names the problem and, where it can, the fix."""

    detail: str


class EngineFailure(ErrorBody):
    """502 from a turn or Retry: the client engine failed; the student's turn is saved."""

    retryable: bool
    student_turn: TurnPublic


_MEANING = {
    400: "The body could not be read (a broken multipart upload).",
    401: "Not signed in (accounts on).",
    403: "Not allowed: your role, or a CSRF or cross-site check.",
    404: "No such item, or not one you may see (the two are not told apart).",
    409: "Clashes with the session's state: ended, imported, a reply still pending, a race.",
    413: "The body is larger than the limit.",
    422: "A field is missing or invalid; the detail names it.",
    429: "Too many failed sign-ins; see Retry-After.",
    503: "A service this needs is not available here (an engine, a judge, sign-in capacity).",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given error statuses, each with the ErrorBody schema."""
    return {code: {"model": ErrorBody, "description": _MEANING[code]} for code in codes}


# What any JSON route may answer, whatever it does.
COMMON = errors(400, 401, 403, 404, 413, 422)
ENGINE_FAILURE: dict[int | str, dict[str, Any]] = {
    502: {"model": EngineFailure, "description": "The client engine failed; Retry may help."},
}
# A turn or Retry with `Accept: text/event-stream` answers as Server-Sent Events.
SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
          "description": "The reply, whole (JSON) or as SSE events student, delta, replace, "
                         "done, error."},
}
