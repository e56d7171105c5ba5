"""Migration 0007 (library versions, review amendments, sessions' persona_revision) goes up,
down to 0006 and up again, and matches the tables the app declares."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from app.config import Settings
from app.db import alembic_config, build_engine, migrate


def test_migration_0007_upgrades_and_downgrades(settings: Settings) -> None:
    engine = build_engine(settings)
    migrate(engine)
    names = set(inspect(engine).get_table_names())
    assert {"library_versions", "review_amendments"} <= names
    assert "persona_revision" in {c["name"] for c in inspect(engine).get_columns(
        "practice_sessions")}
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
    names = set(inspect(engine).get_table_names())
    assert not {"library_versions", "review_amendments"} & names
    assert "persona_revision" not in {c["name"] for c in inspect(engine).get_columns(
        "practice_sessions")}
    migrate(engine)
    assert {"library_versions", "review_amendments"} <= set(inspect(engine).get_table_names())
    engine.dispose()
