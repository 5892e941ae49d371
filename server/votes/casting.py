"""Casting and changing a ballot: one short transaction, one current ballot per person.

The unique constraint on (ballot_id, person_id) decides races: two first casts at once (two
personas, two tabs, two tokens) make one row; the loser then changes it. Tallies move by the
difference between the old and the new content, in option order (so concurrent casts lock rows in
the same order and cannot deadlock).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server import live
from server.calls.models import Phase
from server.errors import Forbidden, ValidationFailed
from server.identity.models import Account
from server.identity.verification import ensure_person, live_verifications
from server.personas.service import usable_persona
from server.votes.eligibility import require_eligible
from server.votes.models import Ballot, BallotKind, BallotOption, BallotStatus, CastBallot, Tally

STATEMENT_KEYS = {1: "agree", -1: "disagree", 0: "pass"}


def topic(ballot_id: int) -> str:
    """The live topic of a vote's running tally (``ballotTally`` subscribers listen on it)."""
    return f"ballot:{ballot_id}"


async def announce(session: AsyncSession, ballot: Ballot, kind: str) -> None:
    """Tell live-tally subscribers, on commit, that the tally (or the vote) changed. Only
    votes that show live results announce anything: a NOTIFY serialises commits briefly, so
    casts on other votes do not pay for it. Ids only, never who voted."""
    if ballot.live_results:
        await live.publish(session, topic(ballot.id), kind=kind)


class VotingClosed(Forbidden):
    code = "VOTING_CLOSED"


def normalise(ballot: Ballot, options: Sequence[BallotOption], raw: Any) -> Any:
    """Check a ballot's content against its kind; returns the canonical stored form."""
    known = {o.id: o for o in options}
    if ballot.kind == BallotKind.STATEMENTS:
        if not isinstance(raw, dict) or not raw:
            raise ValidationFailed("Answer at least one statement.", field="choices")
        answers: dict[str, int] = {}
        for key, value in raw.items():
            if not str(key).isdigit() or int(key) not in known:
                raise ValidationFailed("That statement is not part of this vote.", field="choices")
            if value not in (-1, 0, 1):
                raise ValidationFailed("Answer agree, disagree or pass.", field="choices")
            answers[str(int(key))] = value
        return dict(sorted(answers.items(), key=lambda kv: int(kv[0])))
    if not isinstance(raw, list) or not all(isinstance(i, int) for i in raw):
        raise ValidationFailed("Choose from the options listed.", field="choices")
    if not raw:
        raise ValidationFailed("Choose at least one option.", field="choices")
    if len(set(raw)) != len(raw):
        what = (
            "rank an option twice" if ballot.kind == BallotKind.RANKED else "choose an option twice"
        )
        raise ValidationFailed(f"You cannot {what}.", field="choices")
    if unknown := [i for i in raw if i not in known]:
        raise ValidationFailed(f"Option {unknown[0]} is not part of this vote.", field="choices")
    if ballot.kind == BallotKind.APPROVAL and ballot.max_choices and len(raw) > ballot.max_choices:
        raise ValidationFailed(
            f"Choose at most {ballot.max_choices} options; you chose {len(raw)}.", field="choices"
        )
    if ballot.kind == BallotKind.BUDGETING:
        spent = sum(known[i].cost or 0 for i in raw)
        budget = ballot.budget or 0
        if spent > budget:
            raise ValidationFailed(
                f"Your choices cost £{spent / 100:,.2f}, over the budget of £{budget / 100:,.2f}.",
                field="choices",
            )
    # Order matters only for a ranking.
    return list(raw) if ballot.kind == BallotKind.RANKED else sorted(raw)


def tally_counts(kind: BallotKind, content: Any) -> Counter[tuple[int, str]]:
    """What one ballot adds to the running tallies."""
    if content is None:
        return Counter()
    if kind == BallotKind.STATEMENTS:
        return Counter((int(k), STATEMENT_KEYS[v]) for k, v in content.items())
    if kind == BallotKind.RANKED:
        return Counter({(content[0], "count"): 1})
    return Counter((option, "count") for option in content)


