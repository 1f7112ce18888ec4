"""Add the queue of Adobe Journey Optimizer B2B external action requests.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ajo_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("body_digest", sa.String(length=64), nullable=False),
        sa.Column("callback_url", sa.String(length=2000), nullable=False),
        sa.Column("object_type", sa.String(length=20), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("callback", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ajo_actions")),
        sa.UniqueConstraint("request_id", name=op.f("uq_ajo_actions_request_id")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_ajo_actions_token_digest")),
    )
    with op.batch_alter_table("ajo_actions", schema=None) as batch_op:
        batch_op.create_index("ix_ajo_actions_state_due", ["state", "next_attempt_at"])


def downgrade() -> None:
    with op.batch_alter_table("ajo_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_ajo_actions_state_due")
    op.drop_table("ajo_actions")
