"""Test harness: a real PostgreSQL for the whole session, a rollback per test.

The session starts its own throwaway cluster through ``server.pg`` (the same code as the embedded
default of ``moot serve``), or uses ``DATABASE_URL`` when it is set. Alembic migrates a template
database once; tests run inside a transaction that is rolled back, and tests that need real
concurrent connections get a fresh database cloned from the template.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from server import demo, migrate
from server.app import create_app
from server.db import Database, create_engine
from server.pg import Cluster
from server.settings import Settings
from server.web import now

TEMPLATE_DB = "moot_template"


def _raw_dsn(url: str) -> str:
    """asyncpg's own DSN for a SQLAlchemy URL (drops the +asyncpg driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Server:
    """Where the session's PostgreSQL is, and how to make databases on it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def url(self, database: str) -> str:
        return make_url(self.base_url).set(database=database).render_as_string(hide_password=False)

    async def admin(self, sql: str) -> None:
        conn = await asyncpg.connect(_raw_dsn(self.url("postgres")))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def create_from_template(self, name: str) -> str:
        await self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
        return self.url(name)

    async def drop(self, name: str) -> None:
        await self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    external = os.environ.get("DATABASE_URL")
    if external:
        yield Server(Settings.from_env().database_url or external)
        return
    root = Path(tempfile.mkdtemp(prefix="moot-pg-"))
    cluster = Cluster.at(root)
    cluster.start(fast=True)
    try:
        yield Server(cluster.url("postgres"))
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def template_url(pg_server: Server) -> str:
    await pg_server.drop(TEMPLATE_DB)
    await pg_server.admin(f'CREATE DATABASE "{TEMPLATE_DB}"')
    url = pg_server.url(TEMPLATE_DB)
    # Alembic's env runs its own event loop; keep it off ours.
    await asyncio.to_thread(migrate.upgrade, url)
    return url


@pytest.fixture(scope="session")
async def engine(pg_server: Server, template_url: str) -> AsyncIterator[AsyncEngine]:
    name = f"moot_test_{uuid.uuid4().hex[:8]}"
    url = await pg_server.create_from_template(name)
    eng = create_engine(url, pool_size=5)
    yield eng
    await eng.dispose()
    await pg_server.drop(name)


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
def db(engine: AsyncEngine, connection: AsyncConnection) -> Database:
    """A Database whose sessions all join the test's transaction (rolled back afterwards)."""
    return Database(engine, bind=connection)


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    async with db.session() as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=None, var_dir=tmp_path / "var", environment="test")


@pytest.fixture
def app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, db=db)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        yield c


@pytest.fixture
async def demo_data(session: AsyncSession) -> list[str]:
    created = await demo.load(session, now=now())
    await session.flush()
    return created


@pytest.fixture(scope="session")
async def demo_database(pg_server: Server, template_url: str) -> AsyncIterator[Database]:
    """One database with the demo loaded, shared read-only by the session's API tests.

    The API fans out to several DataLoader sessions at once, each on its own connection as in
    production, so it cannot run inside a single test transaction. Tests that write must use
    ``fresh_database`` instead.
    """
    name = f"moot_demo_{uuid.uuid4().hex[:8]}"
    url = await pg_server.create_from_template(name)
    database = Database(create_engine(url, pool_size=5))
    async with database.session() as s, s.begin():
        await demo.load(s, now=now())
    yield database
    await database.dispose()
    await pg_server.drop(name)


@pytest.fixture
async def demo_api(demo_database: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app on the shared demo database (read-only use)."""
    app = create_app(
        Settings(database_url=None, var_dir=tmp_path / "var", environment="test"), db=demo_database
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        yield c


@pytest.fixture
async def fresh_database(
    pg_server: Server, template_url: str
) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Factory for a migrated database of a test's own (for real concurrency); dropped after."""
    made: list[str] = []

    async def make() -> str:
        name = f"moot_fresh_{uuid.uuid4().hex[:10]}"
        made.append(name)
        return await pg_server.create_from_template(name)

    yield make
    for name in made:
        await pg_server.drop(name)


@pytest.fixture
async def live_db(fresh_database: Callable[[], Awaitable[str]]) -> AsyncIterator[Database]:
    """A database of the test's own with real, separate connections, as in production: for
    the API (whose DataLoaders run concurrently) and for concurrency tests. Set up data with
    ``async with live_db.session() as s, s.begin(): ...`` so that it is committed."""
    url = await fresh_database()
    database = Database(create_engine(url, pool_size=5))
    yield database
    await database.dispose()


@pytest.fixture
def live_app(settings: Settings, live_db: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, db=live_db)


@pytest.fixture
async def live_client(live_app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=live_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        yield c
