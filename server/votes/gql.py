"""Votes in the API: ballots with their options, rules, turnout, live tallies (when the vote
allows), the published result, the caller's own ballot; casting, and organisers' mutations.

The domain's GraphQL is split by responsibility: the object types in ``gql_types``, the mutations
in ``gql_mutations``, the ``ballotTally`` subscription in ``gql_subscriptions``. This module holds
the root query field and ``ballots_of_call``, and re-exports what the schema (and the other
domains' lazy references) take from here."""

from __future__ import annotations

import strawberry
from strawberry import relay

from server.api.context import Info
from server.votes import loaders
from server.votes.gql_mutations import VotesMutations
from server.votes.gql_subscriptions import BallotTally, VotesSubscription
from server.votes.gql_types import (
    Ballot,
    BallotOption,
    BallotResult,
    MyVote,
    ResultStep,
    TallyEntry,
)
from server.votes.models import BallotStatus

__all__ = [
    "Ballot",
    "BallotOption",
    "BallotResult",
    "BallotTally",
    "MyVote",
    "ResultStep",
    "TallyEntry",
    "VotesMutations",
    "VotesQuery",
    "VotesSubscription",
    "ballots_of_call",
]


@strawberry.type
class VotesQuery:
    """Root query fields of this domain (mixed into the schema's Query)."""

    @strawberry.field(description="A vote by its id, or null (drafts are not public).")
    async def ballot(self, info: Info, id: relay.GlobalID) -> Ballot | None:
        if id.type_name != "Ballot" or not id.node_id.isdigit() or len(id.node_id) > 18:
            return None
        row = await info.context.loaders.get(loaders.ballot_by_id).load(int(id.node_id))
        if row is None or row.status == BallotStatus.DRAFT:
            return None
        return Ballot.from_row(row)


async def ballots_of_call(info: Info, call_id: int) -> list[Ballot]:
    """The votes of a call (drafts left out), for ``Call.ballots``."""
    rows = await info.context.loaders.get(loaders.public_ballots_by_call).load(call_id)
    return [Ballot.from_row(r) for r in rows]
