from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from server import migrate
from server.db import create_engine
from server.models import metadata
from server.settings import PROJECT_ROOT
from tests.conftest import Server


async def _tables(url: str) -> set[str]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    return names - {"alembic_version"}


async def test_upgrade_downgrade_upgrade_on_an_empty_database(pg_server: Server) -> None:
    name = "moot_migration_roundtrip"
    await pg_server.drop(name)
    await pg_server.admin(f'CREATE DATABASE "{name}"')
    url = pg_server.url(name)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        assert await _tables(url) == set(metadata.tables)
        await asyncio.to_thread(migrate.downgrade, url, "base")
        assert await _tables(url) == set()
        engine = create_engine(url, pool_size=1)
        async with engine.connect() as conn:
            # Enum types are dropped too, or the next upgrade would fail.
            types = await conn.scalar(text("SELECT count(*) FROM pg_type WHERE typtype = 'e'"))
        await engine.dispose()
        assert types == 0
        await asyncio.to_thread(migrate.upgrade, url)
        assert await _tables(url) == set(metadata.tables)
    finally:
        await pg_server.drop(name)


async def test_models_and_migrations_agree(fresh_database: Callable[[], Awaitable[str]]) -> None:
    url = await fresh_database()
    engine = create_engine(url, pool_size=1)

    def diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    try:
        async with engine.connect() as conn:
            changes = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert changes == [], f"models differ from migrations; run `moot db revision -m ...`: {changes}"


def test_migration_files_are_date_prefixed_and_reversible() -> None:
    files = sorted((PROJECT_ROOT / "migrations/versions").glob("*.py"))
    assert files
    for path in files:
        assert path.name[:10].replace("_", "").isdigit(), f"{path.name} is not date-prefixed"
        source = path.read_text()
        body = source.split("def downgrade() -> None:")[1]
        assert body.strip() and body.strip() != "pass", f"{path.name} has no downgrade"


def test_migrations_run_with_a_lock_timeout() -> None:
    env = (PROJECT_ROOT / "migrations/env.py").read_text()
    assert "SET lock_timeout" in env
