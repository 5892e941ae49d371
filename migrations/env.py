"""Alembic environment: async engine, our metadata, and a lock timeout on every migration."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from server.models import metadata

config = context.config

# A migration that waits on a busy table would block every request queued behind it; fail fast
# instead and let the operator retry at a quieter moment.
LOCK_TIMEOUT = "5s"


# Several app processes may start at once (replicas, `moot serve --workers`): one migrates, the
# others wait for it here and then find nothing left to do.
MIGRATION_LOCK = 0x6D6F6F74  # "moot"


def do_run_migrations(connection: Connection) -> None:
    # Taken before lock_timeout is set: waiting for another process's migration is expected.
    # The lock is the session's, so it also ends when this connection closes.
    connection.execute(text(f"SELECT pg_advisory_lock({MIGRATION_LOCK})"))
    connection.execute(text(f"SET lock_timeout = '{LOCK_TIMEOUT}'"))
    _migrate(connection)
    connection.execute(text(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})"))


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
        await connection.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations(config.attributes["url"]))


if context.is_offline_mode():
    raise SystemExit("Moot runs migrations online only: use `moot db upgrade`.")
run_migrations_online()
