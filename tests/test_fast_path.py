"""The fast path: its plain-SQL read answers as the ORM path and policy do; JSON comes whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app import practice, turn_store
from app.auth.policy import analysis_visible
from app.coach import coaching_on
from app.config import Settings
from app.grading.records import Grade
from app.models import Cohort, CohortMember, PracticeSession, Review, User
from app.persona import load_library
from app.turn_store import read_turn
from app.warmup import warm_analysis
from bench.turns import LINES


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    return db_engine


@pytest.fixture(scope="module")
def persona():
    return load_library(Settings().personas_dir)["sam-work-stress"]


def _user(db: Session, email: str, role: str = "student") -> User:
    user = User(email=email, name=email, role=role)
    db.add(user)
    db.commit()
    db.refresh(user)
    return user


def _session_with_turns(db: Session, persona, owner: User, turns: int) -> PracticeSession:
    session, _ = practice.create_session(db=db, persona=persona, owner_id=owner.id,
                                         engine="scripted")
    for i in range(turns):
        pending = practice.add_student_turn(db=db, session=session, persona=persona,
                                            text=LINES[i % len(LINES)],
                                            client_message_id=f"m{i}")
        practice.add_client_turn(db=db, pending=pending, text=f"reply {i}", meta={})
    return session


def _read(engine: Engine, session: PracticeSession, user: User, message_id: str | None = None,
          window: int = practice.RECENT_TURNS):
    with engine.connect() as conn:
        return read_turn(conn=conn, session_id=session.id, user_id=user.id, user_role=user.role,
                         client_message_id=message_id, window=lambda _: window)


def _cohort(db: Session, user: User, **options: object) -> Cohort:
    cohort = Cohort(name=f"c{len(options)}-{user.id}-{sorted(options.items())}", **options)
    db.add(cohort)
    db.commit()
    db.refresh(cohort)
    db.add(CohortMember(cohort_id=cohort.id, user_id=user.id))
    db.commit()
    return cohort


def test_turns_match_the_orm_read(engine: Engine, persona) -> None:
    with Session(engine, expire_on_commit=False) as db:
        student = _user(db, "s@example.org")
        session = _session_with_turns(db, persona, student, 20)
        orm = practice.recent_turns(db=db, session_id=session.id, limit=12)
        state = practice.state_before(orm, persona)
    fast = _read(engine, session, student, window=12)
    assert fast is not None
    got = fast.context.turns
    assert [(t.index, t.speaker, t.text, t.state) for t in got] == [
        (t.index, t.speaker, t.text, t.state) for t in orm]
    assert practice.state_before(got, persona) == state
    assert fast.context.session.id == session.id and fast.context.session.seed == session.seed


def test_a_plan_from_the_fast_read_equals_the_orm_plan(engine: Engine, persona) -> None:
    with Session(engine, expire_on_commit=False) as db:
        student = _user(db, "p@example.org")
        session = _session_with_turns(db, persona, student, 6)
        orm = practice.load_turn_context(db=db, session=session, client_message_id=None)
    fast = _read(engine, session, student)
    assert fast is not None
    plans = [practice.plan_student_turn(context=c, persona=persona, text="What's that like?",
                                        client_message_id=None) for c in (orm, fast.context)]
    assert plans[0].student_turn.codes == plans[1].student_turn.codes
    assert plans[0].request.plan == plans[1].request.plan
    assert plans[0].state == plans[1].state


def test_refusals_and_repeats_take_the_orm_path(engine: Engine, persona) -> None:
    with Session(engine, expire_on_commit=False) as db:
        owner = _user(db, "o@example.org")
        other = _user(db, "x@example.org", role="admin")
        session = _session_with_turns(db, persona, owner, 2)
    assert _read(engine, session, other) is None  # not the owner: the ORM path answers 404
    assert _read(engine, session, owner, message_id="m1") is None  # a repeat
    assert _read(engine, session, owner, message_id="new") is not None


@pytest.mark.parametrize(
    ("role", "cohorts", "coach", "released"),
    [
        ("student", [], False, False),
        ("student", [{"auto_grades": "immediate"}], False, False),
        ("student", [{"auto_grades": "after_release"}], False, False),
        ("student", [{"auto_grades": "after_release"}], False, True),
        ("student", [{"auto_grades": "immediate"}, {"auto_grades": "after_release"}], False,
         False),
        ("student", [{"coach_mode": True}], False, False),
        ("student", [], True, False),
        ("trainer", [{"auto_grades": "after_release"}], False, False),
    ],
)
def test_visibility_and_coaching_follow_the_policy(
    engine: Engine, persona, role: str, cohorts: list[dict], coach: bool, released: bool
) -> None:
    with Session(engine, expire_on_commit=False) as db:
        owner = _user(db, "v@example.org", role=role)
        for options in cohorts:
            _cohort(db, owner, **options)
        session = _session_with_turns(db, persona, owner, 1)
        if coach:
            session.coach = True
            db.add(session)
            db.commit()
        if released:
            assessor = _user(db, "a@example.org", role="assessor")
            grade = Grade(session_id=session.id, rubric_id="r", rubric_version=1,
                          persona_id=persona.id, persona_version=1, engine="analytic",
                          status="ok", criteria=[])
            db.add(grade)
            db.commit()
            db.refresh(grade)
            db.add(Review(session_id=session.id, grade_id=grade.id, assessor_id=assessor.id,
                          status="released"))
            db.commit()
        db.refresh(session)
        expected = (analysis_visible(db=db, user=owner, session=session),
                    coaching_on(db=db, session=session))
    fast = _read(engine, session, owner)
    assert fast is not None
    assert (fast.reveal, fast.coached) == expected


def test_warming_fills_the_analyzer_caches(persona) -> None:
    from app.analysis.learned import load_model
    from app.analysis.semantics import embedder
    from app.client.listen import _TOPICS

    fresh = persona.model_copy(deep=True)
    assert warm_analysis([fresh]) >= 0
    assert load_model.cache_info().currsize == 1 and embedder.cache_info().currsize == 1
    assert _TOPICS[id(fresh)][0] is fresh


def test_a_json_answer_skips_the_typing_pace_and_sse_keeps_it(tmp_path: Path, db_url: str) -> None:
    import time

    from fastapi.testclient import TestClient

    from app.main import create_app

    settings = Settings(data_dir=tmp_path, database_url=db_url, stream_delay=0.3)
    with TestClient(create_app(settings)) as client:
        sid = client.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()["id"]
        started = time.perf_counter()
        whole = client.post(f"/api/sessions/{sid}/turns", json={"text": "What brings you here?"})
        took = time.perf_counter() - started
        assert whole.status_code == 200
        words = whole.json()["client_turn"]["text"].split()
        # Paced, a reply of this many words would take 0.3 s a word.
        assert len(words) >= 4 and took < 0.3 * len(words) / 2
        sid = client.post("/api/sessions", json={"persona_id": "sam-work-stress"}).json()["id"]
        with client.stream("POST", f"/api/sessions/{sid}/turns",
                           json={"text": "What brings you here?"},
                           headers={"Accept": "text/event-stream"}) as streamed:
            started = time.perf_counter()
            deltas = sum(line.startswith("event: delta") for line in streamed.iter_lines())
            paced = time.perf_counter() - started
        assert deltas >= 4 and paced >= 0.3 * (deltas - 1)


@pytest.mark.parametrize("path", ["fast", "orm"])
def test_a_copy_saved_between_the_reads_is_taken_as_a_repeat(
    engine: Engine, persona, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A double-click: the other copy commits while this request reads the session's turns."""
    with Session(engine, expire_on_commit=False) as db:
        owner = _user(db, f"race-{path}@example.org")
        session = _session_with_turns(db, persona, owner, 1)
        context = practice.load_turn_context(db=db, session=session, client_message_id="twin")
    copy = practice.plan_student_turn(context=context, persona=persona, text="What's it like?",
                                      client_message_id="twin")
    saved: list[str] = []

    def land_the_copy() -> None:
        # Right after this request's first read of the turns table, the copy lands.
        if not saved:
            saved.append("copy")
            with Session(engine) as other:
                practice.save_student_turn(db=other, pending=copy)

    def save_the_copy(conn, cursor, statement, params, context, executemany) -> None:
        if "FROM turns" in statement:
            land_the_copy()

    read_rows = turn_store._rows

    def rows_then_copy(conn, sql, params):  # the fast path reads on the driver's own cursor
        found = read_rows(conn, sql, params)
        if "FROM turns" in sql:
            land_the_copy()
        return found

    event.listen(engine, "after_cursor_execute", save_the_copy)
    monkeypatch.setattr(turn_store, "_rows", rows_then_copy)
    try:
        if path == "fast":
            assert _read(engine, session, owner, message_id="twin") is None  # the ORM repeat
        else:
            with Session(engine, expire_on_commit=False) as db:
                got = practice.load_turn_context(db=db, session=session,
                                                 client_message_id="twin")
            assert got.sent is not None and got.sent.text == "What's it like?"
            again = practice.plan_student_turn(context=got, persona=persona,
                                               text="What's it like?", client_message_id="twin")
            assert not again.is_new and again.student_turn.index == copy.student_turn.index
    finally:
        event.remove(engine, "after_cursor_execute", save_the_copy)
    assert saved


def test_a_new_turn_has_every_column_of_the_turns_table() -> None:
    """The plain turn the turn path writes must not drop a column the table gains."""
    from dataclasses import fields

    from app.models import Turn
    from app.practice import NewTurn

    columns = {c.name for c in Turn.__table__.columns}  # type: ignore[attr-defined]
    assert {f.name for f in fields(NewTurn)} == columns
