"""Courses, assessments and course architectures; the learner's settings, card flags and
tags; hints used per question.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db  # noqa: F401  (UTCDateTime)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString
_dt = api.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "course",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", _str(length=200), nullable=False),
        sa.Column("join_code", _str(length=32), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_course_join_code", "course", ["join_code"], unique=True)
    op.create_table(
        "course_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", _str(length=16), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("course_id", "user_id"),
    )
    op.create_index("ix_course_member_course_id", "course_member", ["course_id"])
    op.create_index("ix_course_member_user_id", "course_member", ["user_id"])
    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("title", _str(length=200), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("opens_at", _dt(), nullable=True),
        sa.Column("closes_at", _dt(), nullable=True),
        sa.Column("time_limit_min", sa.Integer(), nullable=True),
        sa.Column("allow_hints", sa.Boolean(), nullable=False),
        sa.Column("secret", _str(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assessment_course_id", "assessment", ["course_id"])
    op.create_table(
        "course_architecture",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("name", _str(length=64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("course_id", "name"),
    )
    op.create_index("ix_course_architecture_course_id", "course_architecture", ["course_id"])
    op.create_table(
        "user_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("desired_retention", sa.Float(), nullable=False),
        sa.Column("new_per_day", sa.Integer(), nullable=False),
        sa.Column("fsrs_parameters", sa.JSON(), nullable=True),
        sa.Column("fsrs_fit", sa.JSON(), nullable=True),
        sa.Column("updated_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "card_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("card_id", _str(length=160), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("leech", sa.Boolean(), nullable=False),
        sa.Column("buried_until", _dt(), nullable=True),
        sa.Column("updated_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["card.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "card_id"),
    )
    op.create_index("ix_card_flag_user_id", "card_flag", ["user_id"])
    op.create_table(
        "card_tag",
        sa.Column("card_id", _str(length=160), nullable=False),
        sa.Column("tag", _str(length=64), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["card.id"]),
        sa.PrimaryKeyConstraint("card_id", "tag"),
    )
    op.create_index("ix_card_tag_tag", "card_tag", ["tag"])
    with op.batch_alter_table("exam", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assessment_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_exam_assessment_id", ["assessment_id"], unique=False)
        batch_op.create_unique_constraint("uq_exam_assessment_user", ["assessment_id", "user_id"])
        batch_op.create_foreign_key("fk_exam_assessment", "assessment", ["assessment_id"], ["id"])
    with op.batch_alter_table("question_instance", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hints_used", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("question_instance", schema=None) as batch_op:
        batch_op.drop_column("hints_used")
    with op.batch_alter_table("exam", schema=None) as batch_op:
        batch_op.drop_constraint("fk_exam_assessment", type_="foreignkey")
        batch_op.drop_constraint("uq_exam_assessment_user", type_="unique")
        batch_op.drop_index("ix_exam_assessment_id")
        batch_op.drop_column("assessment_id")
    for table in ("card_tag", "card_flag", "user_settings", "course_architecture"):
        op.drop_table(table)
    for table in ("assessment", "course_member", "course"):
        op.drop_table(table)
