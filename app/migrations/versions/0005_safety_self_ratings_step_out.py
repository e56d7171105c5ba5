"""the safety criterion on grades; students' self-ratings; stepping out of a session

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.add_column(sa.Column("safety", sa.JSON(), nullable=True))
    with op.batch_alter_table("practice_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stepped_out_at", _TIME(), nullable=True))
        batch_op.add_column(sa.Column("stepped_out_note", _STR(length=500), nullable=True))
    op.create_table(
        "self_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", _STR(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("rubric_id", _STR(length=100), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["practice_sessions.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", name="uq_self_rating_session"),
    )


def downgrade() -> None:
    op.drop_table("self_ratings")
    with op.batch_alter_table("practice_sessions", schema=None) as batch_op:
        batch_op.drop_column("stepped_out_note")
        batch_op.drop_column("stepped_out_at")
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.drop_column("safety")
