from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, CreatedAt


class Stance(enum.StrEnum):
    FOR = "for"
    AGAINST = "against"
    NEUTRAL = "neutral"


class Comment(CreatedAt, Base):
    """A comment on an idea, or a reply to a comment. ``path`` orders a thread: the zero-padded
    ids from the root down, so one index range scan returns a whole idea's discussion in order.
    Deleting leaves a tombstone (``deleted_at``) so replies keep their place."""

    __tablename__ = "comments"
    __table_args__ = (
        CheckConstraint("depth >= 0 AND depth <= 50", name="depth_bounded"),
        Index("ix_comments_idea_path", "idea_id", "path"),
        Index(
            "ix_comments_idea_stance",
            "idea_id",
            "stance",
            postgresql_where=text("deleted_at IS NULL AND hidden_at IS NULL"),
        ),
        Index("ix_comments_parent_id", "parent_id"),
        Index("ix_comments_author_persona_id", "author_persona_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    author_persona_id: Mapped[int] = mapped_column(ForeignKey("personas.id"))
    body: Mapped[str] = mapped_column(Text)
    stance: Mapped[Stance | None] = mapped_column(
        Enum(Stance, name="stance", values_callable=lambda e: [m.value for m in e])
    )
    depth: Mapped[int] = mapped_column(default=0)
    path: Mapped[str] = mapped_column(String(600), default="")
    edited_at: Mapped[dt.datetime | None]
    deleted_at: Mapped[dt.datetime | None]
    hidden_at: Mapped[dt.datetime | None]
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
