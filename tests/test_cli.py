from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from server import demo
from server.api.schema import sdl
from server.calls.models import Call, Region
from server.cli import app
from server.events.models import Venue
from server.ideas.models import Idea
from server.outcomes.models import Outcome
from server.web import now

runner = CliRunner()


def test_help_explains_each_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "db", "demo", "schema"):
        assert command in result.output
    db_help = runner.invoke(app, ["db", "--help"]).output
    for sub in ("upgrade", "downgrade", "current"):
        assert sub in db_help
    serve_help = runner.invoke(app, ["serve", "--help"]).output
    for option in ("--host", "--port", "--reload", "--demo"):
        assert option in serve_help


def test_schema_print_is_the_sdl() -> None:
    result = runner.invoke(app, ["schema", "print"])
    assert result.exit_code == 0
    assert result.output == sdl()


async def _counts(session: AsyncSession) -> tuple[int, ...]:
    return tuple(
        [
            await session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Region, Call, Venue, Idea, Outcome)
        ]
    )


async def test_demo_load_is_idempotent(session: AsyncSession) -> None:
    created = await demo.load(session, now=now())
    assert created == [demo.FUTURES, demo.RIVERSIDE]
    after_first = await _counts(session)
    # Venues: three for the Open Ideas Day, one for the Riverside workshop; outcomes: four on
    # the closed call, one already on the open one.
    assert after_first == (1, 2, 4, 10, 5)
    assert await demo.load(session, now=now()) == []
    assert await _counts(session) == after_first


async def test_demo_venues_have_20_to_30_places(session: AsyncSession) -> None:
    await demo.load(session, now=now())
    venues = list(await session.scalars(select(Venue).where(Venue.name != "Custom House")))
    assert {v.name.split(",")[0].split()[0] for v in venues} == {"Exeter", "Beehive", "Penryn"}
    assert all(20 <= v.capacity <= 30 for v in venues)


async def test_graphiql_for_browsers_json_for_clients(demo_api: httpx.AsyncClient) -> None:
    page = await demo_api.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    data = await demo_api.get(
        "/graphql", params={"query": "{ regions { name } }"}, headers={"accept": "application/json"}
    )
    assert data.json() == {"data": {"regions": [{"name": "South West"}]}}


def test_users_create_and_outbox(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    from server.settings import PROJECT_ROOT

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["MOOT_VAR_DIR"] = str(tmp_path / "var")

    def moot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    made = moot("users", "create", "--email", "admin@example.org", "--role", "admin")
    assert made.returncode == 0, made.stderr
    assert "admin@example.org" in made.stdout and "is admin" in made.stdout
    bad = moot("users", "create", "--email", "x@example.org", "--role", "emperor")
    assert bad.returncode == 2 and "Unknown role 'emperor'" in bad.stderr
    empty = moot("outbox")
    assert empty.returncode == 0 and "The outbox is empty." in empty.stdout
