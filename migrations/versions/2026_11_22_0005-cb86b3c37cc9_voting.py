"""Voting: ballots with options, one cast ballot per person per vote, running tallies.

Revision ID: cb86b3c37cc9
Revises: f909d60fd7c7
Create Date: 2026-11-22 00:05:27.858543
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "cb86b3c37cc9"
down_revision: str | None = "f909d60fd7c7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ballots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("support", "approval", "budgeting", "ranked", "statements", name="ballot_kind"),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("max_choices", sa.Integer(), nullable=True),
        sa.Column("budget", sa.BigInteger(), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column(
            "result_method",
            sa.Enum(
                "totals",
                "greedy",
                "equal_shares",
                "instant_runoff",
                "opinion_groups",
                name="result_method",
            ),
            nullable=False,
        ),
        sa.Column("eligibility", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("live_results", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("draft", "open", "closed", "published", name="ballot_status"),
            nullable=False,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("export_sha256", sa.String(length=64), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind <> 'budgeting' OR budget IS NOT NULL",
            name=op.f("ck_ballots_budgeting_has_budget"),
        ),
        sa.CheckConstraint("budget IS NULL OR budget > 0", name=op.f("ck_ballots_budget_positive")),
        sa.CheckConstraint(
            "max_choices IS NULL OR max_choices > 0", name=op.f("ck_ballots_max_choices_positive")
        ),
        sa.CheckConstraint(
            "threshold IS NULL OR threshold > 0", name=op.f("ck_ballots_threshold_positive")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_ballots_call_id_calls"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"], ["phases.id"], name=op.f("fk_ballots_phase_id_phases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballots")),
    )
    op.create_index("ix_ballots_call_id", "ballots", ["call_id"], unique=False)
    op.create_table(
        "cast_ballots",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("ballot_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("persona_id", sa.Integer(), nullable=True),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column(
            "cast_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("changes >= 0", name=op.f("ck_cast_ballots_changes_not_negative")),
        sa.ForeignKeyConstraint(
            ["ballot_id"],
            ["ballots.id"],
            name=op.f("fk_cast_ballots_ballot_id_ballots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_cast_ballots_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["persona_id"],
            ["personas.id"],
            name=op.f("fk_cast_ballots_persona_id_personas"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cast_ballots")),
        sa.UniqueConstraint(
            "ballot_id", "person_id", name=op.f("uq_cast_ballots_ballot_id_person_id")
        ),
    )
    op.create_table(
        "ballot_options",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ballot_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "cost IS NULL OR cost > 0", name=op.f("ck_ballot_options_cost_positive")
        ),
        sa.ForeignKeyConstraint(
            ["ballot_id"],
            ["ballots.id"],
            name=op.f("fk_ballot_options_ballot_id_ballots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_ballot_options_idea_id_ideas"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballot_options")),
        sa.UniqueConstraint(
            "ballot_id", "position", name=op.f("uq_ballot_options_ballot_id_position")
        ),
    )
    op.create_index("ix_ballot_options_idea_id", "ballot_options", ["idea_id"], unique=False)
    op.create_table(
        "ballot_tallies",
        sa.Column("ballot_id", sa.Integer(), nullable=False),
        sa.Column("option_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count >= 0", name=op.f("ck_ballot_tallies_count_not_negative")),
        sa.ForeignKeyConstraint(
            ["ballot_id"],
            ["ballots.id"],
            name=op.f("fk_ballot_tallies_ballot_id_ballots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["option_id"],
            ["ballot_options.id"],
            name=op.f("fk_ballot_tallies_option_id_ballot_options"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ballot_id", "option_id", "key", name=op.f("pk_ballot_tallies")),
    )


def downgrade() -> None:
    op.drop_table("ballot_tallies")
    op.drop_index("ix_ballot_options_idea_id", table_name="ballot_options")
    op.drop_table("ballot_options")
    op.drop_table("cast_ballots")
    op.drop_index("ix_ballots_call_id", table_name="ballots")
    op.drop_table("ballots")
    for name in ("ballot_kind", "result_method", "ballot_status"):
        sa.Enum(name=name).drop(op.get_bind())
