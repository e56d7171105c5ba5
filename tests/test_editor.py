"""The trainer's YAML editor: what it asks the server, the files it loads, the page's policy.

The browser side is in tests/browser/test_trainer_browser.py (typing, completion, problems on
their lines) and tests/js (the cursor-path and schema logic, under Node).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import PROJECT_ROOT
from app.library_versions import check_problems, check_text
from app.main import create_app
from app.persona import MAX_FILE_BYTES, persona_json_schema
from app.rubric import rubric_json_schema
from app.web.editor_assets import OWN_MODULES
from app.web.pages import CONTENT_SECURITY_POLICY, STATIC
from app.web.trainer import TEMPLATES
from tests.accounts import PERSONA, add_user, auth_settings, sign_in

VENDOR = STATIC / "vendor" / "codemirror"
HTML = {"Accept": "text/html"}
PERSONA_TEXT = (PROJECT_ROOT / "personas" / f"{PERSONA}.yaml").read_text(encoding="utf-8")
RUBRIC_TEXT = (PROJECT_ROOT / "rubrics" / "core-conditions.yaml").read_text(encoding="utf-8")


@pytest.fixture
def app(tmp_path: Path, db_url: str) -> Iterator[FastAPI]:
    folders = {"personas_dir": tmp_path / "personas", "rubrics_dir": tmp_path / "rubrics"}
    shutil.copytree(PROJECT_ROOT / "personas", folders["personas_dir"])
    shutil.copytree(PROJECT_ROOT / "rubrics", folders["rubrics_dir"])
    application = create_app(auth_settings(tmp_path, db_url, **folders))
    with TestClient(application):
        add_user(application, "tess@example.org", role="trainer")
        yield application


@pytest.fixture
def trainer(app: FastAPI) -> TestClient:
    return sign_in(app, "tess@example.org")


def _verdict(client: TestClient, text: str, kind: str = "persona") -> dict:
    answer = client.post("/trainer/check.json", json={"kind": kind, "text": text})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _line_of(text: str, line: str) -> int:
    return text.splitlines().index(line) + 1


# ---- the check the editor asks for while a trainer types ----------------------------------------


def test_a_valid_persona_and_rubric_have_no_problems(trainer: TestClient) -> None:
    assert _verdict(trainer, PERSONA_TEXT) == {"valid": True, "id": PERSONA, "problems": []}
    rubric = _verdict(trainer, RUBRIC_TEXT, "rubric")
    assert rubric == {"valid": True, "id": "core-conditions", "problems": []}


def test_a_bad_value_is_reported_on_its_line_as_the_check_page_reports_it(
    trainer: TestClient,
) -> None:
    broken = PERSONA_TEXT.replace("difficulty: 2\n", "difficulty: 9\n", 1)
    verdict = _verdict(trainer, broken)
    assert verdict["valid"] is False and verdict["id"] is None
    line = _line_of(broken, "difficulty: 9")
    assert [(p["line"], p["field"]) for p in verdict["problems"]] == [(line, "difficulty")]
    assert "between 1 and 5" in verdict["problems"][0]["message"]
    # One source of truth: the Check page lists exactly these, as `line N: field: message`.
    page = trainer.post("/trainer/check", data={"kind": "persona", "text": broken},
                        headers=HTML)
    listed = [html.unescape(p) for p in re.findall(r"<li>(line \d+: [^<]*)</li>", page.text)]
    assert listed == [f"line {p['line']}: {p['field']}: {p['message']}"
                      for p in verdict["problems"]]


def test_yaml_syntax_errors_and_rubric_problems_have_their_lines(trainer: TestClient) -> None:
    broken = PERSONA_TEXT.replace("difficulty: 2\n", "difficulty: [2\n", 1)
    problems = _verdict(trainer, broken)["problems"]
    assert len(problems) == 1 and "YAML syntax error" in problems[0]["message"]
    assert problems[0]["line"] >= _line_of(broken, "difficulty: [2")
    rubric = RUBRIC_TEXT.replace("scale: {min: 1, max: 5}", "scale: {min: 1, max: 50}", 1)
    assert rubric != RUBRIC_TEXT
    problems = _verdict(trainer, rubric, "rubric")["problems"]
    assert [p["line"] for p in problems] == [_line_of(rubric, "scale: {min: 1, max: 50}")]


def test_empty_huge_and_crlf_texts(trainer: TestClient) -> None:
    empty = _verdict(trainer, "  \n")
    assert empty["valid"] is False and empty["problems"][0]["line"] == 1
    huge = _verdict(trainer, "id: x\n" + "#" * (MAX_FILE_BYTES + 10))
    assert "too large" in huge["problems"][0]["message"]
    # A browser may send CRLF line breaks: the lines are the same as with plain newlines.
    crlf = PERSONA_TEXT.replace("difficulty: 2\n", "difficulty: 9\n", 1).replace("\n", "\r\n")
    assert _verdict(trainer, crlf)["problems"][0]["line"] == _line_of(PERSONA_TEXT,
                                                                      "difficulty: 2")


def test_the_check_refuses_what_is_not_a_persona_or_rubric_request(trainer: TestClient) -> None:
    wrong = [trainer.post("/trainer/check.json", json={"kind": "poem", "text": "x"}),
             trainer.post("/trainer/check.json", json={"kind": "persona"}),
             trainer.post("/trainer/check.json", json={"kind": "persona", "text": "x", "y": 1}),
             trainer.post("/trainer/check.json", content=b"{not json",
                          headers={"Content-Type": "application/json"})]
    assert [a.status_code for a in wrong] == [422] * 4
    assert all("detail" in a.json() for a in wrong)


def test_the_check_helper_keeps_the_structured_and_the_text_forms_in_step() -> None:
    broken = PERSONA_TEXT.replace("difficulty: 2\n", "difficulty: 9\n", 1)
    _, problems = check_problems("persona", broken)
    _, lines = check_text("persona", broken)
    assert lines == [f"line {p.line}: {p.field}: {p.message}" for p in problems]


def test_the_schemas_are_the_models_own(trainer: TestClient) -> None:
    persona = trainer.get("/trainer/schemas/persona.json")
    rubric = trainer.get("/trainer/schemas/rubric.json")
    assert persona.status_code == rubric.status_code == 200
    assert persona.json() == persona_json_schema() and rubric.json() == rubric_json_schema()
    assert trainer.get("/trainer/schemas/poem.json").status_code == 422


# ---- the templates a new file starts from -------------------------------------------------------


@pytest.mark.parametrize("kind", ["persona", "rubric"])
def test_each_template_passes_the_librarys_own_loader(kind: str, trainer: TestClient) -> None:
    text = TEMPLATES[kind].read_text(encoding="utf-8")
    item, problems = check_problems(kind, text)  # type: ignore[arg-type]
    assert problems == [] and item is not None
    page = trainer.get("/trainer/new", params={"kind": kind}, headers=HTML)
    assert page.status_code == 200 and f"is a new {kind}" in page.text
    assert f"id: {item.id}" in html.unescape(page.text) and "<li>line" not in page.text


# ---- the vendored CodeMirror files and the page's policy ----------------------------------------


def _import_map(page: str) -> tuple[str, dict]:
    found = re.search(r'<script type="importmap">(.*?)</script>', page, re.S)
    assert found, "the editor page has no import map"
    return found.group(1), json.loads(found.group(1))


def test_the_editor_page_allows_exactly_its_import_map_and_its_own_style_nonce(
    trainer: TestClient,
) -> None:
    first = trainer.get("/trainer", headers=HTML)
    policy = first.headers["content-security-policy"]
    text, _ = _import_map(first.text)
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    script_src = re.search(r"script-src ([^;]+)", policy).group(1).split()
    style_src = re.search(r"style-src ([^;]+)", policy).group(1).split()
    assert script_src == ["'self'", f"'sha256-{digest}'"]
    nonce = re.search(r'id="yaml-editor-script" nonce="([^"]+)"', first.text).group(1)
    assert style_src == ["'self'", f"'nonce-{nonce}'"]
    assert "unsafe" not in policy
    second = trainer.get("/trainer/new", headers=HTML)
    assert f"'nonce-{nonce}'" not in second.headers["content-security-policy"]
    # Pages without the editor keep the plain policy.
    assert trainer.get("/", headers=HTML).headers["content-security-policy"] == (
        CONTENT_SECURITY_POLICY)


def test_every_bare_import_of_the_editor_is_mapped_to_a_file_that_is_served(
    trainer: TestClient,
) -> None:
    _, mapping = _import_map(trainer.get("/trainer", headers=HTML).text)
    imports = mapping["imports"]
    sources = [*VENDOR.glob("**/index.js"), STATIC / "yaml-editor.js",
               *(STATIC / f for f in OWN_MODULES.values())]
    named = set()
    for source in sources:
        text = source.read_text(encoding="utf-8")
        named |= set(re.findall(r"""^(?:import|export)\b[^'"]*?from\s*['"]([^'"./][^'"]*)['"]""",
                                text, re.M))
    assert named and named <= set(imports), sorted(named - set(imports))
    for url in imports.values():
        answer = trainer.get(url)
        assert answer.status_code == 200, url
        assert "javascript" in answer.headers["content-type"], url


