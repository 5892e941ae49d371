"""Running tallies in shards: a rush of casts on one vote no longer queues on one row per option.

Revision ID: 3f1d2c9a7b11
Revises: 9a4628722d08
Create Date: 2026-11-22 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f1d2c9a7b11"
down_revision: str | None = "9a4628722d08"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing counts become shard 0; later casts spread over the shards.
    op.add_column(
        "ballot_tallies",
        sa.Column("shard", sa.SmallInteger(), server_default="0", nullable=False),
    )
    op.alter_column("ballot_tallies", "shard", server_default=None)
    op.create_check_constraint("shard_not_negative", "ballot_tallies", "shard >= 0")
    op.drop_constraint("pk_ballot_tallies", "ballot_tallies", type_="primary")
    op.create_primary_key(
        "pk_ballot_tallies", "ballot_tallies", ["ballot_id", "option_id", "key", "shard"]
    )


def downgrade() -> None:
    # Add the shards up into shard 0 before the column goes, so no count is lost.
    op.execute(
        """
        WITH folded AS (
            DELETE FROM ballot_tallies WHERE shard <> 0
            RETURNING ballot_id, option_id, key, count
        ), summed AS (
            SELECT ballot_id, option_id, key, sum(count)::integer AS count
            FROM folded GROUP BY ballot_id, option_id, key
        )
        INSERT INTO ballot_tallies AS t (ballot_id, option_id, key, shard, count)
        SELECT ballot_id, option_id, key, 0, count FROM summed
        ON CONFLICT (ballot_id, option_id, key, shard) DO UPDATE SET count = t.count + EXCLUDED.count
        """
    )
    op.drop_constraint("pk_ballot_tallies", "ballot_tallies", type_="primary")
    op.drop_constraint("shard_not_negative", "ballot_tallies", type_="check")
    op.drop_column("ballot_tallies", "shard")
    op.create_primary_key("pk_ballot_tallies", "ballot_tallies", ["ballot_id", "option_id", "key"])
