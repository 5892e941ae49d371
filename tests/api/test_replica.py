"""Read-only queries on a hot standby (DATABASE_READ_URL), everything else on the primary.

The "standby" here is a copy of the primary made with CREATE DATABASE ... TEMPLATE and set
read-only, as a hot standby is: a change made on the primary after the copy shows which database
answered, and any write routed to the copy would fail."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport

from server.app import create_app
from server.db import Database, create_engine
from server.identity.keys import Keys
from server.settings import Settings
from tests.conftest import Server, _raw_dsn
from tests.factories import make_account, make_token

CREATE = """
mutation Create($name: String!) {
  createPersona(kind: PSEUDONYM, input: {displayName: $name}) {
    persona { displayName }
    errors { message }
  }
}
"""
MINE = "{ viewer { personas { displayName } } }"


@dataclass
class Pair:
    app: Any
    primary: str  # asyncpg DSNs
    standby: str
    token: str


async def _token(db: Database, keys: Keys) -> str:
    """A new account's token, committed."""
    async with db.session() as s, s.begin():
        account = await make_account(s)
        token = await make_token(s, keys, account)
    return token


@pytest.fixture
async def pair(pg_server: Server, template_url: str, tmp_path: Path) -> AsyncIterator[Pair]:
    del template_url  # the migrated template the primary is made from
    primary_name = f"moot_primary_{uuid.uuid4().hex[:8]}"
    standby_name = f"moot_standby_{uuid.uuid4().hex[:8]}"
    primary_url = await pg_server.create_from_template(primary_name)
    settings = Settings(
        database_url=primary_url,
        database_read_url=pg_server.url(standby_name),
        var_dir=tmp_path / "var",
        environment="test",
    )
    db = Database(create_engine(primary_url, pool_size=1))
    token = await _token(db, Keys.load(settings))
    await db.dispose()
    await pg_server.admin(f'CREATE DATABASE "{standby_name}" TEMPLATE "{primary_name}"')
    await pg_server.admin(f'ALTER DATABASE "{standby_name}" SET default_transaction_read_only = on')
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            yield Pair(
                app,
                _raw_dsn(primary_url),
                _raw_dsn(pg_server.url(standby_name)),
                token,
            )
    finally:
        await pg_server.drop(standby_name)
        await pg_server.drop(primary_name)


def _client(pair: Pair) -> Client:
    transport = HTTPXAsyncTransport(
        url="http://localhost/graphql",
        headers={"Authorization": f"Bearer {pair.token}"},
        transport=httpx.ASGITransport(app=pair.app, raise_app_exceptions=False),
    )
    return Client(transport=transport, fetch_schema_from_transport=False)


async def test_queries_read_the_standby_and_mutations_write_the_primary(pair: Pair) -> None:
    async with _client(pair) as session:
        created = await session.execute(
            GraphQLRequest(CREATE, variable_values={"name": "Written on the primary"})
        )
        # The mutation wrote (the standby refuses writes) and its payload read the primary.
        assert created["createPersona"] == {
            "persona": {"displayName": "Written on the primary"},
            "errors": [],
        }
        # A query is answered by the standby, which has not got the new persona.
        assert await session.execute(gql(MINE)) == {"viewer": {"personas": []}}
    primary = await asyncpg.connect(pair.primary)
    try:
        names = await primary.fetch("SELECT display_name FROM personas")
    finally:
        await primary.close()
    assert [r["display_name"] for r in names] == ["Written on the primary"]


async def test_without_a_read_url_queries_read_the_primary(
    live_db: Database, settings: Settings
) -> None:
    app = create_app(settings, db=live_db)
    token = await _token(live_db, app.state.keys)
    transport = HTTPXAsyncTransport(
        url="http://localhost/graphql",
        headers={"Authorization": f"Bearer {token}"},
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
    )
    async with Client(transport=transport, fetch_schema_from_transport=False) as session:
        await session.execute(GraphQLRequest(CREATE, variable_values={"name": "Read back"}))
        assert await session.execute(gql(MINE)) == {
            "viewer": {"personas": [{"displayName": "Read back"}]}
        }


def test_a_read_url_needs_a_primary_and_must_be_postgresql() -> None:
    from server.settings import SettingsError

    with pytest.raises(SettingsError, match="needs DATABASE_URL"):
        Settings.from_env({"DATABASE_READ_URL": "postgresql://u@h/db"})
    with pytest.raises(SettingsError, match="DATABASE_READ_URL must be a PostgreSQL URL"):
        Settings.from_env(
            {"DATABASE_URL": "postgresql://u@h/db", "DATABASE_READ_URL": "mysql://u@h/db"}
        )
    read = Settings.from_env(
        {"DATABASE_URL": "postgresql://u@h/db", "DATABASE_READ_URL": "postgresql://u@r/db"}
    ).database_read_url
    assert read == "postgresql+asyncpg://u@r/db"
