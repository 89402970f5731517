"""LTI 1.3: registered platforms and deployments, the tool's keys, logins in flight and
used nonces, users and courses of a platform, launches and their one-time codes, further
bearer tokens, and the grade outbox.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db  # noqa: F401  (UTCDateTime)

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString
_dt = api.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "lti_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", _str(length=64), nullable=False),
        sa.Column("private_pem", _str(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.Column("superseded_at", _dt(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kid"),
    )
    op.create_table(
        "lti_platform",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", _str(length=255), nullable=False),
        sa.Column("client_id", _str(length=255), nullable=False),
        sa.Column("auth_login_url", _str(length=1000), nullable=False),
        sa.Column("token_url", _str(length=1000), nullable=False),
        sa.Column("keyset_url", _str(length=1000), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "client_id", name="uq_lti_platform_client"),
    )
    op.create_index(op.f("ix_lti_platform_issuer"), "lti_platform", ["issuer"], unique=False)
    op.create_table(
        "lti_deployment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", _str(length=255), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "deployment_id"),
    )
    op.create_table(
        "lti_login",
        sa.Column("state_hash", _str(length=64), nullable=False),
        sa.Column("nonce", _str(length=64), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("target_link_uri", _str(length=1000), nullable=False),
        sa.Column("expires_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
        ),
        sa.PrimaryKeyConstraint("state_hash"),
    )
    op.create_index(op.f("ix_lti_login_expires_at"), "lti_login", ["expires_at"], unique=False)
    op.create_table(
        "lti_nonce",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("nonce", _str(length=255), nullable=False),
        sa.Column("used_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "nonce"),
    )
    op.create_table(
        "lti_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", _str(length=255), nullable=False),
        sa.Column("sub", _str(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "sub"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_table(
        "user_token",
        sa.Column("token_hash", _str(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _dt(), nullable=False),
        sa.Column("expires_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_user_token_user_id"), "user_token", ["user_id"], unique=False)
    op.create_table(
        "lti_context",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", _str(length=255), nullable=False),
        sa.Column("deployment_id", _str(length=255), nullable=False),
        sa.Column("context_id", _str(length=255), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("memberships_url", _str(length=1000), nullable=True),
        sa.Column("created_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "deployment_id", "context_id"),
    )
    op.create_index(op.f("ix_lti_context_course_id"), "lti_context", ["course_id"], unique=False)
    op.create_table(
        "lti_launch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("message_type", _str(length=32), nullable=False),
        sa.Column("deployment_id", _str(length=255), nullable=False),
        sa.Column("sub", _str(length=255), nullable=False),
        sa.Column("role", _str(length=16), nullable=False),
        sa.Column("lineitem_url", _str(length=1000), nullable=True),
        sa.Column("ags_scopes", sa.JSON(), nullable=False),
        sa.Column("deep_linking", sa.JSON(), nullable=True),
        sa.Column("created_at", _dt(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_lti_launch_user_id"), "lti_launch", ["user_id"], unique=False)
    op.create_table(
        "lti_code",
        sa.Column("code_hash", _str(length=64), nullable=False),
        sa.Column("launch_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", _dt(), nullable=False),
        sa.Column("used_at", _dt(), nullable=True),
        sa.ForeignKeyConstraint(
            ["launch_id"],
            ["lti_launch.id"],
        ),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    op.create_table(
        "lti_grade",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("lineitem_url", _str(length=1000), nullable=False),
        sa.Column("sub", _str(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("score_given", sa.Float(), nullable=False),
        sa.Column("score_maximum", sa.Float(), nullable=False),
        sa.Column("scored_at", _dt(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", _str(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", _dt(), nullable=False),
        sa.Column("leased_until", _dt(), nullable=True),
        sa.Column("last_error", _str(length=500), nullable=True),
        sa.Column("sent_at", _dt(), nullable=True),
        sa.ForeignKeyConstraint(
            ["exam_id"],
            ["exam.id"],
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "lineitem_url", "sub", name="uq_lti_grade_target"),
    )
    op.create_index("ix_lti_grade_due", "lti_grade", ["state", "next_try_at"], unique=False)
    op.create_index(op.f("ix_lti_grade_exam_id"), "lti_grade", ["exam_id"], unique=False)
    op.create_index(op.f("ix_lti_grade_user_id"), "lti_grade", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_lti_grade_user_id"), table_name="lti_grade")
    op.drop_index(op.f("ix_lti_grade_exam_id"), table_name="lti_grade")
    op.drop_index("ix_lti_grade_due", table_name="lti_grade")
    op.drop_table("lti_grade")
    op.drop_table("lti_code")
    op.drop_index(op.f("ix_lti_launch_user_id"), table_name="lti_launch")
    op.drop_table("lti_launch")
    op.drop_index(op.f("ix_lti_context_course_id"), table_name="lti_context")
    op.drop_table("lti_context")
    op.drop_index(op.f("ix_user_token_user_id"), table_name="user_token")
    op.drop_table("user_token")
    op.drop_table("lti_user")
    op.drop_table("lti_nonce")
    op.drop_index(op.f("ix_lti_login_expires_at"), table_name="lti_login")
    op.drop_table("lti_login")
    op.drop_table("lti_deployment")
    op.drop_index(op.f("ix_lti_platform_issuer"), table_name="lti_platform")
    op.drop_table("lti_platform")
    op.drop_table("lti_key")
