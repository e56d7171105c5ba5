"""The PDF export read back: a report a portfolio can hold, set word by word, in any script."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from app.config import Settings
from app.main import create_app
from tests.counsellors import GOOD_LINES, HOLD_BOUNDARY, POOR_LINES

LINES = [*GOOD_LINES[:4], HOLD_BOUNDARY, POOR_LINES[0], POOR_LINES[3], *GOOD_LINES[4:8]]
# A student may type in any script; each must come back out of the PDF as typed.
SCRIPTS = {
    "Greek": "Σε ακούω, αυτό ακούγεται πολύ δύσκολο.",
    "Cyrillic": "Я слышу тебя, это звучит очень тяжело.",
    "Chinese": "我听到你了，这听起来很难。",
    "Japanese": "あなたの話を聞いています。",
    "Korean": "당신의 말을 듣고 있어요.",
}
SHAPED = {"Devanagari": "मैं आपकी बात सुन रहा हूँ।", "Arabic": "أنا أسمعك جيدا."}



@pytest.fixture
def client(tmp_path: Path, db_url: str):
    settings = Settings(data_dir=tmp_path, database_url=db_url, stream_delay=0)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _session(client: TestClient, lines: list[str]) -> str:
    sid = client.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()["id"]
    for line in lines:
        assert client.post(f"/api/sessions/{sid}/turns", json={"text": line}).status_code == 200
    assert client.post(f"/api/sessions/{sid}/end").status_code == 200
    return sid


def _pdf(client: TestClient, sid: str) -> PdfReader:
    answer = client.get(f"/sessions/{sid}/export.pdf")
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(answer.content))


def _fonts(reader: PdfReader) -> set[str]:
    names = set()
    for page in reader.pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            names.add(str(ref.get_object().get("/BaseFont")))
    return names


def test_lines_break_between_words_and_the_report_has_every_part(client) -> None:
    sid = _session(client, LINES)
    reader = _pdf(client, sid)
    pages = [page.extract_text() for page in reader.pages]
    # Cover, then scores and trust, feedback with evidence, transcript.
    assert "practice session report" in pages[0] and "Overall" in pages[0]
    text = "\n".join(pages)
    for part in ("Scores", "Trust over the session", "Feedback and evidence", "Evidence",
                 "Went well", "Transcript"):
        assert part in text, part
    assert len(reader.pages) >= 3
    # Every word of the transcript and the title comes back whole: no line ends mid-word.
    tokens = set(re.findall(r"[\w’'-]+", text))
    for line in [*LINES, "Sam — work stress and sleepless nights"]:
        for word in re.findall(r"[\w’'-]+", line):
            assert word in tokens, f"{word!r} was split across lines"
    # Turns are numbered as on the pages: the student's n-th message is turn n.
    assert f"Turn {len(LINES)} · You (counsellor)" in text
    assert f"Turn {len(LINES) + 1} ·" not in text


def test_the_scores_and_trust_are_drawn_as_charts(client) -> None:
    sid = _session(client, LINES)
    page = _pdf(client, sid).pages[1]
    content = page.get_contents().get_data().decode("latin-1")
    bars = re.findall(r"re f", content)
    assert len(bars) >= 12  # a track and a bar per criterion
    assert re.search(r"(\d+\.?\d* \d+\.?\d* l\s*){6,}", content), "no trust polyline"


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_any_script_prints_as_typed(client, script: str) -> None:
    line = SCRIPTS[script]
    sid = _session(client, [line])
    text = " ".join(p.extract_text() for p in _pdf(client, sid).pages)
    assert line in re.sub(r"\s+", " ", text).replace(" ,", ",")


def test_complex_scripts_get_fonts_that_have_them(client) -> None:
    sid = _session(client, list(SHAPED.values()))
    fonts = " ".join(_fonts(_pdf(client, sid)))
    assert "Devanagari" in fonts
    assert "Arabic" in fonts or "DejaVu" in fonts


def test_text_shaping_and_the_local_engine_load_in_one_process() -> None:
    # A server may make a PDF (uharfbuzz) and run the local engine (xllamacpp) in one process:
    # two Cython modules whose shared types disagree make the second import fail.
    code = "import uharfbuzz\ntry:\n    import xllamacpp\nexcept ImportError:\n    pass\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
