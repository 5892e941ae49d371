from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, CreatedAt


class NotificationKind(enum.StrEnum):
    REPLY = "reply"
    OUTCOME = "outcome"
    WAITLIST_PLACE = "waitlist_place"
    MODERATION = "moderation"


class Digest(enum.StrEnum):
    OFF = "off"
    DAILY = "daily"
    WEEKLY = "weekly"


class Notification(CreatedAt, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index(
            "ix_notifications_unread", "account_id", "id", postgresql_where=text("read_at IS NULL")
        ),
        Index("ix_notifications_account_id_id", "account_id", "id"),
        Index(
            "ix_notifications_undigested",
            "account_id",
            "id",
            postgresql_where=text("emailed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(
            NotificationKind,
            name="notification_kind",
            values_callable=lambda e: [m.value for m in e],
        )
    )
    message: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(500))  # a path on this site
    read_at: Mapped[dt.datetime | None]
    emailed_at: Mapped[dt.datetime | None]


class NotificationSettings(Base):
    __tablename__ = "notification_settings"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    email_digest: Mapped[Digest] = mapped_column(
        Enum(Digest, name="email_digest", values_callable=lambda e: [m.value for m in e]),
        default=Digest.OFF,
    )
    last_digest_at: Mapped[dt.datetime | None]
