"""accounts, cohorts, the assessor's review and the audit log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", _STR(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("last_login_at", _TIME(), nullable=True))

    op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _STR(length=200), nullable=False),
        sa.Column("auto_grades", _STR(length=20), nullable=False),
        sa.Column("second_marking", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "cohort_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohorts.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cohort_id", "user_id", name="uq_cohort_member"),
    )
    with op.batch_alter_table("cohort_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cohort_members_cohort_id"), ["cohort_id"])
        batch_op.create_index(batch_op.f("ix_cohort_members_user_id"), ["user_id"])

    op.create_table(
        "auth_sessions",
        sa.Column("id", _STR(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("expires_at", _TIME(), nullable=False),
        sa.Column("last_seen_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_sessions_user_id"), ["user_id"])

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", _STR(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_key"), ["key"])
        batch_op.create_index(batch_op.f("ix_login_attempts_created_at"), ["created_at"])

    op.create_table(
        "one_time_tokens",
        sa.Column("id", _STR(length=64), nullable=False),
        sa.Column("purpose", _STR(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("expires_at", _TIME(), nullable=False),
        sa.Column("used_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("one_time_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_one_time_tokens_user_id"), ["user_id"])

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", _STR(length=32), nullable=False),
        sa.Column("grade_id", sa.Integer(), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=False),
        sa.Column("kind", _STR(length=10), nullable=False),
        sa.Column("status", _STR(length=20), nullable=False),
        sa.Column("comment", _STR(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("updated_at", _TIME(), nullable=False),
        sa.Column("submitted_at", _TIME(), nullable=True),
        sa.Column("released_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["practice_sessions.id"]),
        sa.ForeignKeyConstraint(["grade_id"], ["grades.id"]),
        sa.ForeignKeyConstraint(["assessor_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "assessor_id", name="uq_review_assessor"),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_session_id"), ["session_id"])
        batch_op.create_index(batch_op.f("ix_reviews_assessor_id"), ["assessor_id"])

    op.create_table(
        "review_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", _STR(length=100), nullable=False),
        sa.Column("decision", _STR(length=10), nullable=False),
        sa.Column("auto_score", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reason", _STR(), nullable=False),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id", "criterion_id", name="uq_review_mark"),
    )
    with op.batch_alter_table("review_marks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_marks_review_id"), ["review_id"])

    op.create_table(
        "turn_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", _STR(length=32), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("turn_index", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", _STR(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["practice_sessions.id"]),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"]),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("turn_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_turn_notes_session_id"), ["session_id"])
        batch_op.create_index(batch_op.f("ix_turn_notes_review_id"), ["review_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", _STR(length=320), nullable=False),
        sa.Column("action", _STR(length=50), nullable=False),
        sa.Column("target", _STR(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_created_at"), ["created_at"])
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"])


def downgrade() -> None:
    for table in (
        "audit_events",
        "turn_notes",
        "review_marks",
        "reviews",
        "one_time_tokens",
        "login_attempts",
        "auth_sessions",
        "cohort_members",
        "cohorts",
    ):
        op.drop_table(table)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("is_active")
        batch_op.drop_column("password_hash")
