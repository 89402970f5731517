"""Indexes for the hot lookups: a user's log per item, and a session's pending questions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_log", schema=None) as batch_op:
        batch_op.create_index("ix_review_log_user_item", ["user_id", "item_id"], unique=False)
    with op.batch_alter_table("question_instance", schema=None) as batch_op:
        batch_op.create_index(
            "ix_question_instance_session_family", ["session_id", "family"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("question_instance", schema=None) as batch_op:
        batch_op.drop_index("ix_question_instance_session_family")
    with op.batch_alter_table("review_log", schema=None) as batch_op:
        batch_op.drop_index("ix_review_log_user_item")
