"""No personal data in any exported file: markers in every private field never come out."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import text

from server.db import Database
from server.opendata.resources import RESOURCES
from tests.opendata import seed
from tests.opendata.conftest import assert_valid, export, read_csv

MARK = "zq8opendata"


async def _tables_containing(db: Database, needle: str) -> set[str]:
    async with db.session() as s:
        tables = list(
            await s.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            )
        )
        found = set()
        for table in tables:
            hit = await s.scalar(
                text(f'SELECT count(*) FROM "{table}" AS t WHERE t::text ILIKE :n'),  # noqa: S608
                {"n": f"%{needle}%"},
            )
            if hit:
                found.add(table)
        return found


async def test_no_marker_in_any_exported_file(
    live_db: Database, live_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with live_db.session() as s, s.begin():
        seeded = await seed.awkward(s)
        ids = await seed.private(s, seeded, MARK)
    # The markers are really there, in every kind of private place.
    assert await _tables_containing(live_db, MARK) >= {
        "accounts",
        "personas",
        "verifications",
        "ideas",
        "comments",
        "outcomes",
        "event_sessions",
        "ballots",
        "ballot_options",
        "api_tokens",
        "outbox",
        "audit_log",
        "notifications",
        "reports",
        "verification_codes",
    }
    for name in ("platform", "call-awkward"):
        path = await export(live_db, name, tmp_path / name)
        assert_valid(path)
        for file in path.parent.iterdir():
            content = file.read_text(encoding="utf-8")
            assert MARK not in content.lower(), file.name
            assert "example.org" not in content and "argon2" not in content, file.name
        personas = {row["id"]: row for row in read_csv(path.parent / "personas.csv")}
        # The persona with only private traces is absent; the deleted account's one is
        # "Former participant" whatever it was called.
        assert str(ids["quiet"]) not in personas
        assert personas[str(ids["gone"])]["display_name"] == "Former participant"
        votes = read_csv(path.parent / "cast_ballots.csv")
        assert str(ids["quiet"]) not in {v["persona_id"] for v in votes}
        header = (path.parent / "personas.csv").read_text().splitlines()[0]
        assert header == "id,kind,display_name"
    # The same over HTTP: the page, the descriptor, every file and every preview.
    pages = ["/open-data", "/open-data/platform/datapackage.json"]
    for resource in RESOURCES:
        pages += [
            f"/open-data/platform/{resource.name}.csv",
            f"/open-data/platform/{resource.name}.jsonl",
            f"/open-data/call-awkward/{resource.name}/preview",
        ]
    for page in pages:
        response = await live_client.get(page)
        assert response.status_code == 200, page
        assert MARK not in response.text.lower(), page
