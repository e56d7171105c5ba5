"""Errors the domain raises, each carrying the HTTP status it answers with.

Domain code (practice, course, ...) raises these without knowing about HTTP; the web layer
maps every one in a single handler (app.web.errors) to the same `{"detail": "..."}` answer,
or the error page for a browser, as an HTTPException of that status would give.
"""

from __future__ import annotations

__all__ = ["DomainError"]


class DomainError(Exception):
    """A request the domain refuses; `status_code` is the HTTP status that answers it."""

    status_code = 400
