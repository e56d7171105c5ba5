"""ended test-drives, kept a day so the grade page can be reloaded without sending the form again

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "test_drives",
        sa.Column("id", _STR(length=32), primary_key=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("text", _STR(), nullable=False),
        sa.Column("said", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
    )
    op.create_index("ix_test_drives_created_at", "test_drives", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_test_drives_created_at", table_name="test_drives")
    op.drop_table("test_drives")
