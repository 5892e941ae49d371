"""Generating a scale into a database in one transaction (:func:`generate`), removing what was
generated before, and checking that the counters agree with the rows."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg  # type: ignore[import-untyped]

from server.bench.generate.base import (
    EMAIL_DOMAIN,
    REGION_SLUG,
    Plan,
    Writer,
    bump_sequence,
    label,
    raw_dsn,
)
from server.bench.generate.calls import write_calls
from server.bench.generate.events import write_events
from server.bench.generate.ideas import write_comments, write_ideas
from server.bench.generate.people import write_people
from server.bench.generate.votes import write_votes


class AlreadyGenerated(RuntimeError):
    """The database holds generated data at another scale (``reset`` removes it)."""

    def __init__(self, existing: str, wanted: float) -> None:
        super().__init__(
            f"This database already holds generated data ({existing}); refusing to generate "
            f"scale {wanted:g} on top. Run again with --reset to remove the generated rows first."
        )
        self.existing = existing


@dataclass
class Result:
    scale: float
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: bool = False


async def _citext_codec(conn: asyncpg.Connection) -> None:
    """COPY speaks binary; citext's binary form is plain UTF-8 text (textsend/textrecv)."""
    schema = await conn.fetchval(
        "SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE t.typname = 'citext'"
    )
    if schema is not None:
        await conn.set_type_codec(
            "citext",
            schema=schema,
            encoder=lambda value: value.encode(),
            decoder=lambda data: data.decode(),
            format="binary",
        )


async def existing_scale(conn: asyncpg.Connection) -> str | None:
    name: str | None = await conn.fetchval("SELECT name FROM regions WHERE slug = $1", REGION_SLUG)
    return name


async def remove_generated(conn: asyncpg.Connection) -> None:
    """Delete every generated row, and only those."""
    region = await conn.fetchval("SELECT id FROM regions WHERE slug = $1", REGION_SLUG)
    accounts = f"SELECT id FROM accounts WHERE email LIKE '%@{EMAIL_DOMAIN}'"  # noqa: S608
    if region is not None:
        # Calls cascade to phases, ideas (comments, endorsements, outcomes), ballots (options,
        # cast ballots, tallies) and events (venues, registrations).
        await conn.execute("DELETE FROM calls WHERE region_id = $1", region)
    persons = await conn.fetch(
        f"SELECT person_id FROM accounts WHERE id IN ({accounts}) AND person_id IS NOT NULL"  # noqa: S608 - constant
    )
    person_ids = [r["person_id"] for r in persons]
    await conn.execute(
        f"DELETE FROM endorsements WHERE account_id IN ({accounts})"  # noqa: S608 - constant
    )
    await conn.execute(f"DELETE FROM personas WHERE account_id IN ({accounts})")  # noqa: S608
    await conn.execute(f"DELETE FROM accounts WHERE id IN ({accounts})")  # noqa: S608
    if person_ids:
        await conn.execute("DELETE FROM cast_ballots WHERE person_id = ANY($1)", person_ids)
        await conn.execute("DELETE FROM verifications WHERE person_id = ANY($1)", person_ids)
        await conn.execute("DELETE FROM persons WHERE id = ANY($1)", person_ids)
    if region is not None:
        await conn.execute("DELETE FROM organisers WHERE region_id = $1", region)
        await conn.execute("DELETE FROM regions WHERE id = $1", region)


async def generate(
    url: str,
    scale: float,
    *,
    reset: bool = False,
    seed: int = 8,
    now: dt.datetime | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Result:
    """Generate ``scale`` into the (migrated) database at ``url``."""
    plan = Plan.for_scale(scale)
    started = time.perf_counter()
    conn = await asyncpg.connect(raw_dsn(url))
    try:
        await _citext_codec(conn)
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(8008)")
            found = await existing_scale(conn)
            if found is not None:
                if found == label(scale) and not reset:
                    return Result(scale=scale, skipped=True)
                if not reset:
                    raise AlreadyGenerated(found, scale)
                log(f"removing {found.lower()}")
                await remove_generated(conn)
            writer = Writer(conn, log)
            rng = random.Random(seed)  # noqa: S311 - test data, not secrets
            await _write(writer, plan, rng=rng, now=now or dt.datetime.now(dt.UTC))
        # VACUUM as well: bulk-loaded tables are below autovacuum's thresholds at small scales, and
        # without a visibility map counts fall back from index-only scans to reading the table,
        # which would make scale 1 look slower than it is in use.
        await conn.execute("VACUUM (ANALYZE)")
        return Result(scale=scale, rows=writer.rows, seconds=time.perf_counter() - started)
    finally:
        await conn.close()


async def _write(w: Writer, plan: Plan, *, rng: random.Random, now: dt.datetime) -> None:
    calls = await write_calls(w, plan, rng=rng, now=now)
    people = await write_people(w, plan, rng=rng, now=now)
    ideas = await write_ideas(w, plan, calls, people, rng=rng, now=now)
    await write_comments(w, plan, people, ideas, rng=rng)
    await write_votes(w, plan, calls, people, ideas, rng=rng, now=now)
    await write_events(w, plan, calls, people, rng=rng, now=now)

    for table in (
        "regions",
        "organisers",
        "calls",
        "phases",
        "persons",
        "accounts",
        "verifications",
        "personas",
        "ideas",
        "outcomes",
        "endorsements",
        "comments",
        "ballots",
        "ballot_options",
        "cast_ballots",
        "events",
        "venues",
        "registrations",
    ):
        await bump_sequence(w.conn, table)


async def check_counters(conn: asyncpg.Connection) -> dict[str, int]:
    """How many rows disagree with their counters (all zeros when consistent)."""
    return {
        "ideas.endorsement_count": await conn.fetchval(
            "SELECT count(*) FROM ideas i WHERE i.endorsement_count <> "
            "(SELECT count(*) FROM endorsements e WHERE e.idea_id = i.id)"
        ),
        "ideas.comment_count": await conn.fetchval(
            "SELECT count(*) FROM ideas i WHERE i.comment_count <> (SELECT count(*) FROM comments "
            "c WHERE c.idea_id = i.id AND c.deleted_at IS NULL)"
        ),
        "venues.registered": await conn.fetchval(
            "SELECT count(*) FROM venues v WHERE v.registered <> (SELECT count(*) FROM "
            "registrations r WHERE r.venue_id = v.id AND r.status = 'registered')"
        ),
        "ballot_tallies": await conn.fetchval(
            """
            WITH recount AS (
              SELECT cb.ballot_id, x.option_id::int AS option_id, count(*) AS n
              FROM cast_ballots cb JOIN ballots b ON b.id = cb.ballot_id
                AND b.kind IN ('approval', 'support', 'budgeting'),
                jsonb_array_elements_text(cb.content) AS x(option_id)
              GROUP BY 1, 2
            ),
            kept AS (
              SELECT t.ballot_id, t.option_id, sum(t.count) AS count
              FROM ballot_tallies t JOIN ballots b ON b.id = t.ballot_id
                AND b.kind IN ('approval', 'support', 'budgeting') AND t.key = 'count'
              GROUP BY 1, 2
            )
            SELECT count(*) FROM recount r FULL JOIN kept t
              ON t.ballot_id = r.ballot_id AND t.option_id = r.option_id
            WHERE coalesce(r.n, 0) <> coalesce(t.count, 0)
            """
        ),
    }
