"""The grader's plain read of a session's turns gives what the ORM gives, turn for turn, on
SQLite (one packed JSON array) and PostgreSQL (the plain query), odd values included."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from app import practice
from app.config import Settings
from app.db import build_engine, migrate
from app.grading.rows import turn_rows
from app.models import Turn, User
from app.persona import load_library
from tests.support import database_url

FIELDS = ("index", "speaker", "text", "codes", "empathy", "events", "disclosed")


def test_turn_rows_match_the_orms_turns(tmp_path: Path) -> None:
    with database_url(tmp_path) as url:
        settings = Settings(data_dir=tmp_path, database_url=url)
        engine = build_engine(settings)
        migrate(engine)
        persona = load_library(settings.personas_dir)["sam-work-stress"]
        with Session(engine, expire_on_commit=False) as db:
            user = User(email="rows@example.org", name="Rows", role="student")
            db.add(user)
            db.commit()
            session, _ = practice.create_session(db=db, persona=persona, owner_id=user.id,
                                                 engine="scripted")
            for i, words in enumerate(["What brings you in?", "It sounds heavy — «très» 😔",
                                       'She said "enough", and \\ left.\nThen silence.']):
                pending = practice.add_student_turn(db=db, session=session, persona=persona,
                                                    text=words, client_message_id=f"m{i}")
                practice.add_client_turn(db=db, pending=pending, text=f"reply {i} \u00e9",
                                         meta={})
            # Values the practice path rarely writes: no empathy, nested events with floats.
            db.add(Turn(session_id=session.id, index=99, speaker="counsellor", text="",
                        codes=[], empathy=None, events={"a": [1.5, None, {"b": "c"}]},
                        disclosed="layer-x"))
            db.commit()
            orm = db.exec(select(Turn).where(Turn.session_id == session.id)
                          .order_by(Turn.index)).all()
            rows = turn_rows(db=db, session_id=session.id)
        assert [r.index for r in rows] == [t.index for t in orm]
        for row, turn in zip(rows, orm, strict=True):
            assert {f: getattr(row, f) for f in FIELDS} == {f: getattr(turn, f) for f in FIELDS}
        assert rows[0].state == orm[0].state and all(r.state is None for r in rows[1:])
        with Session(engine) as db:
            assert turn_rows(db=db, session_id="no-such-session") == []
        engine.dispose()
