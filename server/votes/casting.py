"""Casting and changing a ballot: one short transaction, one current ballot per person.

The unique constraint on (ballot_id, person_id) decides races: two first casts at once (two
personas, two tabs, two tokens) make one row; the loser then changes it. Tallies move by the
difference between the old and the new content, in option order (so concurrent casts lock rows in
the same order and cannot deadlock).

Casting is the hot path of a vote that closes with a rush, so it is a fixed number of round
trips whatever the vote: one read of everything the rules need (under a shared lock on the vote),
one statement that records the ballot and moves the tallies, then the commit (a change takes two
more: it locks the ballot being replaced, and the tallies it moves). The statements are built once.
Each person's counts go to one of :data:`TALLY_SHARDS` rows per option and key, so concurrent
casts by different people seldom wait for each other's row locks; readers add the shards up.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, literal, select, text
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from server import live
from server.calls.models import Phase
from server.errors import Forbidden, NotFound, ValidationFailed
from server.identity.models import Account, Verification
from server.identity.verification import ensure_person, is_live
from server.personas.models import Persona
from server.personas.service import require_usable
from server.votes.eligibility import require_eligible
from server.votes.models import Ballot, BallotKind, BallotOption, BallotStatus, CastBallot, Tally

STATEMENT_KEYS = {1: "agree", -1: "disagree", 0: "pass"}


def topic(ballot_id: int) -> str:
    """The live topic of a vote's running tally (``ballotTally`` subscribers listen on it)."""
    return f"ballot:{ballot_id}"


async def announce(session: AsyncSession, ballot_id: int, kind: str) -> None:
    """Tell live-tally subscribers, on commit, that the tally (or the vote) changed. Call it
    only for votes that show live results: a NOTIFY serialises commits briefly, so casts on
    other votes should not pay for it. Ids only, never who voted."""
    await live.publish(session, topic(ballot_id), kind=kind)


class VotingClosed(Forbidden):
    code = "VOTING_CLOSED"


TALLY_SHARDS = 16


def shard_of(person_id: int) -> int:
    return person_id % TALLY_SHARDS


@dataclass(frozen=True)
class Rules:
    """What a vote's kind and limits say about a ballot's content."""

    kind: BallotKind
    costs: Mapping[int, int | None]  # option number -> cost (budgeting), for every option
    max_choices: int | None = None
    budget: int | None = None


@dataclass(frozen=True)
class Cast:
    """A ballot as counted after casting."""

    id: int
    content: Any
    changes: int
    cast_at: dt.datetime
    updated_at: dt.datetime
    persona_id: int | None


def normalise(rules: Rules, raw: Any) -> Any:
    """Check a ballot's content against its kind; returns the canonical stored form."""
    known = rules.costs
    if rules.kind == BallotKind.STATEMENTS:
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
            "rank an option twice" if rules.kind == BallotKind.RANKED else "choose an option twice"
        )
        raise ValidationFailed(f"You cannot {what}.", field="choices")
    if unknown := [i for i in raw if i not in known]:
        raise ValidationFailed(f"Option {unknown[0]} is not part of this vote.", field="choices")
    if rules.kind == BallotKind.APPROVAL and rules.max_choices and len(raw) > rules.max_choices:
        raise ValidationFailed(
            f"Choose at most {rules.max_choices} options; you chose {len(raw)}.", field="choices"
        )
    if rules.kind == BallotKind.BUDGETING:
        spent = sum(known[i] or 0 for i in raw)
        budget = rules.budget or 0
        if spent > budget:
            raise ValidationFailed(
                f"Your choices cost £{spent / 100:,.2f}, over the budget of £{budget / 100:,.2f}.",
                field="choices",
            )
    # Order matters only for a ranking.
    return list(raw) if rules.kind == BallotKind.RANKED else sorted(raw)


def tally_counts(kind: BallotKind, content: Any) -> Counter[tuple[int, str]]:
    """What one ballot adds to the running tallies."""
    if content is None:
        return Counter()
    if kind == BallotKind.STATEMENTS:
        return Counter((int(k), STATEMENT_KEYS[v]) for k, v in content.items())
    if kind == BallotKind.RANKED:
        return Counter({(content[0], "count"): 1})
    return Counter((option, "count") for option in content)


