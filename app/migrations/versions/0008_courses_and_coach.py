"""a course of sessions with one client; coach mode on sessions, cohorts and grades

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("practice_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("course_id", _STR(length=32), nullable=True))
        # Existing sessions are each the first of their own course.
        batch_op.add_column(
            sa.Column("session_number", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(sa.Column("previous_id", _STR(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("coach", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_practice_sessions_course_id", ["course_id"])
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("coach_mode", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coached", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.drop_column("coached")
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.drop_column("coach_mode")
    with op.batch_alter_table("practice_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_practice_sessions_course_id")
        batch_op.drop_column("coach")
        batch_op.drop_column("previous_id")
        batch_op.drop_column("session_number")
        batch_op.drop_column("course_id")
