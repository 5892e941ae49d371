"""Keep each published vote's exported ballots file, byte for byte.

Revision ID: 9a4628722d08
Revises: cb86b3c37cc9
Create Date: 2026-11-22 00:28:14.122756
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9a4628722d08"
down_revision: str | None = "cb86b3c37cc9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ballot_exports",
        sa.Column("ballot_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["ballot_id"],
            ["ballots.id"],
            name=op.f("fk_ballot_exports_ballot_id_ballots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ballot_id", name=op.f("pk_ballot_exports")),
    )


def downgrade() -> None:
    op.drop_table("ballot_exports")
