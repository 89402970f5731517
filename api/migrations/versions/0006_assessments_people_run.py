"""Assessments people can run: answers saved as typed, automatic submission, edits locked
by the first start, accommodations, item overrides and the history of replaced grades.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db  # noqa: F401  (UTCDateTime)

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString
_dt = api.db.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("question_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("saved_answer", _str(length=500), nullable=True))
        batch_op.add_column(sa.Column("saved_at", _dt(), nullable=True))
        batch_op.add_column(sa.Column("override_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("override_comment", _str(length=2000), nullable=True))
        batch_op.add_column(sa.Column("override_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("override_at", _dt(), nullable=True))
        batch_op.create_foreign_key("fk_question_override_by", "user", ["override_by"], ["id"])
    with op.batch_alter_table("exam", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "auto_submitted", sa.Boolean(), nullable=False, server_default=sa.text("false")
            )
        )
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("started_at", _dt(), nullable=True))
    # An assessment some student already started stays locked after the upgrade.
    op.execute(
        "UPDATE assessment SET started_at = (SELECT min(exam.created_at) FROM exam "
        "WHERE exam.assessment_id = assessment.id)"
    )
    op.create_table(
        "assessment_accommodation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("extra_minutes", sa.Integer(), nullable=True),
        sa.Column("closes_at", _dt(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=False),
        sa.Column("updated_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessment.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["updated_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assessment_id", "user_id"),
    )
    op.create_index(
        "ix_assessment_accommodation_assessment_id", "assessment_accommodation", ["assessment_id"]
    )
    op.create_table(
        "grade_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("reason", _str(length=16), nullable=False),
        sa.Column("status", _str(length=16), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("override_score", sa.Float(), nullable=True),
        sa.Column("override_comment", _str(length=2000), nullable=True),
        sa.Column("diagnosis", sa.JSON(), nullable=False),
        sa.Column("replaced_by", sa.Integer(), nullable=True),
        sa.Column("replaced_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(["question_id"], ["question_instance.id"]),
        sa.ForeignKeyConstraint(["exam_id"], ["exam.id"]),
        sa.ForeignKeyConstraint(["replaced_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_grade_history_question_id", "grade_history", ["question_id"])
    op.create_index("ix_grade_history_exam_id", "grade_history", ["exam_id"])


def downgrade() -> None:
    op.drop_table("grade_history")
    op.drop_table("assessment_accommodation")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_column("started_at")
        batch_op.drop_column("version")
    with op.batch_alter_table("exam", schema=None) as batch_op:
        batch_op.drop_column("auto_submitted")
    with op.batch_alter_table("question_instance", schema=None) as batch_op:
        batch_op.drop_constraint("fk_question_override_by", type_="foreignkey")
        for column in ("override_at", "override_by", "override_comment", "override_score",
                       "saved_at", "saved_answer"):  # fmt: skip
            batch_op.drop_column(column)
