"""DataLoaders of the voting domain: one query per batch, whatever the number of votes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, tuple_
from strawberry.dataloader import DataLoader

from server.db import Database
from server.ideas.listing import listed
from server.ideas.models import Idea
from server.loaders import by_id, many_by
from server.votes import casting
from server.votes.models import Ballot, BallotOption, BallotStatus, CastBallot


def ballot_by_id(db: Database) -> DataLoader[int, Ballot | None]:
    return by_id(db, Ballot)


def option_by_id(db: Database) -> DataLoader[int, BallotOption | None]:
    return by_id(db, BallotOption)


def options_by_ballot(db: Database) -> DataLoader[int, list[BallotOption]]:
    return many_by(db, BallotOption, BallotOption.ballot_id, [BallotOption.position])


def public_ballots_by_call(db: Database) -> DataLoader[int, list[Ballot]]:
    """The votes of each call that are not drafts, in the order they were made."""
    return many_by(
        db,
        Ballot,
        Ballot.call_id,
        [Ballot.id],
        where=lambda: Ballot.status != BallotStatus.DRAFT,
    )


def turnout_by_ballot(db: Database) -> DataLoader[int, int]:
    async def load(ids: Sequence[int]) -> list[int]:
        async with db.session() as session:
            rows = await session.execute(
                select(CastBallot.ballot_id, func.count())
                .where(CastBallot.ballot_id.in_(ids))
                .group_by(CastBallot.ballot_id)
            )
            found = {b: n for b, n in rows}
        return [found.get(i, 0) for i in ids]

    return DataLoader(load_fn=load)


def changes_by_ballot(db: Database) -> DataLoader[int, int]:
    async def load(ids: Sequence[int]) -> list[int]:
        async with db.session() as session:
            rows = await session.execute(
                select(CastBallot.ballot_id, func.sum(CastBallot.changes))
                .where(CastBallot.ballot_id.in_(ids))
                .group_by(CastBallot.ballot_id)
            )
            found = {b: int(n or 0) for b, n in rows}
        return [found.get(i, 0) for i in ids]

    return DataLoader(load_fn=load)


@dataclass(frozen=True, slots=True)
class TallyCount:
    option_id: int
    key: str
    count: int


def tallies_by_ballot(db: Database) -> DataLoader[int, list[TallyCount]]:
    """A vote's running tallies (its shards added up), by option then key."""

    async def load(ids: Sequence[int]) -> list[list[TallyCount]]:
        found: dict[int, list[TallyCount]] = {i: [] for i in ids}
        async with db.session() as session:
            for ballot_id, option_id, key, count in await session.execute(casting.summed(ids)):
                found[ballot_id].append(TallyCount(option_id, key, count))
        return [found[i] for i in ids]

    return DataLoader(load_fn=load)


def cast_by_person_ballot(db: Database) -> DataLoader[tuple[int, int], CastBallot | None]:
    """The one current ballot of a person in a vote, keyed by (person id, ballot id)."""

    async def load(keys: Sequence[tuple[int, int]]) -> list[CastBallot | None]:
        found: dict[tuple[int, int], CastBallot] = {}
        async with db.session() as session:
            rows = await session.scalars(
                select(CastBallot).where(
                    tuple_(CastBallot.person_id, CastBallot.ballot_id).in_(list(keys))
                )
            )
            for row in rows:
                found[(row.person_id, row.ballot_id)] = row
        return [found.get(k) for k in keys]

    return DataLoader(load_fn=load)


def visible_idea_by_id(db: Database) -> DataLoader[int, Idea | None]:
    """Ideas behind options, when they are still visible (published, not hidden)."""

    async def load(ids: Sequence[int]) -> list[Idea | None]:
        async with db.session() as session:
            rows = await session.scalars(select(Idea).where(Idea.id.in_(ids), *listed()))
            found = {row.id: row for row in rows}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)
