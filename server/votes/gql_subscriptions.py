"""The votes domain's subscription: ``ballotTally``, a vote's live results while voting is open
(when its organiser shows them), fed by the casts' notifications (``server.live``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator

import strawberry
from strawberry import relay

from server import live
from server.api.context import Info
from server.errors import Forbidden, NotFound
from server.votes import casting, results
from server.votes.gql_types import Ballot, TallyEntry
from server.votes.models import Ballot as BallotRow
from server.votes.models import BallotStatus
from server.web import now


@strawberry.type(
    description="A vote's live results at one moment: sent when you subscribe to `ballotTally` "
    "and again after each ballot cast."
)
class BallotTally:
    ballot: Ballot = strawberry.field(description="The vote.")
    turnout: int = strawberry.field(description="How many people have voted so far.")
    tally: list[TallyEntry] = strawberry.field(
        description="The running tally, by option number then key (as `Ballot.liveTally`)."
    )
    at: dt.datetime = strawberry.field(description="When these figures were read.")


class LiveResultsOff(Forbidden):
    code = "LIVE_RESULTS_OFF"
    default_message = "This vote does not show live results."


async def _read_tally(info: Info, ballot_id: int) -> BallotTally | None:
    """The vote's figures now, or None once it no longer shows live results."""
    async with info.context.db.session() as session:
        row = await session.get(BallotRow, ballot_id)
        if row is None or not results.show_live(row):
            return None
        rows = await session.execute(casting.summed([ballot_id]))
        entries = [
            TallyEntry(option_number=option_id, key=key, count=count)
            for _, option_id, key, count in rows
        ]
        turnout = await casting.turnout(session, ballot_id)
    info.context.refresh(now())
    return BallotTally(ballot=Ballot.from_row(row), turnout=turnout, tally=entries, at=now())


async def _tallies(info: Info, ballot_id: int) -> AsyncGenerator[BallotTally, None]:
    """Listen first, then read: a cast committed in between is in the first figures or in a
    later message. A burst of casts is answered with one fresh read. Ends (completes) when the
    vote closes; leaving the ``async with`` drops the broker subscription."""
    broker = live.broker_for(info.context.request.app)
    async with broker.subscribe(casting.topic(ballot_id)) as sub:
        current = await _read_tally(info, ballot_id)
        while current is not None:
            yield current
            try:
                message = await sub.get(wait=LIVE_WAIT)
                while message is None:
                    message = await sub.get(wait=LIVE_WAIT)
                sub.drain()
            except live.SubscriptionClosed:
                return
            current = await _read_tally(info, ballot_id)


LIVE_WAIT = 30.0  # seconds a subscription waits for news before checking in again


@strawberry.type
class VotesSubscription:
    """Subscriptions of this domain (mixed into the schema's Subscription)."""

    @strawberry.subscription(
        description="A vote's live results: the current tally at once, then a fresh one after "
        "each ballot cast, until voting closes (then the subscription completes). Only for "
        "votes whose organiser shows live results while voting is open; otherwise refused "
        "with `LIVE_RESULTS_OFF`. Anyone may listen."
    )
    async def ballot_tally(
        self, info: Info, ballot_id: relay.GlobalID
    ) -> AsyncIterator[BallotTally]:
        if ballot_id.type_name != "Ballot" or not ballot_id.node_id.isdigit():
            raise NotFound("There is no such vote.", field="ballot_id")
        pk = int(ballot_id.node_id) if len(ballot_id.node_id) <= 18 else 0
        async with info.context.db.session() as session:
            row = await session.get(BallotRow, pk)
        if row is None or row.status == BallotStatus.DRAFT:
            raise NotFound("There is no such vote.", field="ballot_id")
        if not results.show_live(row):
            if row.status == BallotStatus.OPEN:
                raise LiveResultsOff(
                    "This vote does not show live results: its organiser publishes the result "
                    "after voting closes (`Ballot.result`).",
                    field="ballot_id",
                )
            raise LiveResultsOff(
                "Voting has closed, so there are no live results: read the published result "
                "(`Ballot.result`) once it is out.",
                field="ballot_id",
            )
        return _tallies(info, pk)
