"""Ballots with their options, cast ballots (every person in every ballot) and matching
``ballot_tallies``; and, for the open-data streaming workload, more published ballots
(:func:`add_published_casts`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections import Counter
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from server.bench.generate.base import (
    BALLOTS_PER_CALL,
    DAY,
    EMAIL_DOMAIN,
    OPTIONS_PER_BALLOT,
    Plan,
    Writer,
    next_ids,
    raw_dsn,
    sentence,
)
from server.bench.generate.calls import Calls
from server.bench.generate.ideas import Ideas
from server.bench.generate.people import People


async def write_votes(
    w: Writer,
    plan: Plan,
    calls: Calls,
    people: People,
    ideas: Ideas,
    *,
    rng: random.Random,
    now: dt.datetime,
) -> None:
    conn = w.conn
    call_ids, voting_phase = calls.ids, calls.voting_phase
    person0, persona0 = people.person0, people.persona0
    idea0, idea_call = ideas.idea0, ideas.call_of
    ballot0 = await next_ids(conn, "ballots")
    option0 = await next_ids(conn, "ballot_options")
    ballots: list[tuple[Any, ...]] = []
    options: list[tuple[Any, ...]] = []
    options_of: dict[int, list[int]] = {}
    ideas_of_call: dict[int, list[int]] = {}
    for i, call_id in enumerate(idea_call):
        ideas_of_call.setdefault(call_id, []).append(idea0 + i)
    for n, call_id in enumerate(call_ids):
        for b in range(BALLOTS_PER_CALL):
            ballot_id = ballot0 + n * BALLOTS_PER_CALL + b
            published_ballot = b == 0
            ballots.append(
                (
                    ballot_id,
                    call_id,
                    voting_phase[call_id],
                    "approval",
                    f"Which ideas should go forward? (vote {b + 1})",
                    sentence(rng, 14),
                    2,
                    "totals",
                    json.dumps({"verified": True, "postcode_areas": ["EX", "TR"]}),
                    True,
                    False,
                    "published" if published_ballot else "open",
                    now - DAY if published_ballot else None,
                    now - DAY if published_ballot else None,
                    now - 11 * DAY,
                )
            )
            linked = ideas_of_call.get(call_id, [])
            for position in range(OPTIONS_PER_BALLOT):
                option_id = option0 + len(options)
                options_of.setdefault(ballot_id, []).append(option_id)
                idea_id = linked[position] if position < len(linked) else None
                options.append((option_id, ballot_id, position, idea_id, sentence(rng, 6)[:-1], ""))
    await w.copy(
        "ballots",
        (
            "id",
            "call_id",
            "phase_id",
            "kind",
            "title",
            "description",
            "max_choices",
            "result_method",
            "eligibility",
            "secret",
            "live_results",
            "status",
            "closed_at",
            "published_at",
            "created_at",
        ),
        ballots,
    )
    await w.copy(
        "ballot_options",
        ("id", "ballot_id", "position", "idea_id", "title", "description"),
        options,
    )
    cast0 = await next_ids(conn, "cast_ballots")
    tallies: Counter[tuple[int, int]] = Counter()
    cast_rows: list[tuple[Any, ...]] = []
    for ballot in ballots:
        ballot_id = ballot[0]
        choices = options_of[ballot_id]
        for p in range(plan.people):
            content = sorted(rng.sample(choices, rng.randint(1, 2)))
            for option_id in content:
                tallies[(ballot_id, option_id)] += 1
            at = now - dt.timedelta(minutes=rng.randint(1, 60 * 24 * 9))
            cast_rows.append(
                (
                    cast0 + len(cast_rows),
                    ballot_id,
                    person0 + p,
                    persona0 + p,
                    json.dumps(content),
                    0,
                    at,
                    at,
                )
            )
        if len(cast_rows) >= 200_000:
            await _copy_casts(w, cast_rows)
            cast_rows = []
            cast0 = await next_ids(conn, "cast_ballots")
    await _copy_casts(w, cast_rows)
    # Bulk-loaded totals go to shard 0: a tally is the sum of its shards, whichever they are.
    await w.copy(
        "ballot_tallies",
        ("ballot_id", "option_id", "key", "shard", "count"),
        [(b, o, "count", 0, n) for (b, o), n in sorted(tallies.items())],
    )
    # Published ballots carry their result, as the results service would have frozen it.
    for ballot in ballots:
        if ballot[11] == "published":
            result = {str(o): tallies[(ballot[0], o)] for o in options_of[ballot[0]]}
            await conn.execute(
                "UPDATE ballots SET result = $2::jsonb, export_sha256 = $3 WHERE id = $1",
                ballot[0],
                json.dumps({"method": "totals", "totals": result}),
                hashlib.sha256(json.dumps(result).encode()).hexdigest(),
            )


async def _copy_casts(w: Writer, rows: list[tuple[Any, ...]]) -> None:
    await w.copy(
        "cast_ballots",
        (
            "id",
            "ballot_id",
            "person_id",
            "persona_id",
            "content",
            "changes",
            "cast_at",
            "updated_at",
        ),
        rows,
    )


async def add_options(conn: asyncpg.Connection, ballot_id: int, count: int) -> list[int]:
    """Add ``count`` options ("Option 1", "Option 2", ...) to a ballot; their ids, in order."""
    return [
        await conn.fetchval(
            "INSERT INTO ballot_options (ballot_id, position, title, description) "
            "VALUES ($1, $2, $3, '') RETURNING id",
            ballot_id,
            position,
            f"Option {position + 1}",
        )
        for position in range(count)
    ]


async def add_published_casts(url: str, rows: int, *, seed: int = 9) -> int:
    """Add about ``rows`` cast ballots to new published ballots of the generated calls, for the
    open-data streaming workload (each ballot takes every generated person once). Returns the
    number added. Tallies are written to match."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    conn = await asyncpg.connect(raw_dsn(url))
    try:
        async with conn.transaction():
            people = await conn.fetch(
                "SELECT a.person_id, p.id AS persona_id FROM accounts a "  # noqa: S608
                "JOIN personas p ON p.account_id = a.id "
                f"WHERE a.email LIKE '%@{EMAIL_DOMAIN}' ORDER BY a.id"
            )
            template = await conn.fetchrow(
                "SELECT b.call_id, b.phase_id FROM ballots b JOIN calls c ON c.id = b.call_id "
                "WHERE c.slug = 'generated-call-1' LIMIT 1"
            )
            if not people or template is None:
                raise RuntimeError("generate the data first")
            ballots = -(-rows // len(people))
            now = dt.datetime.now(dt.UTC)
            added = 0
            for _ in range(ballots):
                ballot_id = await conn.fetchval(
                    "INSERT INTO ballots (call_id, phase_id, kind, title, description, max_choices,"
                    " result_method, eligibility, secret, live_results, status, closed_at,"
                    " published_at) VALUES ($1, $2, 'approval', 'Bulk published vote', '', 2,"
                    " 'totals', '{}', true, false, 'published', $3, $3) RETURNING id",
                    template["call_id"],
                    template["phase_id"],
                    now,
                )
                option_ids = await add_options(conn, ballot_id, OPTIONS_PER_BALLOT)
                tallies: Counter[int] = Counter()
                records = []
                for person in people[: rows - added]:
                    content = sorted(rng.sample(option_ids, rng.randint(1, 2)))
                    tallies.update(content)
                    records.append(
                        (
                            ballot_id,
                            person["person_id"],
                            person["persona_id"],
                            json.dumps(content),
                            0,
                            now,
                            now,
                        )
                    )
                await conn.copy_records_to_table(
                    "cast_ballots",
                    records=records,
                    columns=[
                        "ballot_id",
                        "person_id",
                        "persona_id",
                        "content",
                        "changes",
                        "cast_at",
                        "updated_at",
                    ],
                )
                await conn.copy_records_to_table(
                    "ballot_tallies",
                    records=[(ballot_id, o, "count", 0, n) for o, n in sorted(tallies.items())],
                    columns=["ballot_id", "option_id", "key", "shard", "count"],
                )
                added += len(records)
        await conn.execute("ANALYZE cast_ballots")
        return added
    finally:
        await conn.close()