def _columns(delta: Mapping[tuple[int, str], int]) -> dict[str, list[Any]]:
    """A tally delta as the three arrays the statements unnest, in lock order."""
    items = sorted((k, v) for k, v in delta.items() if v)
    return {
        "option_ids": [option for (option, _), _ in items],
        "keys": [key for (_, key), _ in items],
        "counts": [count for _, count in items],
    }


_ballots = Ballot.__table__.c
_phases = Phase.__table__.c
_personas = Persona.__table__.c
_verifications = Verification.__table__.c
_options = BallotOption.__table__.c

# Everything the rules need, in one round trip. FOR SHARE: casts run side by side, but closing
# the vote (FOR UPDATE) waits for the casts in flight, and no cast starts on a vote being closed.
_FACTS = (
    select(
        _ballots.kind,
        _ballots.status,
        _ballots.eligibility,
        _ballots.call_id,
        _ballots.max_choices,
        _ballots.budget,
        _ballots.live_results,
        _phases.starts_at,
        _phases.ends_at,
        select(_personas.account_id)
        .where(_personas.id == bindparam("persona_id"))
        .scalar_subquery()
        .label("persona_owner"),
        select(_personas.archived_at.is_not(None))
        .where(_personas.id == bindparam("persona_id"))
        .scalar_subquery()
        .label("persona_archived"),
        select(
            func.coalesce(
                func.jsonb_agg(
                    aggregate_order_by(_verifications.claims, _verifications.verified_at)
                ),
                literal([], JSONB),
                type_=JSONB,
            )
        )
        .where(_verifications.person_id == bindparam("person_id"), is_live(bindparam("now")))
        .scalar_subquery()
        .label("claims"),
        select(func.jsonb_object_agg(_options.id, _options.cost, type_=JSONB))
        .where(_options.ballot_id == _ballots.id)
        .scalar_subquery()
        .label("costs"),
    )
    .join_from(Ballot.__table__, Phase.__table__, _phases.id == _ballots.phase_id)
    .where(_ballots.id == bindparam("ballot_id"))
    .with_for_update(read=True, of=Ballot.__table__)
)


# A first ballot and what it adds to the tallies, in one statement; nothing when the person
# has a ballot already (the caller then changes it).
_FIRST = (
    text(
        """
WITH cast_row AS (
    INSERT INTO cast_ballots
        (ballot_id, person_id, persona_id, content, changes, cast_at, updated_at)
    VALUES (:ballot_id, :person_id, :persona_id, :content, 0, :now, :now)
    ON CONFLICT (ballot_id, person_id) DO NOTHING
    RETURNING id, content, changes, cast_at, updated_at, persona_id
), counted AS (
    INSERT INTO ballot_tallies AS t (ballot_id, option_id, key, shard, count)
    SELECT :ballot_id, d.option_id, d.key, :shard, d.count
    FROM unnest(
        CAST(:option_ids AS integer[]), CAST(:keys AS text[]), CAST(:counts AS integer[])
    ) AS d (option_id, key, count)
    WHERE EXISTS (SELECT FROM cast_row)
    ORDER BY d.option_id, d.key
    ON CONFLICT (ballot_id, option_id, key, shard) DO UPDATE SET count = t.count + EXCLUDED.count
)
SELECT id, content, changes, cast_at, updated_at, persona_id FROM cast_row
"""
    )
    .bindparams(bindparam("content", type_=JSONB))
    .columns(content=JSONB)
)

_CURRENT = text(
    "SELECT id, content FROM cast_ballots WHERE ballot_id = :ballot_id AND person_id = :person_id "
    "FOR UPDATE"
).columns(content=JSONB)

# The shard's rows of this vote, locked in the order every cast locks them.
_LOCK_SHARD = text(
    "SELECT 1 FROM ballot_tallies WHERE ballot_id = :ballot_id AND shard = :shard "
    "ORDER BY option_id, key FOR UPDATE"
)

