"""Index the tags and areas of a call's listed ideas, for the idea list's filter choices.

Collecting them read the rows of the call's ideas, bodies and search vectors included, on each
view of the list: with 2,000 ideas a call (the benchmark's scale 10), 2,700 buffers a request,
growing with the call. This partial index holds just the call, the area and the tags, so both
choices are index-only scans of a few dozen pages.

Revision ID: ce988b3d947e
Revises: 3f1d2c9a7b11
Create Date: 2026-11-22 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ce988b3d947e"
down_revision: str | None = "3f1d2c9a7b11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ideas_listed_facets",
        "ideas",
        ["call_id", "area"],
        unique=False,
        postgresql_include=["tags"],
        postgresql_where=sa.text("published_at IS NOT NULL AND hidden_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_ideas_listed_facets",
        table_name="ideas",
        postgresql_where=sa.text("published_at IS NOT NULL AND hidden_at IS NULL"),
    )
