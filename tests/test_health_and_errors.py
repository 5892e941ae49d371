"""Health, error pages and logs: bad input and a lost database never show a traceback."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from server.settings import Settings

DEAD_DB = "postgresql+asyncpg://nobody@/moot?host=/nonexistent-socket-dir"


async def test_healthz_ok_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.fixture
async def dead_client(tmp_path: Path) -> httpx.AsyncClient:
    settings = Settings(database_url=DEAD_DB, var_dir=tmp_path, environment="test", db_timeout=2)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        yield c
    await app.state.db.dispose()


async def test_healthz_503_when_the_database_is_down(dead_client: httpx.AsyncClient) -> None:
    response = await dead_client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


async def test_page_with_database_down_is_a_readable_503(dead_client: httpx.AsyncClient) -> None:
    response = await dead_client.get("/")
    assert response.status_code == 503
    assert "text/html" in response.headers["content-type"]
    assert "Sorry, the service is unavailable" in response.text
    assert "Traceback" not in response.text and "asyncpg" not in response.text


async def test_unknown_route_is_a_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.text
    assert 'href="/"' in response.text


async def test_unknown_route_is_json_for_json_clients(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/page", headers={"accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_unknown_call_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/calls/no-such-call")
    assert response.status_code == 404
    assert "There is no call at that address." in response.text


async def test_bad_cursor_is_a_clear_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/", params={"after": "not-a-cursor"})
    assert response.status_code == 400
    assert "page link is not valid" in response.text


async def test_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_one_structured_log_line_per_request_without_query_string(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="moot.access"):
        await client.get("/calls/nope", params={"token": "secret-value"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "moot.access"]
    assert len(lines) == 1
    line = lines[0]
    assert line["method"] == "GET" and line["path"] == "/calls/nope" and line["status"] == 404
    assert isinstance(line["duration_ms"], float)
    assert "secret-value" not in caplog.text
