from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class OutcomeStatus(enum.StrEnum):
    UNDER_CONSIDERATION = "under_consideration"
    ACCEPTED = "accepted"
    PARTLY_ACCEPTED = "partly_accepted"
    NOT_TAKEN_FORWARD = "not_taken_forward"
    ALREADY_HAPPENING = "already_happening"


class Outcome(Base):
    """What the council did with an idea: one current answer per idea."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), unique=True)
    status: Mapped[OutcomeStatus] = mapped_column(
        Enum(OutcomeStatus, name="outcome_status", values_callable=lambda e: [m.value for m in e])
    )
    response: Mapped[str] = mapped_column(Text)  # Markdown, sanitised on render
    decided_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    decided_by: Mapped[int | None]  # account id of the councillor; not shown in public
    decision_reference: Mapped[str | None] = mapped_column(String(500))  # e.g. a minute's URL
    budget_line: Mapped[str | None] = mapped_column(String(200))
