"""Character Card V3: every shipped persona survives export and import unchanged; a plain card
from elsewhere imports as a draft with the gaps a trainer must fill."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.config import PROJECT_ROOT
from app.library_versions import check_text
from app.main import create_app
from app.models import AuditEvent, LibraryVersion
from app.persona import load_library
from app.persona.card import CARD_SPEC, card_from_persona, persona_text_from_card
from app.persona.card_png import card_json_from_png, png_with_card
from app.services import services_of
from tests.accounts import PERSONA, add_user, auth_settings, sign_in

HTML = {"Accept": "text/html"}
SHIPPED = load_library(PROJECT_ROOT / "personas")
MINIMAL = {"spec": "chara_card_v3", "spec_version": "3.0",
           "data": {"name": "Mara Quinn", "description": "A night-shift nurse who is worn out.",
                    "scenario": "Came in after a panic attack at work.",
                    "first_mes": "I don't usually do this kind of thing.", "tags": ["work"]}}


@pytest.mark.parametrize("persona_id", sorted(SHIPPED))
def test_every_shipped_persona_round_trips_through_a_card(persona_id: str) -> None:
    persona = SHIPPED[persona_id]
    card = json.loads(json.dumps(card_from_persona(persona)))  # as written to a file
    assert card["spec"] == CARD_SPEC and card["data"]["name"] == persona.client.name
    assert card["data"]["first_mes"] == persona.style.opening_line
    text, gaps = persona_text_from_card(card)
    back, problems = check_text("persona", text)
    assert problems == [] and gaps == []
    assert back.model_dump() == persona.model_dump()


def test_a_plain_card_becomes_a_valid_draft_listing_the_gaps() -> None:
    text, gaps = persona_text_from_card(MINIMAL)
    persona, problems = check_text("persona", text)
    assert problems == [] and persona.id == "mara-quinn"
    assert persona.client.name == "Mara Quinn"
    assert persona.client.presenting_problem == "Came in after a panic attack at work."
    assert persona.style.opening_line == "I don't usually do this kind of thing."
    assert [g.split(":")[0] for g in gaps] == [
        "client.age", "client.pronouns", "disclosures", "facts", "boundary_tests", "reactions",
        "trust", "difficulty", "brief"]
    with pytest.raises(ValueError, match="not a Character Card V3"):
        persona_text_from_card({"name": "Mara Quinn", "description": "A V1 card: no spec."})
    # A V2 card (most cards in circulation) has the same data fields.
    older, older_gaps = persona_text_from_card({**MINIMAL, "spec": "chara_card_v2"})
    assert older == text and older_gaps == gaps


@pytest.mark.parametrize("persona_id", sorted(SHIPPED)[:3])
def test_a_card_picture_carries_the_whole_persona(persona_id: str) -> None:
    persona = SHIPPED[persona_id]
    picture = png_with_card(card_from_persona(persona))
    assert picture.startswith(b"\x89PNG\r\n\x1a\n")
    card = json.loads(card_json_from_png(picture))
    assert card["spec"] == CARD_SPEC  # the V3 chunk is preferred over the V2 copy
    back, problems = check_text("persona", persona_text_from_card(card)[0])
    assert problems == [] and back.model_dump() == persona.model_dump()


def _png(*chunks: tuple[bytes, bytes]) -> bytes:
    import struct
    import zlib
    body = b"".join(struct.pack(">I", len(data)) + kind + data
                    + struct.pack(">I", zlib.crc32(kind + data)) for kind, data in chunks)
    return b"\x89PNG\r\n\x1a\n" + body


def test_a_v2_only_picture_is_read_and_a_picture_without_a_card_is_named() -> None:
    import base64
    v2 = base64.b64encode(json.dumps({**MINIMAL, "spec": "chara_card_v2"}).encode())
    picture = _png((b"IHDR", bytes(13)), (b"tEXt", b"Comment\0hello"), (b"tEXt", b"chara\0" + v2),
                   (b"IEND", b""))
    assert json.loads(card_json_from_png(picture))["spec"] == "chara_card_v2"
    with pytest.raises(ValueError, match="carries no character card"):
        card_json_from_png(_png((b"IHDR", bytes(13)), (b"IEND", b"")))
    with pytest.raises(ValueError, match="ends in the middle"):
        card_json_from_png(picture[:-20])
    with pytest.raises(ValueError, match="not base64"):
        card_json_from_png(_png((b"tEXt", b"ccv3\0not base64!"), (b"IEND", b"")))
    with pytest.raises(ValueError, match="not a PNG"):
        card_json_from_png(b"GIF89a")


@pytest.fixture
def app(tmp_path: Path, db_url: str) -> FastAPI:
    application = create_app(auth_settings(tmp_path, db_url))
    with TestClient(application):
        add_user(application, "tess@example.org", role="trainer")
        add_user(application, "stu@example.org")
        yield application


def test_the_trainer_page_exports_and_imports_cards(app: FastAPI) -> None:
    tess = sign_in(app, "tess@example.org")
    exported = tess.get(f"/trainer/personas/{PERSONA}.card.json")
    assert exported.status_code == 200 and exported.json()["spec"] == CARD_SPEC
    assert exported.json()["data"]["extensions"]["rapport"]["id"] == PERSONA

    imported = tess.post("/trainer/cards/import", headers=HTML, files={
        "upload": ("mara.json", json.dumps(MINIMAL).encode(), "application/json")})
    assert imported.status_code == 200, imported.text
    gaps = re.findall(r"<li>([a-z_.]+):", imported.text.split('data-testid="card-gaps"')[1])
    assert gaps[:3] == ["client.age", "client.pronouns", "disclosures"]
    with Session(services_of(app).db_engine) as db:
        draft = db.exec(select(LibraryVersion).where(LibraryVersion.item_id == "mara-quinn")
                        ).one()
        assert draft.number is None  # a draft: not live
        event = db.exec(select(AuditEvent).where(AuditEvent.action == "persona.import_card")
                        ).one()
        assert event.details == {"gaps": 9, "lossless": False}
    student = sign_in(app, "stu@example.org")
    assert "mara-quinn" not in [p["id"] for p in student.get("/api/personas").json()]

    broken = tess.post("/trainer/cards/import", headers=HTML, data={"text": "{not json"})
    assert broken.status_code == 422 and "Not imported" in broken.text
    # The pasted text is kept in its box, escaped.
    assert re.search(r'<textarea id="card-text"[^>]*>\{not json</textarea>', broken.text)
    pasted = tess.post("/trainer/cards/import", headers=HTML,
                       data={"text": json.dumps({**MINIMAL, "data": {**MINIMAL["data"],
                                                                      "name": "Pia Lund"}})})
    assert pasted.status_code == 200 and 'data-testid="card-gaps"' in pasted.text, pasted.text
    assert sign_in(app, "stu@example.org").get(
        f"/trainer/personas/{PERSONA}.card.json").status_code == 403


def test_the_trainer_page_exports_and_imports_card_pictures(app: FastAPI) -> None:
    tess = sign_in(app, "tess@example.org")
    page = tess.get("/trainer", headers=HTML).text
    assert f'href="/trainer/personas/{PERSONA}.card.png"' in page
    picture = tess.get(f"/trainer/personas/{PERSONA}.card.png")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert json.loads(card_json_from_png(picture.content))["data"]["extensions"][
        "rapport"]["id"] == PERSONA
    # A foreign card picture larger than a YAML file (padding in a chunk nobody reads).
    foreign = png_with_card(MINIMAL) + bytes(0)
    padded = foreign[:-12] + _png((b"zTXt", bytes(600_000)))[8:] + foreign[-12:]
    assert len(padded) > 600_000
    imported = tess.post("/trainer/cards/import", headers=HTML, files={
        "upload": ("mara.png", padded, "image/png")})
    assert imported.status_code == 200, imported.text
    assert 'data-testid="card-gaps"' in imported.text
    with Session(services_of(app).db_engine) as db:
        assert db.exec(select(LibraryVersion).where(LibraryVersion.item_id == "mara-quinn")
                       ).one().number is None
    blank = tess.post("/trainer/cards/import", headers=HTML, files={
        "upload": ("blank.png", _png((b"IHDR", bytes(13)), (b"IEND", b"")), "image/png")})
    assert blank.status_code == 422 and "carries no character card" in blank.text
    assert sign_in(app, "stu@example.org").get(
        f"/trainer/personas/{PERSONA}.card.png").status_code == 403
