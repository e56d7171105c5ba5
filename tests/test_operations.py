"""What an operator watches: /metrics scraped from `rapport serve` as shipped, JSON logs with
request ids, and the liveness and readiness probes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.config import Settings
from app.main import create_app
from app.services import services_of
from tests.support import ROOT, free_port

RAPPORT = str(Path(sys.executable).parent / "rapport")


@contextmanager
def rapport_serve(env: dict[str, str], *args: str) -> Iterator[tuple[str, Path]]:
    """`rapport serve` as an operator starts it; yields its URL and its log file."""
    port = free_port()
    log = Path(env["RAPPORT_DATA_DIR"]) / f"serve-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen([RAPPORT, "serve", "--port", str(port), *args], cwd=ROOT,
                                env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"rapport serve exited:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/healthz/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"rapport serve did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _metric(body: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for line in body.splitlines():
        match = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


def _practise(url: str, lines: int = 3) -> str:
    sid = httpx.post(f"{url}/api/sessions", json={"persona_id": "sam-work-stress"}).json()["id"]
    for n in range(lines):
        answer = httpx.post(f"{url}/api/sessions/{sid}/turns",
                            json={"text": f"What has been hardest this week, part {n}?"},
                            headers={"X-Request-ID": f"turn-{sid}-{n}"}, timeout=30)
        assert answer.status_code == 200
    assert httpx.post(f"{url}/api/sessions/{sid}/end").status_code == 200
    return sid


@pytest.mark.slow
def test_metrics_show_turns_latency_grades_and_active_sessions(server_env) -> None:
    env = {**server_env, "RAPPORT_STREAM_DELAY": "0", "RAPPORT_LOG_FORMAT": "json"}
    with rapport_serve(env) as (url, log):
        _practise(url)
        body = httpx.get(f"{url}/metrics").text
        assert _metric(body, "rapport_turns_total", speaker="counsellor", engine="scripted") == 3
        assert _metric(body, "rapport_turns_total", speaker="client", engine="scripted") == 3
        assert _metric(body, "rapport_turn_seconds_count", engine="scripted") == 3
        assert _metric(body, "rapport_grades_total", engine="analytic") >= 1
        assert _metric(body, "rapport_active_sessions") == 1
        assert _metric(body, "rapport_engine_errors_total") == 0
        assert _metric(body, "http_requests_total", handler="/api/sessions/{session_id}/turns") \
            == 3
        answer = httpx.get(f"{url}/healthz", headers={"X-Request-ID": "probe-1"})
        assert answer.headers["x-request-id"] == "probe-1"
        assert httpx.get(f"{url}/").headers["x-request-id"]  # made up when none is sent
    records = [json.loads(line) for line in log.read_text().splitlines()
               if line.startswith("{")]
    assert records, log.read_text()
    access = [r for r in records if r.get("logger") == "rapport.access"]
    turns = [r for r in access if r["request_id"].startswith("turn-")]
    assert len(turns) == 3 and all(r["status"] == 200 and r["duration_ms"] >= 0 for r in turns)
    assert {"time", "level", "message"} <= set(turns[0])


@pytest.mark.slow
def test_two_workers_pool_their_counts(server_env) -> None:
    env = {**server_env, "RAPPORT_STREAM_DELAY": "0"}
    with rapport_serve(env, "--workers", "2") as (url, _log):
        for _ in range(3):
            _practise(url, lines=2)
        scrapes = [httpx.get(f"{url}/metrics").text for _ in range(4)]
    # Whichever worker answers the scrape, it counts every worker's turns.
    for body in scrapes:
        assert _metric(body, "rapport_turns_total", speaker="client") == 6


def test_readiness_names_what_is_wrong(tmp_path: Path, db_url: str) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, database_url=db_url))) as client:
        ready = client.get("/healthz/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "ok"
        checks = ready.json()["checks"]
        assert checks["database"]["ok"] and checks["libraries"]["personas"] >= 8
        with services_of(client.app).db_engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        stale = client.get("/healthz/ready")
        assert stale.status_code == 503 and stale.json()["status"] == "unavailable"
        assert "rapport db upgrade" in stale.json()["checks"]["database"]["detail"]
        # Liveness does not care: restarting the worker would not fix the schema.
        assert client.get("/healthz/live").json() == {"status": "ok"}
        assert client.get("/healthz").json() == {"status": "ok"}
