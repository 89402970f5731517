"""Invariants kept by the database: a session's answers never exceed its size, and a study
session holds at most one unanswered variant per question family.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PENDING_WHERE = "graded_at IS NULL AND session_id IS NOT NULL"


def upgrade() -> None:
    # Older databases may hold duplicates made by racing requests: keep the newest pending
    # variant of each (session, family), drop the older ones (never answered, no attempts).
    op.execute(
        "DELETE FROM question_instance WHERE graded_at IS NULL AND session_id IS NOT NULL "
        "AND id < (SELECT MAX(q.id) FROM question_instance q WHERE q.graded_at IS NULL "
        "AND q.session_id = question_instance.session_id "
        "AND q.family = question_instance.family)"
    )
    op.execute("UPDATE study_session SET answered = size WHERE answered > size")
    with op.batch_alter_table("study_session", schema=None) as batch_op:
        batch_op.create_check_constraint("ck_study_session_answered", "answered <= size")
    op.create_index(
        "uq_question_pending",
        "question_instance",
        ["session_id", "family"],
        unique=True,
        sqlite_where=sa.text(PENDING_WHERE),
        postgresql_where=sa.text(PENDING_WHERE),
    )


def downgrade() -> None:
    op.drop_index("uq_question_pending", table_name="question_instance")
    with op.batch_alter_table("study_session", schema=None) as batch_op:
        batch_op.drop_constraint("ck_study_session_answered", type_="check")
