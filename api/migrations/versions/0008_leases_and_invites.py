"""Uploads one at a time per user across server processes (a lease row per user and kind),
and invitations of co-instructors that the invitee accepts.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db  # noqa: F401  (UTCDateTime)

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString
_dt = api.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "upload_lease",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", _str(length=16), nullable=False),
        sa.Column("token", _str(length=32), nullable=False),
        sa.Column("expires_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("user_id", "kind"),
    )
    op.create_table(
        "course_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", _str(length=64), nullable=False),
        sa.Column("role", _str(length=16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.Column("expires_at", _dt(), nullable=False),
        sa.Column("accepted_by", sa.Integer(), nullable=True),
        sa.Column("accepted_at", _dt(), nullable=True),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["accepted_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_course_invite_course_id", "course_invite", ["course_id"])
    op.create_index("ix_course_invite_code_hash", "course_invite", ["code_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_course_invite_code_hash", table_name="course_invite")
    op.drop_index("ix_course_invite_course_id", table_name="course_invite")
    op.drop_table("course_invite")
    op.drop_table("upload_lease")
