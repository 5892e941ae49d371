"""Casting ballots: the rules, one person one ballot under concurrency, and exact tallies."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Database
from server.errors import ValidationFailed
from server.identity.keys import Keys
from server.identity.verification import VerifiedIdentity, attach
from server.votes import casting, service
from server.votes.casting import VotingClosed
from server.votes.eligibility import NotEligible
from server.votes.models import BallotKind, CastBallot, Tally
from tests.factories import make_account, make_persona, now
from tests.votes.factories import make_ballot, make_voting_call

KEYS = Keys(secret=b"s" * 32, identity_pepper=b"p" * 32)


async def _voter(session: AsyncSession, **claims: object):  # type: ignore[no-untyped-def]
    account = await make_account(session)
    if claims:
        identity = VerifiedIdentity(
            method="code", identity_key=KEYS.identity_key("t", f"{account.id}"), claims=dict(claims)
        )
        await attach(session, account, identity, actor=account.id)
    persona = await make_persona(session, account)
    return account, persona


async def _ids(session: AsyncSession, ballot_id: int) -> list[int]:
    return [o.id for o in await service.options_of(session, ballot_id)]


async def test_cast_then_change_keeps_one_ballot_and_counts_changes(session: AsyncSession) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call, BallotKind.APPROVAL, max_choices=2)
    a, b, c, _ = await _ids(session, ballot.id)
    account, persona = await _voter(session)
    await casting.cast(session, ballot.id, account, persona.id, [a, b], now=now())
    assert await casting.tallies(session, ballot.id) == {(a, "count"): 1, (b, "count"): 1}
    second = await make_persona(session, account)  # another persona: still the same person
    row = await casting.cast(session, ballot.id, account, second.id, [c], now=now())
    assert row.changes == 1 and row.content == [c]
    assert await casting.tallies(session, ballot.id) == {(c, "count"): 1}
    assert await casting.turnout(session, ballot.id) == 1


@pytest.mark.parametrize(
    ("kind", "choices", "message"),
    [
        (BallotKind.APPROVAL, lambda o: [o[0], o[1], o[2]], "at most 2"),
        (BallotKind.APPROVAL, lambda o: [o[0], o[0]], "twice"),
        (BallotKind.APPROVAL, lambda o: [999_999], "not part of this vote"),
        (BallotKind.APPROVAL, lambda o: [], "at least one"),
        (BallotKind.RANKED, lambda o: [o[1], o[0], o[1]], "rank an option twice"),
        (BallotKind.BUDGETING, lambda o: [o[2], o[3]], "over the budget"),
        (BallotKind.STATEMENTS, lambda o: {str(o[0]): 5}, "agree, disagree or pass"),
    ],
)
async def test_bad_ballots_are_refused_and_change_nothing(
    session: AsyncSession,
    kind: BallotKind,
    choices,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call, kind)
    options = await _ids(session, ballot.id)
    account, persona = await _voter(session)
    with pytest.raises(ValidationFailed, match=message):
        await casting.cast(session, ballot.id, account, persona.id, choices(options), now=now())
    assert await casting.turnout(session, ballot.id) == 0
    assert await casting.tallies(session, ballot.id) == {}


async def test_outside_the_phase_or_after_closing(session: AsyncSession) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call)
    options = await _ids(session, ballot.id)
    account, persona = await _voter(session)
    with pytest.raises(VotingClosed):
        await casting.cast(
            session, ballot.id, account, persona.id, [options[0]], now=now() + dt.timedelta(days=30)
        )
    await service.close_ballot(session, ballot.id, now=now(), actor=None)
    with pytest.raises(VotingClosed):
        await casting.cast(session, ballot.id, account, persona.id, [options[0]], now=now())


async def test_eligibility_is_checked_when_casting(session: AsyncSession) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(
        session, call, eligibility={"postcode_areas": ["EX", "TR"], "min_age": 16}
    )
    options = await _ids(session, ballot.id)
    unverified, p1 = await _voter(session)
    plymouth, p2 = await _voter(session, postcode_area="PL", over_16=True)
    young, p3 = await _voter(session, postcode_area="EX", birth_year=now().year - 10)
    ok, p4 = await _voter(session, postcode_area="TR", over_16=True)
    for account, persona, reason in (
        (unverified, p1, "postcode area EX or TR"),
        (plymouth, p2, "postcode area EX or TR"),
        (young, p3, "16 or over"),
    ):
        with pytest.raises(NotEligible, match=reason):
            await casting.cast(session, ballot.id, account, persona.id, [options[0]], now=now())
    await casting.cast(session, ballot.id, ok, p4.id, [options[0]], now=now())
    assert await casting.turnout(session, ballot.id) == 1


async def test_someone_elses_persona_is_refused(session: AsyncSession) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call)
    options = await _ids(session, ballot.id)
    account, _ = await _voter(session)
    _, other_persona = await _voter(session)
    with pytest.raises(Exception, match="your own personas"):
        await casting.cast(session, ballot.id, account, other_persona.id, [options[0]], now=now())


async def test_deleted_and_returning_person_cannot_vote_twice(session: AsyncSession) -> None:
    from server.identity import privacy

    call = await make_voting_call(session)
    ballot = await make_ballot(session, call, eligibility={"verified": True})
    a, b, *_ = await _ids(session, ballot.id)
    identity = VerifiedIdentity(
        method="code",
        identity_key=KEYS.identity_key("t", "one-human"),
        claims={"postcode_area": "EX"},
    )
    first = await make_account(session)
    await attach(session, first, identity, actor=None)
    await casting.cast(
        session, ballot.id, first, (await make_persona(session, first)).id, [a], now=now()
    )
    await privacy.delete_account(session, first, remove_contributions=False, now=now())
    again = await make_account(session)
    await attach(session, again, identity, actor=None)
    row = await casting.cast(
        session, ballot.id, again, (await make_persona(session, again)).id, [b], now=now()
    )
    assert row.changes == 1  # the same ballot, changed: not a second one
    assert await casting.turnout(session, ballot.id) == 1
    assert await casting.tallies(session, ballot.id) == {(b, "count"): 1}


async def test_fifty_concurrent_casts_by_one_person_count_once(live_db: Database) -> None:
    """Two personas, many tabs and tokens, all at once: exactly one counted ballot."""
    async with live_db.session() as s, s.begin():
        call = await make_voting_call(s)
        ballot = await make_ballot(s, call, BallotKind.APPROVAL, max_choices=1)
        options = await _ids(s, ballot.id)
        account, first = await _voter(s, postcode_area="EX")
        second = await make_persona(s, account)

    async def attempt(i: int) -> str:
        try:
            async with live_db.session() as s, s.begin():
                persona = first if i % 2 else second
                await casting.cast(s, ballot.id, account, persona.id, [options[i % 4]], now=now())
            return "ok"
        except Exception as exc:  # any failure must leave the data whole; count it
            return type(exc).__name__

    results = await asyncio.gather(*(attempt(i) for i in range(50)))
    async with live_db.session() as s:
        rows = list(await s.scalars(select(CastBallot).where(CastBallot.ballot_id == ballot.id)))
        assert len(rows) == 1
        assert rows[0].changes == results.count("ok") - 1
        assert await casting.tallies(s, ballot.id) == await casting.recount(
            s, await service.get_ballot(s, ballot.id)
        )
        assert sum((await casting.tallies(s, ballot.id)).values()) == 1
        total = await s.scalar(select(func.count()).select_from(CastBallot))
    assert total == 1
    assert results.count("ok") >= 1


async def test_many_people_casting_and_changing_at_once_keep_exact_tallies(
    live_db: Database,
) -> None:
    """40 people (more than the tally shards, so shards are shared) cast, then all change their
    ballots at once, moving counts both ways between the same options: every cast succeeds (no
    deadlock between changes locking shared shards) and the tallies equal a recount."""
    async with live_db.session() as s, s.begin():
        call = await make_voting_call(s)
        ballot = await make_ballot(s, call, BallotKind.APPROVAL, max_choices=2)
        options = await _ids(s, ballot.id)
        voters = [await _voter(s, postcode_area="EX") for _ in range(40)]
    assert len(voters) > casting.TALLY_SHARDS

    async def vote(i: int, choices: list[int]) -> str:
        account, persona = voters[i]
        try:
            async with live_db.session() as s, s.begin():
                await casting.cast(s, ballot.id, account, persona.id, choices, now=now())
            return "ok"
        except Exception as exc:  # counted: the assertion below names what went wrong
            return type(exc).__name__

    a, b, c, d = options[:4]
    first = [[a, b] if i % 2 else [c, d] for i in range(40)]
    second = [[c, d] if i % 2 else [a, b] for i in range(40)]  # everyone swaps
    for round_ in (first, second):
        outcomes = await asyncio.gather(*(vote(i, ch) for i, ch in enumerate(round_)))
        assert outcomes == ["ok"] * 40
    async with live_db.session() as s:
        counted = await casting.tallies(s, ballot.id)
        assert counted == await casting.recount(s, await service.get_ballot(s, ballot.id))
        assert counted == {(a, "count"): 20, (b, "count"): 20, (c, "count"): 20, (d, "count"): 20}
        shards = await s.scalar(
            select(func.count(func.distinct(Tally.shard))).where(Tally.ballot_id == ballot.id)
        )
    assert shards is not None and shards > 1  # the counts really are spread over shards
