"""library versions (trainers' drafts and published history) and amendments of released reviews

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "library_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", _STR(length=10), nullable=False),
        sa.Column("item_id", _STR(length=100), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("action", _STR(length=10), nullable=False),
        sa.Column("text", _STR(), nullable=False),
        sa.Column("yaml_version", sa.Integer(), nullable=False),
        sa.Column("title", _STR(length=300), nullable=False),
        sa.Column("note", _STR(length=500), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("author", _STR(length=320), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("published_at", _TIME(), nullable=True),
        sa.UniqueConstraint("kind", "item_id", "number", name="uq_library_number"),
    )
    op.create_index("ix_library_versions_item_id", "library_versions", ["item_id"])
    op.create_table(
        "review_amendments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("review_id", sa.Integer(), sa.ForeignKey("reviews.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("author", _STR(length=200), nullable=False),
        sa.Column("reason", _STR(length=2000), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("comment_before", _STR(), nullable=False),
        sa.Column("comment_after", _STR(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.UniqueConstraint("review_id", "number", name="uq_amendment_number"),
    )
    op.create_index("ix_review_amendments_review_id", "review_amendments", ["review_id"])
    # Sessions remember the published version they started with (None: the shipped file).
    with op.batch_alter_table("practice_sessions") as batch:
        batch.add_column(sa.Column("persona_revision", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_sessions_persona_revision", "library_versions",
                                 ["persona_revision"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("practice_sessions") as batch:
        batch.drop_constraint("fk_sessions_persona_revision", type_="foreignkey")
        batch.drop_column("persona_revision")
    op.drop_index("ix_review_amendments_review_id", table_name="review_amendments")
    op.drop_table("review_amendments")
    op.drop_index("ix_library_versions_item_id", table_name="library_versions")
    op.drop_table("library_versions")