def test_the_vendored_files_are_the_pinned_packages_unchanged_with_their_licences() -> None:
    manifest = json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))
    pins = json.loads((PROJECT_ROOT / "tools" / "codemirror" / "package.json").read_text())
    lock = json.loads((PROJECT_ROOT / "tools" / "codemirror" / "package-lock.json").read_text())
    assert {name: entry["version"] for name, entry in manifest.items()} == pins["dependencies"]
    for name, entry in manifest.items():
        body = (VENDOR / name / "index.js").read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], name
        assert entry["integrity"] == lock["packages"][f"node_modules/{name}"]["integrity"]
        licence = (VENDOR / name / "LICENSE").read_text(encoding="utf-8")
        assert entry["license"] == "MIT" and "Permission is hereby granted" in licence, name
    # Nothing vendored that the manifest does not account for.
    files = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    assert files == {"manifest.json"} | {f"{n}/{f}" for n in manifest for f in ("index.js",
                                                                               "LICENSE")}


# ---- the editor's own logic, under Node ---------------------------------------------------------


def test_the_cursor_path_and_schema_logic(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail("node is not installed (apt-get install nodejs)")
        pytest.skip("node is not installed (apt-get install nodejs); CI=true makes this fail")
    schemas = tmp_path / "schemas.json"
    schemas.write_text(json.dumps({"persona": persona_json_schema(),
                                   "rubric": rubric_json_schema()}), encoding="utf-8")
    run = subprocess.run(
        [node, "--test", str(PROJECT_ROOT / "tests" / "js" / "yaml_schema.test.mjs")],
        env={"RAPPORT_SCHEMAS": str(schemas), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout
