"""Property-based fuzzing of the HTTP API from its own OpenAPI schema (schemathesis).

Against a real server with accounts on, signed out and signed in as a student: whatever
schemathesis generates, no answer is a 5xx, and every answer's status, content type and body
match what the schema declares. Fixed seed and a bounded number of examples per operation,
so a run is repeatable and short.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from app.auth.accounts import create_user
from app.client.engines import ENGINE_NAMES
from app.config import Settings
from app.db import build_engine
from app.main import create_app
from app.practice import IMPORTED_ENGINE
from tests.accounts import PASSWORD, SECRET, TEST_ACTOR
from tests.support import ServerProcess, database_url

pytestmark = pytest.mark.slow

STUDENT = "fuzz@example.org"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Fixed seed, a few examples per operation: about three hundred requests per identity.
FUZZ = settings(max_examples=8, derandomize=True, deadline=None, database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck))

schema = schemathesis.openapi.from_dict(
    create_app(Settings(database_url="sqlite://", auth="on", secret_key=SECRET)).openapi()
)


@pytest.fixture(scope="module")
def server() -> Iterator[dict]:
    with tempfile.TemporaryDirectory() as folder, database_url(Path(folder)) as url:
        env = {"RAPPORT_DATA_DIR": folder, "RAPPORT_DATABASE_URL": url, "RAPPORT_AUTH": "on",
               "RAPPORT_SECRET_KEY": SECRET, "RAPPORT_STREAM_DELAY": "0"}
        process = ServerProcess(env=env).start()
        engine = build_engine(Settings(data_dir=Path(folder), database_url=url))
        with Session(engine) as db:
            create_user(db=db, email=STUDENT, name="Fuzz", role="student", password=PASSWORD,
                        actor=TEST_ACTOR)
        engine.dispose()
        with httpx.Client(base_url=process.url) as http:
            login = http.post("/api/auth/login", json={"email": STUDENT, "password": PASSWORD})
            csrf = login.json()["csrf_token"]
            cookies = dict(http.cookies)
            session = http.post("/api/sessions", json={"persona_id": "sam-work-stress"},
                                headers={"X-CSRF-Token": csrf}).json()["id"]
        try:
            yield {"url": process.url, "csrf": csrf, "cookies": cookies, "session": session}
        finally:
            process.stop()


@schema.parametrize()
@FUZZ
def test_signed_out(case, server) -> None:
    case.call_and_validate(base_url=server["url"], checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_signed_in_as_a_student(case, server) -> None:
    # Half the cases aim at the student's own session, so its routes get past the 404.
    if case.path_parameters and "session_id" in case.path_parameters and (
        len(str(case.path_parameters["session_id"])) % 2 == 0
    ):
        case.path_parameters["session_id"] = server["session"]
    case.call_and_validate(base_url=server["url"], checks=CHECKS,
                           headers={"X-CSRF-Token": server["csrf"]}, cookies=server["cookies"])


def test_the_schema_declares_the_error_body_and_the_engine_choices() -> None:
    spec = schema.raw_schema
    body = spec["components"]["schemas"]["ErrorBody"]
    assert body["properties"]["detail"]["type"] == "string"
    for path, operations in spec["paths"].items():
        if path.startswith("/healthz"):
            continue  # probes take no input and need no session: they answer 200 or 503
        for method, operation in operations.items():
            declared = operation["responses"]
            for code in ("400", "403", "404", "413", "422"):
                ref = declared[code]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (method, path, code)
    for path in ("/api/sessions/{session_id}/turns", "/api/sessions/{session_id}/retry",
                 "/api/sessions/{session_id}/grade"):
        assert {"409", "502", "503"} <= set(spec["paths"][path]["post"]["responses"]), path
    assert {"429", "503"} <= set(spec["paths"]["/api/auth/login"]["post"]["responses"])
    turns = spec["paths"]["/api/sessions/{session_id}/turns"]["post"]["responses"]
    assert "text/event-stream" in turns["200"]["content"]
    schemas = spec["components"]["schemas"]
    engine = schemas["SessionCreate"]["properties"]["engine"]
    assert set(ENGINE_NAMES) == set(engine["anyOf"][0]["enum"])
    # What sessions and turns report is an enum too: a client engine, or an imported one.
    reported = {*ENGINE_NAMES, IMPORTED_ENGINE}
    for name in ("SessionPublic", "SessionSummary"):
        assert set(schemas[name]["properties"]["engine"]["enum"]) == reported, name
    turn_engine = schemas["TurnPublic"]["properties"]["engine"]["anyOf"]
    assert {e for option in turn_engine for e in option.get("enum", [])} == reported