async def _apply(session: AsyncSession, ballot_id: int, delta: dict[tuple[int, str], int]) -> None:
    """Move the running tallies by ``delta``: one statement for what a ballot adds (the common
    case), one per count it takes back (changes only). Rows are touched in option order."""
    gains = [
        {"ballot_id": ballot_id, "option_id": option_id, "key": key, "count": change}
        for (option_id, key), change in sorted(delta.items())
        if change > 0
    ]
    for (option_id, key), change in sorted(delta.items()):
        if change < 0:
            # Taking back what this ballot added earlier: the row exists.
            await session.execute(
                update(Tally)
                .where(Tally.ballot_id == ballot_id, Tally.option_id == option_id, Tally.key == key)
                .values(count=Tally.count + change)
            )
    if gains:
        stmt = insert(Tally).values(gains)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Tally.ballot_id, Tally.option_id, Tally.key],
                set_={"count": Tally.count + stmt.excluded.count},
            )
        )


async def _person_of(session: AsyncSession, account: Account) -> int:
    """Votes key on the person: the verified human, or (for ballots open to any signed-in
    resident) the account's own person record, made on first use."""
    if account.person_id is not None:
        return account.person_id  # the usual case: no lock, no query
    fresh = await session.get(Account, account.id, with_for_update=True)
    assert fresh is not None
    return await ensure_person(session, fresh)


async def cast(
    session: AsyncSession,
    ballot_id: int,
    account: Account,
    persona_id: int,
    choices: Any,
    *,
    now: dt.datetime,
) -> CastBallot:
    """Cast or change the caller's ballot. Raises (and writes nothing) on bad input."""
    # A shared lock: casts run side by side, but closing the vote (FOR UPDATE) waits for the
    # casts in flight, and no cast starts on a vote being closed.
    found = (
        await session.execute(
            select(Ballot, Phase)
            .join(Phase, Phase.id == Ballot.phase_id)
            .where(Ballot.id == ballot_id)
            .with_for_update(read=True, of=Ballot)
        )
    ).first()
    if found is None:
        raise ValidationFailed("There is no such vote.", field="ballot")
    ballot, phase = found
    if ballot.status != BallotStatus.OPEN or not (phase.starts_at <= now < phase.ends_at):
        raise VotingClosed("Voting on this ballot is not open.")
    persona = await usable_persona(session, account, persona_id)
    verifications = (
        await live_verifications(session, account.person_id, now=now) if account.person_id else []
    )
    require_eligible(
        ballot.eligibility, account, verifications, call_id=ballot.call_id, today=now.date()
    )
    options = list(
        await session.scalars(select(BallotOption).where(BallotOption.ballot_id == ballot.id))
    )
    content = normalise(ballot, options, choices)
    person_id = await _person_of(session, account)

    row: CastBallot | None = await session.scalar(
        insert(CastBallot)
        .values(
            ballot_id=ballot.id,
            person_id=person_id,
            persona_id=persona.id,
            content=content,
            cast_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[CastBallot.ballot_id, CastBallot.person_id])
        .returning(CastBallot)
    )
    if row is not None:
        await _apply(session, ballot.id, dict(tally_counts(ballot.kind, content)))
        await announce(session, ballot, "cast")
        return row
    # A ballot exists (perhaps committed a moment ago by a concurrent request): change it.
    existing = await session.scalar(
        select(CastBallot)
        .where(CastBallot.ballot_id == ballot.id, CastBallot.person_id == person_id)
        .with_for_update()
    )
    assert existing is not None
    before = tally_counts(ballot.kind, existing.content)
    after = tally_counts(ballot.kind, content)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in before.keys() | after.keys()}
    await session.execute(
        update(CastBallot)
        .where(CastBallot.id == existing.id)
        .values(
            content=content, persona_id=persona.id, changes=CastBallot.changes + 1, updated_at=now
        )
    )
    await _apply(session, ballot.id, delta)
    await announce(session, ballot, "cast")
    await session.refresh(existing)
    return existing


async def tallies(session: AsyncSession, ballot_id: int) -> dict[tuple[int, str], int]:
    rows = await session.execute(
        select(Tally.option_id, Tally.key, Tally.count).where(Tally.ballot_id == ballot_id)
    )
    return {(o, k): c for o, k, c in rows if c}


async def recount(session: AsyncSession, ballot: Ballot) -> dict[tuple[int, str], int]:
    """The tallies recomputed from every cast ballot: must equal :func:`tallies`."""
    total: Counter[tuple[int, str]] = Counter()
    rows = await session.scalars(
        select(CastBallot.content).where(CastBallot.ballot_id == ballot.id)
    )
    for content in rows:
        total.update(tally_counts(ballot.kind, content))
    return {k: v for k, v in total.items() if v}


async def turnout(session: AsyncSession, ballot_id: int) -> int:
    return (
        await session.scalar(
            select(func.count()).select_from(CastBallot).where(CastBallot.ballot_id == ballot_id)
        )
        or 0
    )
