"""The container files, checked as far as a machine without a Docker daemon allows: the
Dockerfile linted (hadolint), compose.yaml validated (docker-compose's own check and the
compose-spec JSON Schema), and the image's entrypoint script run for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support import ROOT, free_port

BIN = Path(sys.executable).parent
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
COMPOSE_ENV = {"POSTGRES_PASSWORD": "not-a-real-password",
               "RAPPORT_SECRET_KEY": "x" * 40, "RAPPORT_SITE": "rapport.example.ac.uk"}


def _tool(name: str) -> str:
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{name} is not installed (.ci/run installs it)", pytrace=False)
        pytest.skip(f"{name} is not installed (see .ci/run)")
    return found


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "OPENAI_"))}
    return {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", **extra}


def test_the_dockerfile_passes_hadolint_and_says_what_the_issue_asks() -> None:
    done = subprocess.run([_tool("hadolint"), str(ROOT / "Dockerfile")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert "-slim" in text
    assert "\nUSER 10001:10001\n" in text  # not root
    assert "\nHEALTHCHECK " in text and "/healthz/live" in text
    assert "COPY app ./app" in text  # the app, with app/migrations inside it
    assert (ROOT / "app" / "migrations" / "versions").is_dir()
    assert 'ENTRYPOINT ["rapport-entrypoint"]' in text
    assert "COPY deploy/entrypoint.sh /usr/local/bin/rapport-entrypoint" in text


def test_compose_validates_against_docker_compose_and_the_compose_spec(tmp_path: Path) -> None:
    done = subprocess.run([_tool("docker-compose"), "-f", str(ROOT / "compose.yaml"), "config"],
                          cwd=tmp_path, env=_clean_env(**COMPOSE_ENV),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    services = resolved["services"]
    assert {"db", "app1", "app2", "proxy", "model"} <= set(services)
    for name in ("app1", "app2"):
        app = services[name]
        assert app["environment"]["RAPPORT_DATABASE_URL"].endswith("@db:5432/rapport")
        assert app["environment"]["RAPPORT_AUTH"] == "on"
        assert "ports" not in app  # reachable only through the proxy
    assert services["model"]["profiles"] == ["model"]  # optional
    assert services["db"]["image"].startswith("postgres:")
    caddy = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "app1:8000 app2:8000" in caddy and "flush_interval -1" in caddy
    assert "@internal path /metrics /healthz/ready" in caddy

    spec = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                           str(ROOT / "compose.yaml")], capture_output=True, text=True,
                          timeout=60)
    assert spec.returncode == 0, spec.stdout + spec.stderr

    # Without the secrets, compose refuses to start and says which one is missing.
    missing = subprocess.run([_tool("docker-compose"), "-f", str(ROOT / "compose.yaml"),
                              "config"], cwd=tmp_path, env=_clean_env(), capture_output=True,
                             text=True, timeout=60)
    assert missing.returncode != 0 and "POSTGRES_PASSWORD" in missing.stderr


def test_the_entrypoint_seeds_the_libraries_migrates_and_serves(
    tmp_path: Path, db_url: str
) -> None:
    port = free_port()
    env = _clean_env(RAPPORT_DATA_DIR=str(tmp_path), RAPPORT_DATABASE_URL=db_url,
                     RAPPORT_PERSONAS_DIR=str(tmp_path / "library" / "personas"),
                     RAPPORT_RUBRICS_DIR=str(tmp_path / "library" / "rubrics"),
                     RAPPORT_LOG_FORMAT="json", RAPPORT_STREAM_DELAY="0")
    log = tmp_path / "entrypoint.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["sh", str(ENTRYPOINT), "serve", "--host", "127.0.0.1",
                                 "--port", str(port)], cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        seeded = sorted(p.name for p in (tmp_path / "library" / "personas").glob("*.yaml"))
        assert seeded == sorted(p.name for p in (ROOT / "personas").glob("*.yaml"))
        assert (tmp_path / "library" / "rubrics" / "core-conditions.yaml").is_file()
        sid = httpx.post(f"{url}/api/sessions", json={"persona_id": "sam-work-stress"}).json()
        assert sid["status"] == "active"
    finally:
        proc.terminate()
        proc.wait(20)
    text = log.read_text()
    assert "database up to date" in text and "copied the shipped library" in text


def test_the_entrypoint_gives_up_on_a_missing_database_with_the_fix(tmp_path: Path) -> None:
    env = _clean_env(RAPPORT_DATA_DIR=str(tmp_path), RAPPORT_DB_WAIT="4",
                     RAPPORT_DATABASE_URL="postgresql+psycopg://rapport@127.0.0.1:1/rapport")
    started = time.monotonic()
    done = subprocess.run(["sh", str(ENTRYPOINT), "serve"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "did not accept the migration within 4s" in done.stderr
    assert "RAPPORT_DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr  # each attempt says why in one line
    assert "cannot reach the database" in done.stderr
    assert time.monotonic() - started < 60


def test_the_entrypoint_runs_any_other_command(tmp_path: Path) -> None:
    done = subprocess.run(["sh", str(ENTRYPOINT), "personas", "validate"], cwd=tmp_path,
                          env=_clean_env(RAPPORT_DATA_DIR=str(tmp_path)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("ok: "), done.stderr
