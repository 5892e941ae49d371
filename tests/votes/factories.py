"""Votes built through the services, on a call whose voting phase is open now."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from server.calls import service as calls
from server.calls.models import Call, PhaseKind, Region
from server.calls.service import CallInput, PhaseInput
from server.votes import service
from server.votes.models import Ballot, BallotKind, ResultMethod
from server.votes.service import BallotInput, OptionInput
from tests.factories import make_organiser, now


async def make_voting_call(session: AsyncSession, *, slug: str = "city-vote") -> Call:
    organiser = await make_organiser(session)
    region = await session.get(Region, organiser.region_id)
    assert region is not None
    t = now()
    return await calls.create_call(
        session,
        CallInput(
            slug=slug,
            title="City vote",
            summary="Choose",
            phases=(
                PhaseInput(
                    PhaseKind.IDEAS, "Ideas", t - dt.timedelta(days=20), t - dt.timedelta(days=1)
                ),
                PhaseInput(
                    PhaseKind.VOTING, "Voting", t - dt.timedelta(days=1), t + dt.timedelta(days=7)
                ),
            ),
        ),
        organiser=organiser,
        region=region,
    )


async def make_ballot(
    session: AsyncSession,
    call: Call,
    kind: BallotKind = BallotKind.APPROVAL,
    *,
    options: int = 4,
    **settings: object,
) -> Ballot:
    method = {
        BallotKind.BUDGETING: ResultMethod.GREEDY,
        BallotKind.RANKED: ResultMethod.INSTANT_RUNOFF,
        BallotKind.STATEMENTS: ResultMethod.OPINION_GROUPS,
    }.get(kind, ResultMethod.TOTALS)
    defaults: dict[str, object] = {"max_choices": 2} if kind == BallotKind.APPROVAL else {}
    if kind == BallotKind.BUDGETING:
        defaults["budget"] = 100_000
    defaults.update(settings)
    ballot = await service.create_ballot(
        session,
        call,
        BallotInput(
            kind=kind,
            title=f"{kind.value} vote",
            result_method=method,
            options=[
                OptionInput(
                    f"Option {i}", cost=(i + 1) * 20_000 if kind == BallotKind.BUDGETING else None
                )
                for i in range(options)
            ],
            **defaults,
        ),  # type: ignore[arg-type]
        actor=None,
    )
    return await service.open_ballot(session, ballot.id, actor=None)
