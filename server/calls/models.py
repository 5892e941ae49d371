from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, CreatedAt

SLUG_CHECK = r"slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'"


class Region(CreatedAt, Base):
    __tablename__ = "regions"
    __table_args__ = (CheckConstraint(SLUG_CHECK, name="slug_format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Organiser(CreatedAt, Base):
    """A council, partnership or other body that runs calls."""

    __tablename__ = "organisers"
    __table_args__ = (CheckConstraint(SLUG_CHECK, name="slug_format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    website: Mapped[str | None] = mapped_column(String(500))


class PhaseKind(enum.StrEnum):
    IDEAS = "ideas"
    DELIBERATION = "deliberation"
    EVENT = "event"
    VOTING = "voting"
    FOLLOW_UP = "follow_up"


class Call(CreatedAt, Base):
    """An open call for ideas. ``opens_at``/``closes_at`` mirror the first and last phase so that
    listing open calls is one index range scan; only the service writes them."""

    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint(SLUG_CHECK, name="slug_format"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        Index("ix_calls_closes_at_id", "closes_at", "id"),
        Index("ix_calls_opens_at_id", "opens_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown, sanitised on render
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), default=list)
    image_url: Mapped[str | None] = mapped_column(String(500))
    image_alt: Mapped[str | None] = mapped_column(String(300))
    opens_at: Mapped[dt.datetime]
    closes_at: Mapped[dt.datetime]

    phases: Mapped[list[Phase]] = relationship(
        back_populates="call", order_by="Phase.position", lazy="raise"
    )


class Phase(Base):
    __tablename__ = "phases"
    __table_args__ = (
        UniqueConstraint("call_id", "position"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("position >= 0", name="position_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[PhaseKind] = mapped_column(
        Enum(PhaseKind, name="phase_kind", values_callable=lambda e: [m.value for m in e])
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]

    call: Mapped[Call] = relationship(back_populates="phases", lazy="raise")
