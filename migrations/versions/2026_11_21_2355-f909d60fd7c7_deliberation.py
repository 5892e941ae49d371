"""Deliberation: idea authors, drafts, history, endorsements, follows and search; threaded
comments; venue registrations with waitlists, hosts, sessions and solutions; reports;
notifications; outcome details; call images.

Revision ID: f909d60fd7c7
Revises: f0040d7cb328
Create Date: 2026-11-21 23:55:46.513427
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "f909d60fd7c7"
down_revision: str | None = "f0040d7cb328"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "notification_settings",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "email_digest", sa.Enum("off", "daily", "weekly", name="email_digest"), nullable=False
        ),
        sa.Column("last_digest_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_settings_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_notification_settings")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("reply", "outcome", "waitlist_place", "moderation", name="notification_kind"),
            nullable=False,
        ),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notifications_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_account_id_id", "notifications", ["account_id", "id"], unique=False
    )
    op.create_index(
        "ix_notifications_undigested",
        "notifications",
        ["account_id", "id"],
        unique=False,
        postgresql_where=sa.text("emailed_at IS NULL"),
    )
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["account_id", "id"],
        unique=False,
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("reporter_account_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "subject_type IN ('idea', 'comment')", name=op.f("ck_reports_subject_known")
        ),
        sa.CheckConstraint("length(btrim(reason)) > 0", name=op.f("ck_reports_reason_given")),
        sa.ForeignKeyConstraint(
            ["reporter_account_id"],
            ["accounts.id"],
            name=op.f("fk_reports_reporter_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index(
        "ix_reports_queue",
        "reports",
        ["created_at", "id"],
        unique=False,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index(
        "uq_reports_open",
        "reports",
        ["subject_type", "subject_id", "reporter_account_id"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("venue_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("persona_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("registered", "waitlisted", "cancelled", name="registration_status"),
            nullable=False,
        ),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_registrations_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_registrations_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["persona_id"], ["personas.id"], name=op.f("fk_registrations_persona_id_personas")
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"],
            ["venues.id"],
            name=op.f("fk_registrations_venue_id_venues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrations")),
    )
    op.create_index("ix_registrations_account_id", "registrations", ["account_id"], unique=False)
    op.create_index(
        "ix_registrations_venue_status", "registrations", ["venue_id", "status"], unique=False
    )
    op.create_index(
        "ix_registrations_waitlist",
        "registrations",
        ["venue_id", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'waitlisted'"),
    )
    op.create_index(
        "uq_registrations_live",
        "registrations",
        ["event_id", "account_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.create_table(
        "venue_hosts",
        sa.Column("venue_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_venue_hosts_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"],
            ["venues.id"],
            name=op.f("fk_venue_hosts_venue_id_venues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("venue_id", "account_id", name=op.f("pk_venue_hosts")),
    )
    op.create_index(op.f("ix_venue_hosts_account_id"), "venue_hosts", ["account_id"], unique=False)
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("author_persona_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("stance", sa.Enum("for", "against", "neutral", name="stance"), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=600), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_reason", sa.String(length=500), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("depth >= 0 AND depth <= 50", name=op.f("ck_comments_depth_bounded")),
        sa.ForeignKeyConstraint(
            ["author_persona_id"],
            ["personas.id"],
            name=op.f("fk_comments_author_persona_id_personas"),
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_comments_idea_id_ideas"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["comments.id"],
            name=op.f("fk_comments_parent_id_comments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    op.create_index(
        "ix_comments_author_persona_id", "comments", ["author_persona_id"], unique=False
    )
    op.create_index("ix_comments_idea_path", "comments", ["idea_id", "path"], unique=False)
    op.create_index(
        "ix_comments_idea_stance",
        "comments",
        ["idea_id", "stance"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL AND hidden_at IS NULL"),
    )
    op.create_index("ix_comments_parent_id", "comments", ["parent_id"], unique=False)
    op.create_table(
        "endorsements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("persona_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "account_id IS NOT NULL OR person_id IS NOT NULL",
            name=op.f("ck_endorsements_has_endorser"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_endorsements_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_endorsements_idea_id_ideas"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_endorsements_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["persona_id"], ["personas.id"], name=op.f("fk_endorsements_persona_id_personas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endorsements")),
    )
    op.create_index(
        "uq_endorsements_idea_account",
        "endorsements",
        ["idea_id", "account_id"],
        unique=True,
        postgresql_where=sa.text("account_id IS NOT NULL"),
    )
    op.create_index(
        "uq_endorsements_idea_person",
        "endorsements",
        ["idea_id", "person_id"],
        unique=True,
        postgresql_where=sa.text("person_id IS NOT NULL"),
    )
    op.create_table(
        "event_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("venue_id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("notes_posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_event_sessions_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_event_sessions_idea_id_ideas"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"],
            ["venues.id"],
            name=op.f("fk_event_sessions_venue_id_venues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_sessions")),
    )
    op.create_index("ix_event_sessions_idea_id", "event_sessions", ["idea_id"], unique=False)
    op.create_index(
        "ix_event_sessions_venue_starts", "event_sessions", ["venue_id", "starts_at"], unique=False
    )
    op.create_table(
        "idea_follows",
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_idea_follows_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_idea_follows_idea_id_ideas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("idea_id", "account_id", name=op.f("pk_idea_follows")),
    )
    op.create_index(
        op.f("ix_idea_follows_account_id"), "idea_follows", ["account_id"], unique=False
    )
    op.create_table(
        "idea_revisions",
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "replaced_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_idea_revisions_idea_id_ideas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("idea_id", "version", name=op.f("pk_idea_revisions")),
    )
    op.create_table(
        "solutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_solutions_idea_id_ideas"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["event_sessions.id"],
            name=op.f("fk_solutions_session_id_event_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_solutions")),
    )
    op.create_index("ix_solutions_idea_id", "solutions", ["idea_id"], unique=False)
    op.create_index("ix_solutions_session_id", "solutions", ["session_id"], unique=False)
    op.add_column("calls", sa.Column("image_url", sa.String(length=500), nullable=True))
    op.add_column("calls", sa.Column("image_alt", sa.String(length=300), nullable=True))
    op.add_column("ideas", sa.Column("author_persona_id", sa.Integer(), nullable=True))
    # Ideas from before authorship existed belong to one anonymous "Former participant".
    op.execute(
        "WITH former AS (INSERT INTO personas (kind, display_name, description, avatar_colour, created_at) "
        "SELECT 'former', 'Former participant', '', '#505a5f', now() WHERE EXISTS (SELECT 1 FROM ideas) "
        "RETURNING id) UPDATE ideas SET author_persona_id = (SELECT id FROM former)"
    )
    op.alter_column("ideas", "author_persona_id", nullable=False)
    op.add_column(
        "ideas",
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.String(length=50)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.add_column("ideas", sa.Column("area", sa.String(length=100), nullable=True))
    op.add_column("ideas", sa.Column("latitude", sa.Numeric(precision=9, scale=6), nullable=True))
    op.add_column("ideas", sa.Column("longitude", sa.Numeric(precision=9, scale=6), nullable=True))
    op.add_column(
        "ideas", sa.Column("status", sa.String(length=30), server_default="open", nullable=False)
    )
    op.execute(
        "UPDATE ideas SET status = o.status::text FROM outcomes o WHERE o.idea_id = ideas.id"
    )
    op.add_column("ideas", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE ideas SET published_at = created_at")
    op.add_column(
        "ideas",
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.add_column("ideas", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column(
        "ideas", sa.Column("endorsement_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "ideas", sa.Column("comment_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("ideas", sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("ideas", sa.Column("hidden_reason", sa.String(length=500), nullable=True))
    op.add_column(
        "ideas",
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('english', coalesce(title, '')), 'A') || setweight(to_tsvector('english', coalesce(body, '')), 'B')",
                persisted=True,
            ),
            nullable=False,
        ),
    )
    op.create_index("ix_ideas_author_persona_id", "ideas", ["author_persona_id"], unique=False)
    op.create_index("ix_ideas_call_area", "ideas", ["call_id", "area"], unique=False)
    op.create_index("ix_ideas_call_status", "ideas", ["call_id", "status"], unique=False)
    op.create_index(
        "ix_ideas_listed_discussed",
        "ideas",
        ["call_id", "comment_count", "id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NOT NULL AND hidden_at IS NULL"),
    )
    op.create_index(
        "ix_ideas_listed_endorsed",
        "ideas",
        ["call_id", "endorsement_count", "id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NOT NULL AND hidden_at IS NULL"),
    )
    op.create_index(
        "ix_ideas_listed_published",
        "ideas",
        ["call_id", "published_at", "id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NOT NULL AND hidden_at IS NULL"),
    )
    op.create_index("ix_ideas_search", "ideas", ["search"], unique=False, postgresql_using="gin")
    op.create_index("ix_ideas_tags", "ideas", ["tags"], unique=False, postgresql_using="gin")
    op.create_index(
        "ix_ideas_title_trgm",
        "ideas",
        ["title"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"title": "gin_trgm_ops"},
    )
    op.create_foreign_key(
        op.f("fk_ideas_author_persona_id_personas"),
        "ideas",
        "personas",
        ["author_persona_id"],
        ["id"],
    )
    op.create_check_constraint(
        "counts_not_negative", "ideas", "endorsement_count >= 0 AND comment_count >= 0"
    )
    op.create_check_constraint(
        "status_known",
        "ideas",
        "status IN ('open', 'under_consideration', 'accepted', 'partly_accepted', 'not_taken_forward', 'already_happening')",
    )
    op.create_check_constraint(
        "point_valid",
        "ideas",
        "(latitude IS NULL) = (longitude IS NULL) AND (latitude IS NULL OR "
        "(latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180))",
    )
    op.add_column("outcomes", sa.Column("decided_by", sa.Integer(), nullable=True))
    op.add_column("outcomes", sa.Column("decision_reference", sa.String(length=500), nullable=True))
    op.add_column("outcomes", sa.Column("budget_line", sa.String(length=200), nullable=True))
    op.add_column(
        "venues", sa.Column("registered", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_check_constraint(
        "within_capacity", "venues", "registered >= 0 AND registered <= capacity"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_venues_within_capacity"), "venues", type_="check")
    op.drop_column("venues", "registered")
    op.drop_column("outcomes", "budget_line")
    op.drop_column("outcomes", "decision_reference")
    op.drop_column("outcomes", "decided_by")
    for name in ("counts_not_negative", "status_known", "point_valid"):
        op.drop_constraint(op.f(f"ck_ideas_{name}"), "ideas", type_="check")
    op.drop_constraint(op.f("fk_ideas_author_persona_id_personas"), "ideas", type_="foreignkey")
    op.drop_index(
        "ix_ideas_title_trgm",
        table_name="ideas",
        postgresql_using="gin",
        postgresql_ops={"title": "gin_trgm_ops"},
    )
    op.drop_index("ix_ideas_tags", table_name="ideas", postgresql_using="gin")
    op.drop_index("ix_ideas_search", table_name="ideas", postgresql_using="gin")
    op.drop_index(
        "ix_ideas_listed_published",
        table_name="ideas",
        postgresql_where=sa.text("published_at IS NOT NULL AND hidden_at IS NULL"),
    )
    op.drop_index(
        "ix_ideas_listed_endorsed",
        table_name="ideas",
        postgresql_where=sa.text("published_at IS NOT NULL AND hidden_at IS NULL"),
    )
    op.drop_index(
        "ix_ideas_listed_discussed",
        table_name="ideas",
        postgresql_where=sa.text("published_at IS NOT NULL AND hidden_at IS NULL"),
    )
    op.drop_index("ix_ideas_call_status", table_name="ideas")
    op.drop_index("ix_ideas_call_area", table_name="ideas")
    op.drop_index("ix_ideas_author_persona_id", table_name="ideas")
    op.drop_column("ideas", "search")
    op.drop_column("ideas", "hidden_reason")
    op.drop_column("ideas", "hidden_at")
    op.drop_column("ideas", "comment_count")
    op.drop_column("ideas", "endorsement_count")
    op.drop_column("ideas", "version")
    op.drop_column("ideas", "updated_at")
    op.drop_column("ideas", "published_at")
    op.drop_column("ideas", "status")
    op.drop_column("ideas", "longitude")
    op.drop_column("ideas", "latitude")
    op.drop_column("ideas", "area")
    op.drop_column("ideas", "tags")
    op.drop_column("ideas", "author_persona_id")
    op.drop_column("calls", "image_alt")
    op.drop_column("calls", "image_url")
    op.drop_index("ix_solutions_session_id", table_name="solutions")
    op.drop_index("ix_solutions_idea_id", table_name="solutions")
    op.drop_table("solutions")
    op.drop_table("idea_revisions")
    op.drop_index(op.f("ix_idea_follows_account_id"), table_name="idea_follows")
    op.drop_table("idea_follows")
    op.drop_index("ix_event_sessions_venue_starts", table_name="event_sessions")
    op.drop_index("ix_event_sessions_idea_id", table_name="event_sessions")
    op.drop_table("event_sessions")
    op.drop_index(
        "uq_endorsements_idea_person",
        table_name="endorsements",
        postgresql_where=sa.text("person_id IS NOT NULL"),
    )
    op.drop_index(
        "uq_endorsements_idea_account",
        table_name="endorsements",
        postgresql_where=sa.text("account_id IS NOT NULL"),
    )
    op.drop_table("endorsements")
    op.drop_index("ix_comments_parent_id", table_name="comments")
    op.drop_index(
        "ix_comments_idea_stance",
        table_name="comments",
        postgresql_where=sa.text("deleted_at IS NULL AND hidden_at IS NULL"),
    )
    op.drop_index("ix_comments_idea_path", table_name="comments")
    op.drop_index("ix_comments_author_persona_id", table_name="comments")
    op.drop_table("comments")
    op.drop_index(op.f("ix_venue_hosts_account_id"), table_name="venue_hosts")
    op.drop_table("venue_hosts")
    op.drop_index(
        "uq_registrations_live",
        table_name="registrations",
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.drop_index(
        "ix_registrations_waitlist",
        table_name="registrations",
        postgresql_where=sa.text("status = 'waitlisted'"),
    )
    op.drop_index("ix_registrations_venue_status", table_name="registrations")
    op.drop_index("ix_registrations_account_id", table_name="registrations")
    op.drop_table("registrations")
    op.drop_index(
        "uq_reports_open", table_name="reports", postgresql_where=sa.text("resolved_at IS NULL")
    )
    op.drop_index(
        "ix_reports_queue", table_name="reports", postgresql_where=sa.text("resolved_at IS NULL")
    )
    op.drop_table("reports")
    op.drop_index(
        "ix_notifications_unread",
        table_name="notifications",
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.drop_index(
        "ix_notifications_undigested",
        table_name="notifications",
        postgresql_where=sa.text("emailed_at IS NULL"),
    )
    op.drop_index("ix_notifications_account_id_id", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("notification_settings")
    for name in ("stance", "registration_status", "notification_kind", "email_digest"):
        sa.Enum(name=name).drop(op.get_bind())
    # pg_trgm stays: other objects in the database may use it.
