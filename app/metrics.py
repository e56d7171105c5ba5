"""Prometheus metrics: HTTP traffic (HttpMetrics, a pure-ASGI layer) and Rapport's own.

Counters live in this process; with several worker processes `rapport serve` gives them a
shared folder (PROMETHEUS_MULTIPROC_DIR, prometheus_client's multiprocess mode) so one scrape
adds up every worker. Active sessions are counted in the database at scrape time, so every
worker, and a restarted one, reports the same number.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    Summary,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.models import Turn, utcnow
from app.services import services_of

__all__ = [
    "ACTIVE_WINDOW",
    "ENGINE_ERRORS",
    "GRADES",
    "TURNS",
    "TURN_SECONDS",
    "active_sessions",
    "install_metrics",
]

# A session counts as active while someone has written in it lately: a student who walked away
# without pressing End is not "in a session" any more.
ACTIVE_WINDOW = timedelta(minutes=15)

TURNS = Counter(
    "rapport_turns", "Turns saved, by speaker (counsellor, client) and client engine.",
    ["speaker", "engine"],
)
TURN_SECONDS = Histogram(
    "rapport_turn_seconds",
    "Seconds from a saved student message to the client's committed reply, by engine.",
    ["engine"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60),
)
ENGINE_ERRORS = Counter(
    "rapport_engine_errors",
    "Client replies that failed, by engine and whether Retry may help.",
    ["engine", "retryable"],
)
DB_BUSY_RETRIES = Counter(
    "rapport_db_busy_retries",
    "SQLite calls that found another writer holding the lock and were made again on a thread.",
)
GRADES = Counter(
    "rapport_grades", "Grades stored, by grader engine and status.", ["engine", "status"]
)


def active_sessions(*, db: Session) -> int:
    """Sessions with a turn in the last ACTIVE_WINDOW."""
    since = utcnow() - ACTIVE_WINDOW
    query = select(func.count(func.distinct(Turn.session_id))).where(col(Turn.created_at) >= since)
    return int(db.exec(query).one())


class _ActiveSessions(Collector):
    """The active-sessions gauge, read from the database when Prometheus scrapes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with Session(self.engine) as db:
            count = active_sessions(db=db)
        yield GaugeMetricFamily(
            "rapport_active_sessions",
            f"Practice sessions with a turn in the last {ACTIVE_WINDOW.seconds // 60} minutes.",
            value=count,
        )


def _exposition(app: FastAPI) -> bytes:
    shared = services_of(app)
    if shared.settings.prometheus_multiproc_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Everything())
    registry.register(_ActiveSessions(shared.db_engine))
    return generate_latest(registry)


class _Everything(Collector):
    """This process's default registry, re-exported next to the per-scrape gauge."""

    def collect(self) -> Iterator:
        yield from REGISTRY.collect()


# HTTP traffic, under the names and labels prometheus-fastapi-instrumentator's defaults used
# (dashboards keep working); counted by HttpMetrics below, which reads the matched route from
# the scope after the app ran instead of matching every route a second time.
HTTP_TOTAL = Counter("http_requests_total",
                     "Total number of requests by method, status and handler.",
                     ["method", "status", "handler"])
HTTP_IN_SIZE = Summary("http_request_size_bytes",
                       "Content length of incoming requests by handler. Only value of header is "
                       "respected. Otherwise ignored. No percentile calculated. ", ["handler"])
HTTP_OUT_SIZE = Summary("http_response_size_bytes",
                        "Content length of outgoing responses by handler. Only value of header "
                        "is respected. Otherwise ignored. No percentile calculated. ",
                        ["handler"])
HTTP_LATENCY_HIGHR = Histogram(
    "http_request_duration_highr_seconds",
    "Latency with many buckets but no API specific labels. Made for more accurate percentile "
    "calculations. ",
    buckets=(0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5,
             7.5, 10, 30, 60, float("inf")),
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Latency with only few buckets by handler. Made to be only used if aggregation by handler "
    "is important. ",
    ["method", "handler"], buckets=(0.1, 0.5, 1, float("inf")),
)
# Not counted: the scrape itself, the health probes and static files.
_UNCOUNTED = re.compile(r"/metrics|/healthz.*|/static/.*")


def _handler(scope: Scope) -> str:
    """The route template that served the request ("none" when no route matched)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "none"
    root = getattr(scope.get("app"), "root_path", "") or ""
    return root.rstrip("/") + path if root else path


class HttpMetrics:
    """Pure-ASGI HTTP metrics: requests by route, method and status class; sizes; latency."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        sent_length = b"0"

        async def counting(message: Message) -> None:
            nonlocal status, sent_length
            if message["type"] == "http.response.start":
                status = message["status"]
                sent_length = next((v for k, v in message.get("headers", [])
                                    if k.lower() == b"content-length"), b"0")
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            handler = _handler(scope)
            if not _UNCOUNTED.search(handler):
                duration = max(time.perf_counter() - started, 0.0)
                method = scope.get("method", "")
                received = next((v for k, v in scope.get("headers") or []
                                 if k == b"content-length"), b"0")
                HTTP_TOTAL.labels(method, f"{str(status)[0]}xx", handler).inc()
                HTTP_IN_SIZE.labels(handler).observe(_int(received))
                HTTP_OUT_SIZE.labels(handler).observe(_int(sent_length))
                HTTP_LATENCY_HIGHR.observe(duration)
                HTTP_LATENCY.labels(method, handler).observe(duration)


def _int(raw: bytes) -> int:
    return int(raw) if raw.isdigit() else 0


def install_metrics(app: FastAPI) -> None:
    """Count HTTP requests per route and serve every metric at /metrics."""
    app.add_middleware(HttpMetrics)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        """Every metric in Prometheus's text format."""
        return Response(_exposition(request.app), media_type=CONTENT_TYPE_LATEST)
