"""Prometheus metrics: HTTP traffic (prometheus-fastapi-instrumentator) and Rapport's own.

Counters live in this process; with several worker processes `rapport serve` gives them a
shared folder (PROMETHEUS_MULTIPROC_DIR, prometheus_client's multiprocess mode) so one scrape
adds up every worker. Active sessions are counted in the database at scrape time, so every
worker, and a restarted one, reports the same number.
"""

from __future__ import annotations

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
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.models import Turn, utcnow

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
    if app.state.settings.prometheus_multiproc_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Everything())
    registry.register(_ActiveSessions(app.state.db_engine))
    return generate_latest(registry)


class _Everything(Collector):
    """This process's default registry, re-exported next to the per-scrape gauge."""

    def collect(self) -> Iterator:
        yield from REGISTRY.collect()


def install_metrics(app: FastAPI) -> None:
    """Count HTTP requests per route and serve every metric at /metrics."""
    Instrumentator(
        excluded_handlers=["/metrics", "/healthz.*", "/static/.*"],
        should_group_status_codes=True,
    ).instrument(app)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        """Every metric in Prometheus's text format."""
        return Response(_exposition(request.app), media_type=CONTENT_TYPE_LATEST)
