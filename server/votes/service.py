"""Setting up votes: organisers create a ballot for a call's voting phase and open it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.calls.models import Call, Phase, PhaseKind
from server.errors import Conflict, NotFound, ValidationFailed
from server.votes.casting import announce
from server.votes.eligibility import check_rules
from server.votes.models import Ballot, BallotKind, BallotOption, BallotStatus, ResultMethod

METHODS = {
    BallotKind.SUPPORT: {ResultMethod.TOTALS},
    BallotKind.APPROVAL: {ResultMethod.TOTALS},
    BallotKind.BUDGETING: {ResultMethod.GREEDY, ResultMethod.EQUAL_SHARES},
    BallotKind.RANKED: {ResultMethod.INSTANT_RUNOFF},
    BallotKind.STATEMENTS: {ResultMethod.OPINION_GROUPS},
}


@dataclass(frozen=True, slots=True)
class OptionInput:
    title: str
    description: str = ""
    cost: int | None = None  # pence
    idea_id: int | None = None


@dataclass(frozen=True, slots=True)
class BallotInput:
    kind: BallotKind
    title: str
    options: Sequence[OptionInput]
    result_method: ResultMethod = ResultMethod.TOTALS
    description: str = ""
    max_choices: int | None = None
    budget: int | None = None
    threshold: int | None = None
    eligibility: dict[str, Any] = field(default_factory=dict)
    secret: bool = True
    live_results: bool = False


def _validate(data: BallotInput) -> None:
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = "Give the vote a title."
    if data.result_method not in METHODS[data.kind]:
        allowed = ", ".join(sorted(m.value for m in METHODS[data.kind]))
        errors["result_method"] = f"For this kind of vote, count with: {allowed}."
    if len(data.options) < (1 if data.kind in (BallotKind.SUPPORT, BallotKind.STATEMENTS) else 2):
        errors["options"] = "Add the options people choose between."
    if any(not o.title.strip() for o in data.options):
        errors["options"] = "Every option needs a title."
    if data.kind == BallotKind.APPROVAL and not data.max_choices:
        errors["max_choices"] = "Say how many options each person may choose."
    if data.kind == BallotKind.BUDGETING:
        if not data.budget or data.budget <= 0:
            errors["budget"] = "Give the budget to share out."
        if any(not o.cost or o.cost <= 0 for o in data.options):
            errors["options"] = "Every option needs a cost."
    if errors:
        raise ValidationFailed(errors=errors)


async def create_ballot(
    session: AsyncSession, call: Call, data: BallotInput, *, actor: int | None
) -> Ballot:
    _validate(data)
    phase = await session.scalar(
        select(Phase)
        .where(Phase.call_id == call.id, Phase.kind == PhaseKind.VOTING)
        .order_by(Phase.position)
        .limit(1)
    )
    if phase is None:
        raise ValidationFailed("Add a voting phase to the call's timeline first.", field="phase")
    ballot = Ballot(
        call_id=call.id,
        phase_id=phase.id,
        kind=data.kind,
        title=data.title.strip(),
        description=data.description,
        max_choices=data.max_choices,
        budget=data.budget,
        threshold=data.threshold,
        result_method=data.result_method,
        eligibility=check_rules(data.eligibility),
        secret=data.secret,
        live_results=data.live_results,
        status=BallotStatus.DRAFT,
    )
    session.add(ballot)
    await session.flush()
    session.add_all(
        BallotOption(
            ballot_id=ballot.id,
            position=i,
            title=o.title.strip(),
            description=o.description,
            cost=o.cost,
            idea_id=o.idea_id,
        )
        for i, o in enumerate(data.options)
    )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="ballot.created",
        subject_type="ballot",
        subject_id=ballot.id,
        kind=data.kind.value,
    )
    return ballot


async def get_ballot(session: AsyncSession, ballot_id: int, *, lock: bool = False) -> Ballot:
    ballot = await session.get(Ballot, ballot_id, with_for_update=lock)
    if ballot is None:
        raise NotFound("There is no such vote.")
    return ballot


async def options_of(session: AsyncSession, ballot_id: int) -> list[BallotOption]:
    rows = await session.scalars(
        select(BallotOption)
        .where(BallotOption.ballot_id == ballot_id)
        .order_by(BallotOption.position)
    )
    return list(rows)


async def open_ballot(session: AsyncSession, ballot_id: int, *, actor: int | None) -> Ballot:
    ballot = await get_ballot(session, ballot_id, lock=True)
    if ballot.status != BallotStatus.DRAFT:
        raise Conflict("Only a draft vote can be opened.")
    ballot.status = BallotStatus.OPEN
    await session.flush()
    await audit.record(
        session, actor=actor, action="ballot.opened", subject_type="ballot", subject_id=ballot.id
    )
    return ballot


async def close_ballot(
    session: AsyncSession, ballot_id: int, *, now: dt.datetime, actor: int | None
) -> Ballot:
    """Freeze the tally. Locking the ballot row waits for casts in flight to finish."""
    ballot = await get_ballot(session, ballot_id, lock=True)
    if ballot.status != BallotStatus.OPEN:
        raise Conflict("Only an open vote can be closed.")
    ballot.status = BallotStatus.CLOSED
    ballot.closed_at = now
    await session.flush()
    if ballot.live_results:
        await announce(session, ballot.id, "closed")
    await audit.record(
        session, actor=actor, action="ballot.closed", subject_type="ballot", subject_id=ballot.id
    )
    return ballot
