"""Ballots put to a vote in a call's voting phase, their options, and the ballots cast.

One verified person casts at most one ballot per vote, whichever persona they use: the unique
constraint on (ballot_id, person_id) is the rule, not code. Casting again replaces the content
(earlier content is not kept) and counts a change. Tallies are kept per option, incrementally,
in the same transaction as the cast, and can be checked against a full recount at any time.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, CreatedAt


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class BallotKind(enum.StrEnum):
    SUPPORT = "support"  # one support per option per person; a threshold marks options
    APPROVAL = "approval"  # choose up to max_choices options
    BUDGETING = "budgeting"  # choose options whose costs fit the budget
    RANKED = "ranked"  # rank options; instant runoff
    STATEMENTS = "statements"  # agree / disagree / pass on each statement (Pol.is style)


class BallotStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"  # tally frozen
    PUBLISHED = "published"  # result and the hash of the exported ballots are public


class ResultMethod(enum.StrEnum):
    TOTALS = "totals"
    GREEDY = "greedy"
    EQUAL_SHARES = "equal_shares"
    INSTANT_RUNOFF = "instant_runoff"
    OPINION_GROUPS = "opinion_groups"


class Ballot(CreatedAt, Base):
    __tablename__ = "ballots"
    __table_args__ = (
        CheckConstraint("max_choices IS NULL OR max_choices > 0", name="max_choices_positive"),
        CheckConstraint("budget IS NULL OR budget > 0", name="budget_positive"),
        CheckConstraint("threshold IS NULL OR threshold > 0", name="threshold_positive"),
        CheckConstraint("kind <> 'budgeting' OR budget IS NOT NULL", name="budgeting_has_budget"),
        Index("ix_ballots_call_id", "call_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id"))
    kind: Mapped[BallotKind] = mapped_column(_enum(BallotKind, "ballot_kind"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    max_choices: Mapped[int | None]
    budget: Mapped[int | None] = mapped_column(BigInteger)  # pence
    threshold: Mapped[int | None]
    result_method: Mapped[ResultMethod] = mapped_column(_enum(ResultMethod, "result_method"))
    # Who may vote: {} = any signed-in resident; else claims a live verification must hold,
    # e.g. {"postcode_areas": ["EX", "TR"], "min_age": 16}.
    eligibility: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    secret: Mapped[bool] = mapped_column(default=True)
    live_results: Mapped[bool] = mapped_column(default=False)
    status: Mapped[BallotStatus] = mapped_column(_enum(BallotStatus, "ballot_status"))
    closed_at: Mapped[dt.datetime | None]
    published_at: Mapped[dt.datetime | None]
    # SHA-256 of the exported ballots file the published result was computed from.
    export_sha256: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class BallotOption(Base):
    __tablename__ = "ballot_options"
    __table_args__ = (
        UniqueConstraint("ballot_id", "position"),
        CheckConstraint("cost IS NULL OR cost > 0", name="cost_positive"),
        Index("ix_ballot_options_idea_id", "idea_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id", ondelete="CASCADE"))
    position: Mapped[int]
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    cost: Mapped[int | None] = mapped_column(BigInteger)  # pence, budgeting only


class CastBallot(Base):
    """The one current ballot of one person in one vote."""

    __tablename__ = "cast_ballots"
    __table_args__ = (
        UniqueConstraint("ballot_id", "person_id"),
        CheckConstraint("changes >= 0", name="changes_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id", ondelete="CASCADE"))
    # The verified person (kept when the account is deleted, so they cannot vote twice).
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    persona_id: Mapped[int | None] = mapped_column(ForeignKey("personas.id", ondelete="SET NULL"))
    # Option ids chosen (support/approval/budgeting), ranked (ranked), or {option: -1|0|1}.
    content: Mapped[Any] = mapped_column(JSONB)
    changes: Mapped[int] = mapped_column(default=0)
    cast_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class Tally(Base):
    """Running counts per option: approvals/supports, or first preferences (ranked), or for
    statements agree/disagree/pass, in shards. Maintained with each cast; recountable from
    cast_ballots."""

    __tablename__ = "ballot_tallies"
    __table_args__ = (
        CheckConstraint("count >= 0", name="count_not_negative"),
        CheckConstraint("shard >= 0", name="shard_not_negative"),
    )

    ballot_id: Mapped[int] = mapped_column(
        ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True
    )
    option_id: Mapped[int] = mapped_column(
        ForeignKey("ballot_options.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(10), primary_key=True, default="count")
    # Which of the counts for this option and key (a cast adds to its person's shard only, so
    # a rush of casts does not queue on one row lock); the tally is their sum.
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=0)
    count: Mapped[int] = mapped_column(default=0)


class BallotExport(CreatedAt, Base):
    """The exported ballots file a published result was computed from, kept byte for byte so
    that anyone can download it and recompute the result (its SHA-256 is on the ballot)."""

    __tablename__ = "ballot_exports"

    ballot_id: Mapped[int] = mapped_column(
        ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
