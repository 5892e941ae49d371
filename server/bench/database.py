"""PostgreSQL for a benchmark run: the private cluster and a database per scale, the rows the
workloads need (a ballot, bearer tokens), and what is read back from the database (statements
per request, cast ballots)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from server.bench import generate as gen
from server.bench.generate.votes import add_options
from server.pg import Cluster
from server.settings import Settings

# --- PostgreSQL ------------------------------------------------------------------------------


# PostgreSQL's memory as deployed (deploy/k8s/base/database.yaml; a test keeps them equal): with
# the development cluster's 128 MB, the scale-10 data no longer fits and the benchmark would
# measure the operating system's page cache instead of Moot.
PRODUCTION_PARAMETERS = {"shared_buffers": "512MB"}


@contextlib.contextmanager
def bench_cluster(root: Path) -> Iterator[Cluster]:
    cluster = Cluster.at(root)
    cluster.init()
    conf = cluster.data_dir / "postgresql.conf"
    text = conf.read_text()
    if "pg_stat_statements" not in text:
        with conf.open("a") as f:
            f.write(
                "\n# Moot benchmarks: count statements per request.\n"
                "shared_preload_libraries = 'pg_stat_statements'\n"
                "pg_stat_statements.track_utility = on\n"
            )
    wanted = "".join(f"{k} = {v}\n" for k, v in PRODUCTION_PARAMETERS.items())
    if wanted not in text:
        with conf.open("a") as f:  # later lines win over the development defaults above
            f.write("\n# Moot benchmarks: production memory settings.\n" + wanted)
    started = cluster.start(fast=True)
    try:
        yield cluster
    finally:
        if started:
            cluster.stop()


async def admin(cluster: Cluster, sql: str) -> None:
    await admin_db(cluster.url("postgres"), sql)


async def admin_db(url: str, sql: str) -> None:
    conn = await asyncpg.connect(gen.raw_dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fresh_database(cluster: Cluster, name: str) -> str:
    await admin(cluster, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(cluster, f'CREATE DATABASE "{name}"')
    return cluster.url(name)


# --- fixtures for the workloads --------------------------------------------------------------


async def make_ballot(conn: asyncpg.Connection, title: str) -> tuple[int, list[int]]:
    call = await conn.fetchrow(
        "SELECT b.call_id, b.phase_id, b.eligibility FROM ballots b JOIN calls c ON "
        "c.id = b.call_id WHERE c.slug = 'generated-call-1' AND b.status = 'open' LIMIT 1"
    )
    ballot_id = await conn.fetchval(
        "INSERT INTO ballots (call_id, phase_id, kind, title, description, max_choices, "
        "result_method, eligibility, secret, live_results, status) VALUES ($1, $2, 'approval', "
        "$3, '', 2, 'totals', $4, true, false, 'open') RETURNING id",
        call["call_id"],
        call["phase_id"],
        title,
        call["eligibility"],
    )
    return ballot_id, await add_options(conn, ballot_id, 5)


async def make_tokens(url: str, settings: Settings, count: int) -> list[tuple[int, int, int, str]]:
    """(account id, person id, persona id, bearer token) for ``count`` generated people, made
    with ``server.identity.tokens.create_token`` like any personal access token."""
    from sqlalchemy import select

    from server.db import Database, create_engine
    from server.identity import tokens
    from server.identity.keys import Keys
    from server.identity.models import Account
    from server.personas.models import Persona

    keys = Keys.load(settings)
    db = Database(create_engine(url, pool_size=1))
    out = []
    try:
        async with db.session() as session, session.begin():
            rows = await session.execute(
                select(Account, Persona.id)
                .join(Persona, Persona.account_id == Account.id)
                .where(Account.email.like(f"%@{gen.EMAIL_DOMAIN}"))
                .order_by(Account.id)
                .limit(count)
            )
            now = dt.datetime.now(dt.UTC)
            for account, persona_id in rows:
                _, token = await tokens.create_token(
                    session,
                    keys,
                    account,
                    name="benchmark",
                    scopes={"read", "participate"},
                    expires_in=dt.timedelta(days=2),
                    now=now,
                )
                assert account.person_id is not None
                out.append((account.id, account.person_id, persona_id, token))
    finally:
        await db.dispose()
    return out


async def count_statements(
    dsn: str, send: Any, requests: int, warm_up: int = 20
) -> tuple[float, float]:
    """Statements the server ran per request (pg_stat_statements), total and queries only."""
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(warm_up):  # both workers' pools connected, types introspected
            await send()
        await conn.execute("SELECT pg_stat_statements_reset()")
        for _ in range(requests):
            await send()
        rows = await conn.fetch(
            "SELECT query, calls FROM pg_stat_statements WHERE query NOT ILIKE "
            "'%pg_stat_statements%'"
        )
    finally:
        await conn.close()
    total = sum(r["calls"] for r in rows)
    # Queries: what reads or writes data; not BEGIN/ROLLBACK, nor asyncpg's connection reset
    # (SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL) on release to a pool.
    queries = sum(
        r["calls"]
        for r in rows
        if r["query"].lstrip().split(" ")[0].upper()
        in {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}
        and "pg_advisory_unlock_all" not in r["query"]
    )
    return total / requests, queries / requests


async def settle(dsn: str) -> None:
    """Pay, before the next measurement, the upkeep a burst of casts leaves behind (autovacuum of
    the ballots and tallies, a checkpoint): otherwise PostgreSQL does it during the next
    workload, whose figures then carry it."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM (ANALYZE) cast_ballots, ballot_tallies, api_tokens")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def cast_counts(dsn: str, ballot_id: int) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS ballots, coalesce(sum(changes), 0) AS changes FROM cast_ballots "
            "WHERE ballot_id = $1",
            ballot_id,
        )
        return {"ballots": row["ballots"], "changes": row["changes"]}
    finally:
        await conn.close()


async def published_casts(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM cast_ballots cb JOIN ballots b ON b.id = cb.ballot_id "
            "WHERE b.status = 'published'"
        )
        return count
    finally:
        await conn.close()
