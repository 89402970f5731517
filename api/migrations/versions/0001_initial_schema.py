"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:07:42.330139
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db  # noqa: F401  (UTCDateTime)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "topic",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("source_file", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "user",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", api.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_token_hash"), ["token_hash"], unique=True)

    op.create_table(
        "card",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("front", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("back", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", api.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", api.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_card_retired"), ["retired"], unique=False)
        batch_op.create_index(batch_op.f("ix_card_topic"), ["topic"], unique=False)

    op.create_table(
        "exam",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("time_limit_min", sa.Integer(), nullable=True),
        sa.Column("created_at", api.db.UTCDateTime(), nullable=False),
        sa.Column("submitted_at", api.db.UTCDateTime(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("exam", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_user_id"), ["user_id"], unique=False)

    op.create_table(
        "review_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("stability", sa.Float(), nullable=True),
        sa.Column("difficulty", sa.Float(), nullable=True),
        sa.Column("due", api.db.UTCDateTime(), nullable=False),
        sa.Column("last_review", api.db.UTCDateTime(), nullable=True),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("lapses", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "item_id"),
    )
    with op.batch_alter_table("review_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_state_due"), ["due"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_state_user_id"), ["user_id"], unique=False)

    op.create_table(
        "study_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("new_limit", sa.Integer(), nullable=False),
        sa.Column("include_questions", sa.Boolean(), nullable=False),
        sa.Column("families", sa.JSON(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("new_seen", sa.Integer(), nullable=False),
        sa.Column("created_at", api.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("study_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_study_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "card_example",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_id", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("expected_output", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("output", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("ran_at", api.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["card.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("card_example", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_example_card_id"), ["card_id"], unique=False)

    op.create_table(
        "question_instance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("family", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("difficulty", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("exam_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", api.db.UTCDateTime(), nullable=False),
        sa.Column("graded_at", api.db.UTCDateTime(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exam_id"],
            ["exam.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["study_session.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("question_instance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_instance_exam_id"), ["exam_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_question_instance_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_question_instance_user_id"), ["user_id"], unique=False)

    op.create_table(
        "review_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("elapsed_ms", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", api.db.UTCDateTime(), nullable=False),
        sa.Column("state_before", sa.Integer(), nullable=True),
        sa.Column("due_before", api.db.UTCDateTime(), nullable=True),
        sa.Column("state_after", sa.Integer(), nullable=False),
        sa.Column("due_after", api.db.UTCDateTime(), nullable=False),
        sa.Column("stability_after", sa.Float(), nullable=True),
        sa.Column("difficulty_after", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["study_session.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_log_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_log_session_id"), ["session_id"], unique=False)
        batch_op.create_index("ix_review_log_user_time", ["user_id", "reviewed_at"], unique=False)

    op.create_table(
        "question_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("diagnosis", sa.JSON(), nullable=False),
        sa.Column("created_at", api.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["question_instance.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("question_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_question_attempt_question_id"), ["question_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_question_attempt_user_id"), ["user_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("question_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_attempt_user_id"))
        batch_op.drop_index(batch_op.f("ix_question_attempt_question_id"))

    op.drop_table("question_attempt")
    with op.batch_alter_table("review_log", schema=None) as batch_op:
        batch_op.drop_index("ix_review_log_user_time")
        batch_op.drop_index(batch_op.f("ix_review_log_session_id"))
        batch_op.drop_index(batch_op.f("ix_review_log_item_id"))

    op.drop_table("review_log")
    with op.batch_alter_table("question_instance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_instance_user_id"))
        batch_op.drop_index(batch_op.f("ix_question_instance_session_id"))
        batch_op.drop_index(batch_op.f("ix_question_instance_exam_id"))

    op.drop_table("question_instance")
    with op.batch_alter_table("card_example", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_example_card_id"))

    op.drop_table("card_example")
    with op.batch_alter_table("study_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_study_session_user_id"))

    op.drop_table("study_session")
    with op.batch_alter_table("review_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_state_user_id"))
        batch_op.drop_index(batch_op.f("ix_review_state_due"))

    op.drop_table("review_state")
    with op.batch_alter_table("exam", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_user_id"))

    op.drop_table("exam")
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_topic"))
        batch_op.drop_index(batch_op.f("ix_card_retired"))
        batch_op.drop_index(batch_op.f("ix_card_owner_id"))

    op.drop_table("card")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_token_hash"))

    op.drop_table("user")
    op.drop_table("topic")
