"""reply claims on student turns; per-account and per-address sign-in counters

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_claim", _STR(length=32), nullable=True))
        batch_op.add_column(sa.Column("reply_claimed_at", _TIME(), nullable=True))
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_key", _STR(length=64), nullable=True))
        batch_op.add_column(sa.Column("address_key", _STR(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_login_attempts_account_key"), ["account_key"])
        batch_op.create_index(batch_op.f("ix_login_attempts_address_key"), ["address_key"])


def downgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_address_key"))
        batch_op.drop_index(batch_op.f("ix_login_attempts_account_key"))
        batch_op.drop_column("address_key")
        batch_op.drop_column("account_key")
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_column("reply_claimed_at")
        batch_op.drop_column("reply_claim")
