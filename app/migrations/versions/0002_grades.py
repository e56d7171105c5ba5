"""grades: rubric grades of practice sessions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("rubric_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("rubric_version", sa.Integer(), nullable=False),
        sa.Column("persona_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("persona_version", sa.Integer(), nullable=False),
        sa.Column("engine", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("prompt_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("dropped_evidence", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["practice_sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grades_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grades_session_id"))
    op.drop_table("grades")
