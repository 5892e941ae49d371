"""/api, the SDL and example operations as text, and the self-hosted GraphiQL."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import httpx
import pytest

from server.api.view import GRAPHIQL_FILES
from server.db import Database
from server.settings import PROJECT_ROOT
from tests.api.test_limits import http, make_app

VENDOR = PROJECT_ROOT / "web/static/vendor/graphiql"


@pytest.fixture
async def site(demo_database: Database, tmp_path: Path) -> httpx.AsyncClient:
    return http(make_app(demo_database, tmp_path))


async def test_api_page_explains_the_api(site: httpx.AsyncClient) -> None:
    async with site:
        response = await site.get("/api")
    assert response.status_code == 200
    page = response.text
    assert page.count("<h1") == 1 and '<html lang="en-GB">' in page
    for needle in [
        'href="/graphql"',
        'href="/api/schema.graphql"',
        'href="/account/tokens"',
        "Authorization: Bearer &lt;token&gt;",
        "<td>12</td>",  # depth
        "<td>15</td>",  # aliases
        "50,000 points",
        "64 KB",
        "120 requests per minute",
        "Retry-After",
        "PERSISTED_QUERY_NOT_FOUND",
        "GRAPHQL_ALLOWLIST_ONLY",
        "first",
        "at most 100",
        "@deprecated",
        "CHANGELOG.md",
        "BATCH_REFUSED",
    ]:
        assert needle in page, needle
    for path in sorted((PROJECT_ROOT / "graphql/operations").glob("*.graphql")):
        assert f'href="/api/operations/{path.stem}.graphql"' in page
        assert hashlib.sha256(path.read_bytes()).hexdigest() in page


async def test_schema_and_operations_are_served_as_text(site: httpx.AsyncClient) -> None:
    async with site:
        sdl = await site.get("/api/schema.graphql")
        assert sdl.status_code == 200 and sdl.headers["content-type"].startswith("text/plain")
        assert sdl.text == (PROJECT_ROOT / "graphql/schema.graphql").read_text()
        for path in (PROJECT_ROOT / "graphql/operations").glob("*.graphql"):
            op = await site.get(f"/api/operations/{path.stem}.graphql")
            assert op.headers["content-type"].startswith("text/plain")
            assert op.text == path.read_text()
        assert (await site.get("/api/operations/Nope.graphql")).status_code == 404
        assert (await site.get("/api/operations/..%2Fschema.graphql")).status_code == 404


async def test_graphiql_is_served_from_our_origin_with_the_examples(
    site: httpx.AsyncClient,
) -> None:
    async with site:
        page = await site.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        html = page.text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources and all(s.startswith(("/static/", "/api")) for s in sources), sources
        assert "unpkg" not in html and "jsdelivr" not in html and "://" not in html
        for source in sources:
            if source.startswith("/static/"):
                assert (await site.get(source)).status_code == 200, source
    data = json.loads(re.search(r'id="moot-graphiql">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    texts = [tab["query"] for tab in data["tabs"]]
    assert (PROJECT_ROOT / "graphql/operations/OpenCalls.graphql").read_text() in texts
    assert data["csrfToken"]
    assert [f"vendor/graphiql/{Path(f).name}" for f in GRAPHIQL_FILES] == list(GRAPHIQL_FILES)


def test_vendored_graphiql_matches_its_recorded_checksums() -> None:
    recorded = json.loads((VENDOR / "VERSION.json").read_text())
    assert recorded["graphiql"]["version"] == "3.9.0"
    for package in recorded.values():
        for name, digest in package["files"].items():
            assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    pinned = json.loads((PROJECT_ROOT / "package.json").read_text())["devDependencies"]
    assert pinned["graphiql"] == recorded["graphiql"]["version"]
    assert pinned["react"] == recorded["react"]["version"] == recorded["react-dom"]["version"]
    lock = (PROJECT_ROOT / "package-lock.json").read_text()
    assert '"resolved"' not in lock, "package-lock.json must not record download hosts"
