from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, CreatedAt


class PersonaKind(enum.StrEnum):
    RESIDENT = "resident"  # "Jane, resident of Honiton"
    ORGANISATION = "organisation"  # "Jane for the Honiton Traders' Association"
    PSEUDONYM = "pseudonym"
    FORMER = "former"  # what a deleted account's public contributions stay under


class Persona(CreatedAt, Base):
    """How a resident appears in public. The public never sees the account behind it."""

    __tablename__ = "personas"
    __table_args__ = (
        CheckConstraint("length(btrim(display_name)) > 0", name="name_not_blank"),
        CheckConstraint("avatar_colour ~ '^#[0-9a-f]{6}$'", name="colour_hex"),
        # An organisation persona speaks for an organisation only with proof of membership.
        CheckConstraint(
            "kind <> 'organisation' OR verification_id IS NOT NULL", name="organisation_verified"
        ),
        CheckConstraint("kind = 'former' OR account_id IS NOT NULL", name="owned_unless_former"),
        Index("ix_personas_account_id", "account_id", postgresql_where=text("archived_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    kind: Mapped[PersonaKind] = mapped_column(
        Enum(PersonaKind, name="persona_kind", values_callable=lambda e: [m.value for m in e])
    )
    display_name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    avatar_colour: Mapped[str] = mapped_column(String(7), default="#0b4f6c")
    verification_id: Mapped[int | None] = mapped_column(
        ForeignKey("verifications.id", ondelete="SET NULL")
    )
    archived_at: Mapped[dt.datetime | None]
