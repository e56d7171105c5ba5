"""Logging: every record carries the id of the request it belongs to; text or JSON lines.

A request id comes from the proxy's `X-Request-ID` header when it sends a sane one (so one id
follows a request through proxy and app logs), else is made here; it goes back in the answer's
`X-Request-ID` header and onto every log record written while the request runs. Each request
also ends with one access line (method, path, status, milliseconds) from the app itself, so the
access log carries the request id too, which uvicorn's own access log cannot.
"""

from __future__ import annotations

import contextvars
import logging
import re
from typing import Any

from app.config import Settings

__all__ = [
    "REQUEST_ID_HEADER",
    "SANE_ID",
    "access_logger",
    "current_request_id",
    "log_config",
    "request_id_var",
]

REQUEST_ID_HEADER = "x-request-id"
SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Set for each request by app.web.edge.Edge.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access_logger = logging.getLogger("rapport.access")


def current_request_id() -> str:
    """The id of the request being served ("-" outside a request)."""
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record (a logging filter, so it works for any logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def log_config(settings: Settings) -> dict[str, Any]:
    """A logging.config dict for uvicorn and the app: text or JSON, request ids on both."""
    level = settings.log_level.upper()
    if settings.log_format == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        }
    else:
        formatter = {
            "format": "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s",
        }
    handler = {"class": "logging.StreamHandler", "formatter": "main",
               "filters": ["request_id"], "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            "rapport": {"handlers": ["main"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["main"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # The app writes its own access line, with the request id.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
        "root": {"handlers": ["main"], "level": "WARNING"},
    }
