"""Realistic volumes, fast: ``moot demo generate --scale N``.

Scale 1 is about 1,000 ideas, 20,000 threaded comments with stances, 5,000 verified people
(persons, accounts, verifications, personas), 50,000 cast ballots over ten ballots with matching
``ballot_tallies``, and the calls, phases, events, venues, registrations, endorsements and
outcomes around them; scale 10 is ten times that (fractions such as 0.01 work too). Everything is
written with COPY (asyncpg ``copy_records_to_table``) in one transaction, with ids allocated up
front, so nothing is inserted one row at a time. Counters (``ideas.endorsement_count``,
``ideas.comment_count``, ``venues.registered``, the ballot tallies) are computed from the rows
written, so they agree with them.

Generated rows are marked: the region ``generated`` (which owns every generated call, and so by
cascade every idea, comment, ballot and event) and accounts under ``@generated.invalid``. Running
again at the same scale does nothing; at another scale it refuses unless ``reset`` is given,
which first removes every generated row (and only those).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

REGION_SLUG = "generated"
ORGANISER_SLUG = "generated-council"
EMAIL_DOMAIN = "generated.invalid"
CALLS = 5
BALLOTS_PER_CALL = 2
OPTIONS_PER_BALLOT = 5
VENUES_PER_EVENT = 3
TAGS = ("transport", "housing", "energy", "nature", "culture", "work", "health", "schools")
AREAS = ("Exeter", "Honiton", "Penryn", "Crediton", "Cullompton", "Falmouth", "Truro")
WORDS = [
    "bus",
    "route",
    "library",
    "park",
    "river",
    "school",
    "energy",
    "housing",
    "cycle",
    "path",
    "community",
    "garden",
    "market",
    "street",
    "light",
    "bench",
    "repair",
    "cafe",
    "youth",
    "club",
    "night",
    "service",
    "train",
    "station",
    "harbour",
    "trees",
    "allotment",
    "solar",
    "roof",
    "flood",
    "defence",
    "footpath",
    "square",
    "playground",
    "clinic",
    "broadband",
]
COLOURS = ("#0b4f6c", "#7a306c", "#2e6f40", "#8a4b08", "#3d3b8e", "#6b2737")


class AlreadyGenerated(RuntimeError):
    """The database holds generated data at another scale (``reset`` removes it)."""

    def __init__(self, existing: str, wanted: float) -> None:
        super().__init__(
            f"This database already holds generated data ({existing}); refusing to generate "
            f"scale {wanted:g} on top. Run again with --reset to remove the generated rows first."
        )
        self.existing = existing


@dataclass(frozen=True)
class Plan:
    """How many of each, for a scale."""

    scale: float
    people: int
    ideas: int
    comments: int
    endorsements: int

    @classmethod
    def for_scale(cls, scale: float) -> Plan:
        if not 0 < scale <= 1000:
            raise ValueError("scale must be above 0 and at most 1000")
        return cls(
            scale=scale,
            people=max(10, round(5_000 * scale)),
            ideas=max(CALLS, round(1_000 * scale)),
            comments=round(20_000 * scale),
            endorsements=round(10_000 * scale),
        )

    @property
    def ballots(self) -> int:
        return CALLS * BALLOTS_PER_CALL

    @property
    def cast_ballots(self) -> int:
        # Every person votes in every ballot: 10 x 5,000 = 50,000 at scale 1.
        return self.ballots * self.people


@dataclass
class Result:
    scale: float
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: bool = False


def raw_dsn(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy URL (drops the +asyncpg driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _label(scale: float) -> str:
    return f"Generated data (scale {scale:g})"


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


async def _next_ids(conn: asyncpg.Connection, table: str) -> int:
    """The first free id of ``table`` (ids are given explicitly; sequences are moved after)."""
    value: int = await conn.fetchval(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")  # noqa: S608
    return value


async def _bump_sequence(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our table names
        f"greatest((SELECT max(id) FROM {table}), 1))"
    )


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraphs(rng: random.Random, count: int) -> str:
    return "\n\n".join(
        " ".join(_sentence(rng, rng.randint(8, 16)) for _ in range(rng.randint(2, 4)))
        for _ in range(count)
    )


class _Writer:
    """Collects rows per table and COPYs them, counting what was written."""

    def __init__(self, conn: asyncpg.Connection, log: Callable[[str], None]) -> None:
        self.conn = conn
        self.rows: dict[str, int] = {}
        self.log = log

    async def copy(
        self, table: str, columns: Sequence[str], records: list[tuple[Any, ...]]
    ) -> None:
        if records:
            await self.conn.copy_records_to_table(table, records=records, columns=list(columns))
        self.rows[table] = self.rows.get(table, 0) + len(records)


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
                if found == _label(scale) and not reset:
                    return Result(scale=scale, skipped=True)
                if not reset:
                    raise AlreadyGenerated(found, scale)
                log(f"removing {found.lower()}")
                await remove_generated(conn)
            writer = _Writer(conn, log)
            rng = random.Random(seed)  # noqa: S311 - test data, not secrets
            await _write(writer, plan, rng=rng, now=now or dt.datetime.now(dt.UTC))
        await conn.execute("ANALYZE")
        return Result(scale=scale, rows=writer.rows, seconds=time.perf_counter() - started)
    finally:
        await conn.close()


async def _write(w: _Writer, plan: Plan, *, rng: random.Random, now: dt.datetime) -> None:
    conn = w.conn
    day = dt.timedelta(days=1)

    # --- region, organiser, calls and phases -------------------------------------------------
    region_id = await _next_ids(conn, "regions")
    await w.copy("regions", ("id", "slug", "name"), [(region_id, REGION_SLUG, _label(plan.scale))])
    organiser_id = await _next_ids(conn, "organisers")
    await w.copy(
        "organisers",
        ("id", "slug", "name", "region_id", "website"),
        [(organiser_id, ORGANISER_SLUG, "Generated Council", region_id, None)],
    )
    call0 = await _next_ids(conn, "calls")
    call_ids = [call0 + i for i in range(CALLS)]
    # Ideas (closed), an event day, voting (open now), follow-up: voting is open in every call.
    spans = [
        ("ideas", "Call for ideas", now - 60 * day, now - 20 * day),
        ("event", "Open Ideas Day", now - 20 * day, now - 10 * day),
        ("voting", "Vote", now - 10 * day, now + 20 * day),
        ("follow_up", "Follow-up", now + 20 * day, now + 60 * day),
    ]
    calls, phases = [], []
    phase0 = await _next_ids(conn, "phases")
    voting_phase: dict[int, int] = {}
    for n, call_id in enumerate(call_ids):
        calls.append(
            (
                call_id,
                f"generated-call-{n + 1}",
                f"Generated call {n + 1}: {rng.choice(TAGS)} in {rng.choice(AREAS)}",
                _sentence(rng, 12),
                _paragraphs(rng, 3),
                organiser_id,
                region_id,
                list(rng.sample(TAGS, 3)),
                spans[0][2],
                spans[-1][3],
                now - 61 * day,
            )
        )
        for position, (kind, title, starts, ends) in enumerate(spans):
            phase_id = phase0 + n * len(spans) + position
            if kind == "voting":
                voting_phase[call_id] = phase_id
            phases.append(
                (phase_id, call_id, position, kind, title, _sentence(rng, 10), starts, ends)
            )
    await w.copy(
        "calls",
        (
            "id",
            "slug",
            "title",
            "summary",
            "description",
            "organiser_id",
            "region_id",
            "tags",
            "opens_at",
            "closes_at",
            "created_at",
        ),
        calls,
    )
    await w.copy(
        "phases",
        ("id", "call_id", "position", "kind", "title", "description", "starts_at", "ends_at"),
        phases,
    )

    # --- people: persons, accounts, verifications, personas -----------------------------------
    person0 = await _next_ids(conn, "persons")
    account0 = await _next_ids(conn, "accounts")
    verification0 = await _next_ids(conn, "verifications")
    persona0 = await _next_ids(conn, "personas")
    people = range(plan.people)
    joined = [now - rng.randint(30, 400) * day for _ in people]
    await w.copy("persons", ("id", "created_at"), [(person0 + i, joined[i]) for i in people])
    await w.copy(
        "accounts",
        ("id", "kind", "email", "email_verified_at", "person_id", "created_at"),
        [
            (account0 + i, "full", f"p{i}@{EMAIL_DOMAIN}", joined[i], person0 + i, joined[i])
            for i in people
        ],
    )
    await w.copy(
        "verifications",
        ("id", "person_id", "method", "identity_key", "claims", "verified_at", "created_at"),
        [
            (
                verification0 + i,
                person0 + i,
                "register",
                hashlib.sha256(f"generated:{i}".encode()).hexdigest(),
                json.dumps(
                    {
                        "postcode_area": "EX" if i % 10 else "TR",
                        "birth_year": 1940 + i % 65,
                        "over_16": True,
                    }
                ),
                joined[i],
                joined[i],
            )
            for i in people
        ],
    )
    await w.copy(
        "personas",
        ("id", "account_id", "kind", "display_name", "description", "avatar_colour", "created_at"),
        [
            (
                persona0 + i,
                account0 + i,
                "resident",
                f"Resident {i} of {AREAS[i % len(AREAS)]}",
                "",
                COLOURS[i % len(COLOURS)],
                joined[i],
            )
            for i in people
        ],
    )

    # --- ideas, outcomes, endorsements, comments ---------------------------------------------
    idea0 = await _next_ids(conn, "ideas")
    idea_call = [call_ids[i % CALLS] for i in range(plan.ideas)]
    published = [
        now - dt.timedelta(minutes=rng.randint(60 * 24 * 21, 60 * 24 * 59)) for _ in idea_call
    ]
    statuses = ["open"] * plan.ideas
    outcome_rows: list[tuple[Any, ...]] = []
    outcome0 = await _next_ids(conn, "outcomes")
    outcome_statuses = (
        "under_consideration",
        "accepted",
        "partly_accepted",
        "not_taken_forward",
        "already_happening",
    )
    for i in range(plan.ideas):
        if rng.random() < 0.2:
            statuses[i] = rng.choice(outcome_statuses)
            outcome_rows.append(
                (
                    outcome0 + len(outcome_rows),
                    idea0 + i,
                    statuses[i],
                    _paragraphs(rng, 1),
                    published[i] + 15 * day,
                )
            )

    endorsed: dict[int, set[int]] = {}
    for _ in range(plan.endorsements):
        i = rng.randrange(plan.ideas)
        endorsed.setdefault(i, set()).add(rng.randrange(plan.people))
    comments_of: Counter[int] = Counter(rng.randrange(plan.ideas) for _ in range(plan.comments))

    ideas = []
    for i in range(plan.ideas):
        has_point = rng.random() < 0.3
        ideas.append(
            (
                idea0 + i,
                idea_call[i],
                persona0 + rng.randrange(plan.people),
                _sentence(rng, rng.randint(4, 9))[:-1],
                _paragraphs(rng, rng.randint(1, 3)),
                list(rng.sample(TAGS, rng.randint(0, 3))),
                rng.choice(AREAS) if rng.random() < 0.7 else None,
                Decimal(f"{50.5 + rng.random():.6f}") if has_point else None,
                Decimal(f"{-4.5 + rng.random():.6f}") if has_point else None,
                statuses[i],
                published[i],
                published[i],
                published[i],
                len(endorsed.get(i, ())),
                comments_of[i],
            )
        )
    await w.copy(
        "ideas",
        (
            "id",
            "call_id",
            "author_persona_id",
            "title",
            "body",
            "tags",
            "area",
            "latitude",
            "longitude",
            "status",
            "published_at",
            "created_at",
            "updated_at",
            "endorsement_count",
            "comment_count",
        ),
        ideas,
    )
    await w.copy("outcomes", ("id", "idea_id", "status", "response", "decided_at"), outcome_rows)
    endorsement0 = await _next_ids(conn, "endorsements")
    endorsement_rows: list[tuple[Any, ...]] = []
    for i, who in sorted(endorsed.items()):
        for p in sorted(who):
            endorsement_rows.append(
                (
                    endorsement0 + len(endorsement_rows),
                    idea0 + i,
                    persona0 + p,
                    account0 + p,
                    person0 + p,
                    published[i] + dt.timedelta(hours=rng.randint(1, 400)),
                )
            )
    await w.copy(
        "endorsements",
        ("id", "idea_id", "persona_id", "account_id", "person_id", "created_at"),
        endorsement_rows,
    )

    comment0 = await _next_ids(conn, "comments")
    comment_rows: list[tuple[Any, ...]] = []
    stances = ("for", "against", "neutral", None)
    for i in range(plan.ideas):
        thread: list[tuple[int, int, str]] = []  # (id, depth, path) of this idea's comments
        for k in range(comments_of[i]):
            cid = comment0 + len(comment_rows)
            parent = rng.choice(thread) if thread and rng.random() < 0.5 else None
            if parent is not None and parent[1] >= 5:
                parent = None
            depth = parent[1] + 1 if parent else 0
            segment = f"{cid:010d}"
            path = f"{parent[2]}.{segment}" if parent else segment
            thread.append((cid, depth, path))
            comment_rows.append(
                (
                    cid,
                    idea0 + i,
                    parent[0] if parent else None,
                    persona0 + rng.randrange(plan.people),
                    _paragraphs(rng, 1),
                    rng.choice(stances),
                    depth,
                    path,
                    published[i] + dt.timedelta(minutes=10 * (k + 1)),
                )
            )
    await w.copy(
        "comments",
        (
            "id",
            "idea_id",
            "parent_id",
            "author_persona_id",
            "body",
            "stance",
            "depth",
            "path",
            "created_at",
        ),
        comment_rows,
    )

    # --- ballots, options, cast ballots, tallies ---------------------------------------------
    ballot0 = await _next_ids(conn, "ballots")
    option0 = await _next_ids(conn, "ballot_options")
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
                    _sentence(rng, 14),
                    2,
                    "totals",
                    json.dumps({"verified": True, "postcode_areas": ["EX", "TR"]}),
                    True,
                    False,
                    "published" if published_ballot else "open",
                    now - day if published_ballot else None,
                    now - day if published_ballot else None,
                    now - 11 * day,
                )
            )
            linked = ideas_of_call.get(call_id, [])
            for position in range(OPTIONS_PER_BALLOT):
                option_id = option0 + len(options)
                options_of.setdefault(ballot_id, []).append(option_id)
                idea_id = linked[position] if position < len(linked) else None
                options.append(
                    (option_id, ballot_id, position, idea_id, _sentence(rng, 6)[:-1], "")
                )
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
    cast0 = await _next_ids(conn, "cast_ballots")
    tallies: Counter[tuple[int, int]] = Counter()
    cast_rows: list[tuple[Any, ...]] = []
    for ballot in ballots:
        ballot_id = ballot[0]
        choices = options_of[ballot_id]
        for p in people:
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
            cast0 = await _next_ids(conn, "cast_ballots")
    await _copy_casts(w, cast_rows)
    await w.copy(
        "ballot_tallies",
        ("ballot_id", "option_id", "key", "count"),
        [(b, o, "count", n) for (b, o), n in sorted(tallies.items())],
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

    # --- events, venues, registrations -------------------------------------------------------
    event0 = await _next_ids(conn, "events")
    venue0 = await _next_ids(conn, "venues")
    registration0 = await _next_ids(conn, "registrations")
    events: list[tuple[Any, ...]] = []
    venues: list[tuple[Any, ...]] = []
    registrations: list[tuple[Any, ...]] = []
    capacity = max(5, plan.people // 20)
    for n, call_id in enumerate(call_ids):
        event_id = event0 + n
        starts = now - 15 * day
        events.append(
            (
                event_id,
                call_id,
                "Open Ideas Day",
                _sentence(rng, 12),
                starts,
                starts + dt.timedelta(hours=7),
            )
        )
        taken = [0] * VENUES_PER_EVENT
        attendees = rng.sample(range(plan.people), k=min(plan.people, plan.people // 5))
        for k, p in enumerate(attendees):
            v = k % VENUES_PER_EVENT
            status = "registered" if taken[v] < capacity else "waitlisted"
            taken[v] += status == "registered"
            registrations.append(
                (
                    registration0 + len(registrations),
                    event_id,
                    venue0 + n * VENUES_PER_EVENT + v,
                    account0 + p,
                    persona0 + p,
                    status,
                )
            )
        for v in range(VENUES_PER_EVENT):
            venues.append(
                (
                    venue0 + n * VENUES_PER_EVENT + v,
                    event_id,
                    f"{AREAS[v]} community hall",
                    f"{v + 1} High Street, {AREAS[v]}",
                    capacity,
                    taken[v],
                    "Step-free access, hearing loop.",
                )
            )
    await w.copy(
        "events", ("id", "call_id", "title", "description", "starts_at", "ends_at"), events
    )
    await w.copy(
        "venues",
        ("id", "event_id", "name", "address", "capacity", "registered", "accessibility"),
        venues,
    )
    await w.copy(
        "registrations",
        ("id", "event_id", "venue_id", "account_id", "persona_id", "status"),
        registrations,
    )

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
        await _bump_sequence(conn, table)


async def _copy_casts(w: _Writer, rows: list[tuple[Any, ...]]) -> None:
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
                option_ids = [
                    await conn.fetchval(
                        "INSERT INTO ballot_options (ballot_id, position, title, description) "
                        "VALUES ($1, $2, $3, '') RETURNING id",
                        ballot_id,
                        position,
                        f"Option {position + 1}",
                    )
                    for position in range(OPTIONS_PER_BALLOT)
                ]
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
                    records=[(ballot_id, o, "count", n) for o, n in sorted(tallies.items())],
                    columns=["ballot_id", "option_id", "key", "count"],
                )
                added += len(records)
        await conn.execute("ANALYZE cast_ballots")
        return added
    finally:
        await conn.close()


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
              SELECT t.* FROM ballot_tallies t JOIN ballots b ON b.id = t.ballot_id
                AND b.kind IN ('approval', 'support', 'budgeting') AND t.key = 'count'
            )
            SELECT count(*) FROM recount r FULL JOIN kept t
              ON t.ballot_id = r.ballot_id AND t.option_id = r.option_id
            WHERE coalesce(r.n, 0) <> coalesce(t.count, 0)
            """
        ),
    }
