from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, CreatedAt

# Filterable statuses: "open" until a councillor answers, then the outcome's status.
IDEA_STATUSES = (
    "open",
    "under_consideration",
    "accepted",
    "partly_accepted",
    "not_taken_forward",
    "already_happening",
)


class Idea(CreatedAt, Base):
    """An idea posted to a call as a persona. Drafts (``published_at`` NULL) are private.

    Counters are maintained in the same transaction as the endorsement or comment that changes
    them, so listings sort on an index instead of counting on every page view."""

    __tablename__ = "ideas"
    __table_args__ = (
        CheckConstraint("length(btrim(title)) > 0", name="title_not_blank"),
        CheckConstraint(
            "endorsement_count >= 0 AND comment_count >= 0", name="counts_not_negative"
        ),
        CheckConstraint(
            "status IN ('open', 'under_consideration', 'accepted', 'partly_accepted', "
            "'not_taken_forward', 'already_happening')",
            name="status_known",
        ),
        CheckConstraint(
            "(latitude IS NULL) = (longitude IS NULL) AND (latitude IS NULL OR "
            "(latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180))",
            name="point_valid",
        ),
        # Newest-first listing per call, with id as the tie-breaker for stable cursors.
        Index("ix_ideas_call_id_created_at_id", "call_id", "created_at", "id"),
        Index(
            "ix_ideas_listed_published",
            "call_id",
            "published_at",
            "id",
            postgresql_where=text("published_at IS NOT NULL AND hidden_at IS NULL"),
        ),
        Index(
            "ix_ideas_listed_endorsed",
            "call_id",
            "endorsement_count",
            "id",
            postgresql_where=text("published_at IS NOT NULL AND hidden_at IS NULL"),
        ),
        Index(
            "ix_ideas_listed_discussed",
            "call_id",
            "comment_count",
            "id",
            postgresql_where=text("published_at IS NOT NULL AND hidden_at IS NULL"),
        ),
        # The list's filter choices (tags and areas in use), read without touching the rows.
        Index(
            "ix_ideas_listed_facets",
            "call_id",
            "area",
            postgresql_include=["tags"],
            postgresql_where=text("published_at IS NOT NULL AND hidden_at IS NULL"),
        ),
        Index("ix_ideas_call_status", "call_id", "status"),
        Index("ix_ideas_call_area", "call_id", "area"),
        Index("ix_ideas_tags", "tags", postgresql_using="gin"),
        Index("ix_ideas_search", "search", postgresql_using="gin"),
        Index(
            "ix_ideas_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
        ),
        Index("ix_ideas_author_persona_id", "author_persona_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    author_persona_id: Mapped[int] = mapped_column(ForeignKey("personas.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown, sanitised on render
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(50)), default=list, server_default=text("'{}'")
    )
    area: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    status: Mapped[str] = mapped_column(String(30), default="open", server_default="open")
    published_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    endorsement_count: Mapped[int] = mapped_column(default=0, server_default="0")
    comment_count: Mapped[int] = mapped_column(default=0, server_default="0")
    hidden_at: Mapped[dt.datetime | None]
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    search: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed(
            "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
            "setweight(to_tsvector('english', coalesce(body, '')), 'B')",
            persisted=True,
        ),
        deferred=True,
    )


class IdeaRevision(Base):
    """What a published idea said before each edit: the visible history."""

    __tablename__ = "idea_revisions"

    idea_id: Mapped[int] = mapped_column(
        ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    replaced_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class Endorsement(CreatedAt, Base):
    """One endorsement per person per idea, whichever persona they endorse as. Unverified
    accounts are counted by account; verified ones by person (which survives account deletion)."""

    __tablename__ = "endorsements"
    __table_args__ = (
        Index(
            "uq_endorsements_idea_account",
            "idea_id",
            "account_id",
            unique=True,
            postgresql_where=text("account_id IS NOT NULL"),
        ),
        Index(
            "uq_endorsements_idea_person",
            "idea_id",
            "person_id",
            unique=True,
            postgresql_where=text("person_id IS NOT NULL"),
        ),
        CheckConstraint("account_id IS NOT NULL OR person_id IS NOT NULL", name="has_endorser"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    persona_id: Mapped[int] = mapped_column(ForeignKey("personas.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))


class IdeaFollow(CreatedAt, Base):
    __tablename__ = "idea_follows"

    idea_id: Mapped[int] = mapped_column(
        ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