# A changed ballot and the tallies moved by the difference. Counts taken back are UPDATEs: the
# rows exist (this person added to them), and an upsert would check its negative proposed row
# against count >= 0 before resolving the conflict.
_CHANGE = (
    text(
        """
WITH cast_row AS (
    UPDATE cast_ballots
    SET content = :content, persona_id = :persona_id, changes = changes + 1, updated_at = :now
    WHERE id = :cast_id
    RETURNING id, content, changes, cast_at, updated_at, persona_id
), delta AS (
    SELECT * FROM unnest(
        CAST(:option_ids AS integer[]), CAST(:keys AS text[]), CAST(:counts AS integer[])
    ) AS d (option_id, key, count)
), taken AS (
    UPDATE ballot_tallies AS t SET count = t.count + d.count
    FROM delta AS d
    WHERE d.count < 0 AND t.ballot_id = :ballot_id AND t.shard = :shard
        AND t.option_id = d.option_id AND t.key = d.key
), added AS (
    INSERT INTO ballot_tallies AS t (ballot_id, option_id, key, shard, count)
    SELECT :ballot_id, d.option_id, d.key, :shard, d.count FROM delta AS d WHERE d.count > 0
    ORDER BY d.option_id, d.key
    ON CONFLICT (ballot_id, option_id, key, shard) DO UPDATE SET count = t.count + EXCLUDED.count
)
SELECT id, content, changes, cast_at, updated_at, persona_id FROM cast_row
"""
    )
    .bindparams(bindparam("content", type_=JSONB))
    .columns(content=JSONB)
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
    convert: Callable[[BallotKind, Any], Any] | None = None,
) -> Cast:
    """Cast or change the caller's ballot. Raises (and writes nothing) on bad input.
    ``convert`` turns ``choices`` into option numbers once the vote's kind is known (the API
    takes option ids too)."""
    conn = await session.connection()
    facts = (
        await conn.execute(
            _FACTS,
            {
                "ballot_id": ballot_id,
                "persona_id": persona_id,
                "person_id": account.person_id,
                "now": now,
            },
        )
    ).first()
    if facts is None or facts.status == BallotStatus.DRAFT:
        raise NotFound("There is no such vote.")
    if facts.status != BallotStatus.OPEN or not (facts.starts_at <= now < facts.ends_at):
        raise VotingClosed("Voting on this ballot is not open.")
    require_usable(account, facts.persona_owner, archived=bool(facts.persona_archived))
    require_eligible(
        facts.eligibility, account, facts.claims, call_id=facts.call_id, today=now.date()
    )
    kind = BallotKind(facts.kind)
    rules = Rules(
        kind, {int(k): v for k, v in (facts.costs or {}).items()}, facts.max_choices, facts.budget
    )
    content = normalise(rules, convert(kind, choices) if convert else choices)
    person_id = await _person_of(session, account)
    params = {
        "ballot_id": ballot_id,
        "person_id": person_id,
        "persona_id": persona_id,
        "content": content,
        "now": now,
        "shard": shard_of(person_id),
    }
    added = tally_counts(kind, content)
    row = (await conn.execute(_FIRST, {**params, **_columns(added)})).first()
    if row is None:
        # A ballot exists (perhaps committed a moment ago by a concurrent request): change it.
        current = (await conn.execute(_CURRENT, params)).one()
        before = tally_counts(kind, current.content)
        delta = {k: added.get(k, 0) - before.get(k, 0) for k in before.keys() | added.keys()}
        await conn.execute(_LOCK_SHARD, params)
        row = (
            await conn.execute(_CHANGE, {**params, "cast_id": current.id, **_columns(delta)})
        ).one()
    if facts.live_results:
        await announce(session, ballot_id, "cast")
    return Cast(**row._mapping)


def summed(ballot_ids: Any) -> Select[int, int, str, int]:
    """The running tallies of votes, the shards added up: (ballot id, option, key, count)."""
    return (
        select(Tally.ballot_id, Tally.option_id, Tally.key, func.sum(Tally.count).cast(Integer))
        .where(Tally.ballot_id.in_(ballot_ids))
        .group_by(Tally.ballot_id, Tally.option_id, Tally.key)
        .order_by(Tally.ballot_id, Tally.option_id, Tally.key)
    )


async def tallies(session: AsyncSession, ballot_id: int) -> dict[tuple[int, str], int]:
    rows = await session.execute(summed([ballot_id]))
    return {(o, k): c for _, o, k, c in rows if c}


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
