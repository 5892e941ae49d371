from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, CreatedAt


class Report(CreatedAt, Base):
    """Someone signed in reports an idea or comment; moderators work through the open ones."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint("subject_type IN ('idea', 'comment')", name="subject_known"),
        CheckConstraint("length(btrim(reason)) > 0", name="reason_given"),
        # One open report per person per item: repeating it adds nothing.
        Index(
            "uq_reports_open",
            "subject_type",
            "subject_id",
            "reporter_account_id",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index("ix_reports_queue", "created_at", "id", postgresql_where=text("resolved_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int]
    reporter_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(String(1000))
    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[int | None]
    resolution: Mapped[str | None] = mapped_column(String(20))
