from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, CreatedAt


class Event(CreatedAt, Base):
    """An in-person day of a call (an Open Ideas Day), held at one or more venues in parallel."""

    __tablename__ = "events"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]


class Venue(CreatedAt, Base):
    __tablename__ = "venues"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("registered >= 0 AND registered <= capacity", name="within_capacity"),
        Index("ix_venues_event_id_name", "event_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    capacity: Mapped[int]
    registered: Mapped[int] = mapped_column(default=0, server_default="0")
    accessibility: Mapped[str] = mapped_column(Text, default="")


class RegistrationStatus(enum.StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Registration(CreatedAt, Base):
    """A place at a venue, or a place in its waitlist (ordered by id). ``venues.registered``
    counts the places taken and a CHECK keeps it within capacity: the database, not the code,
    guarantees a venue is never overbooked."""

    __tablename__ = "registrations"
    __table_args__ = (
        # One live registration per account per event, whichever venue or persona.
        Index(
            "uq_registrations_live",
            "event_id",
            "account_id",
            unique=True,
            postgresql_where=text("status <> 'cancelled'"),
        ),
        Index(
            "ix_registrations_waitlist",
            "venue_id",
            "id",
            postgresql_where=text("status = 'waitlisted'"),
        ),
        Index("ix_registrations_venue_status", "venue_id", "status"),
        Index("ix_registrations_account_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    persona_id: Mapped[int] = mapped_column(ForeignKey("personas.id"))
    status: Mapped[RegistrationStatus] = mapped_column(
        Enum(
            RegistrationStatus,
            name="registration_status",
            values_callable=lambda e: [m.value for m in e],
        )
    )
    checked_in_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]


class VenueHost(CreatedAt, Base):
    __tablename__ = "venue_hosts"

    venue_id: Mapped[int] = mapped_column(
        ForeignKey("venues.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class EventSession(CreatedAt, Base):
    """A session at a venue and time slot, usually on one idea chosen by the organiser; after the
    day the host posts its notes."""

    __tablename__ = "event_sessions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_event_sessions_venue_starts", "venue_id", "starts_at"),
        Index("ix_event_sessions_idea_id", "idea_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    notes: Mapped[str] = mapped_column(Text, default="")  # Markdown, by the host, after the day
    notes_posted_at: Mapped[dt.datetime | None]


class Solution(CreatedAt, Base):
    """A solution that came out of a session, linked to the idea it answers."""

    __tablename__ = "solutions"
    __table_args__ = (
        Index("ix_solutions_idea_id", "idea_id"),
        Index("ix_solutions_session_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("event_sessions.id", ondelete="CASCADE"))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
