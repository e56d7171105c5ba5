"""Alembic environment: runs on the connection Rapport hands it, never on a URL from a file."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import app.grading.records
import app.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Run migrations through `rapport db upgrade`, which supplies the connection."
    )

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
