"""Add review evidence and allow one open review per person x solution interest.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 15:11:43.895511
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
        batch_op.create_index(
            "uq_reviews_open_person",
            ["person_id", "solution_interest_id"],
            unique=True,
            sqlite_where=sa.text("decision IS NULL"),
            postgresql_where=sa.text("decision IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_reviews_open_person",
            sqlite_where=sa.text("decision IS NULL"),
            postgresql_where=sa.text("decision IS NULL"),
        )
        batch_op.drop_column("evidence")
