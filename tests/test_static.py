from __future__ import annotations

import hashlib
import json

import httpx

from server.settings import PROJECT_ROOT


async def test_served_htmx_matches_recorded_checksum(client: httpx.AsyncClient) -> None:
    recorded = json.loads((PROJECT_ROOT / "web/static/vendor/htmx/VERSION.json").read_text())
    response = await client.get("/static/vendor/htmx/htmx.min.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert hashlib.sha256(response.content).hexdigest() == recorded["sha256"], (
        "web/static/vendor/htmx/htmx.min.js differs from VERSION.json: run `make vendor`"
    )


async def test_pages_load_htmx_from_our_origin(client: httpx.AsyncClient) -> None:
    html = (await client.get("/")).text
    assert '<script src="/static/vendor/htmx/htmx.min.js?v=' in html
    assert "unpkg" not in html and "jsdelivr" not in html and "cdn" not in html.lower()


async def test_unknown_static_file_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/static/nope.js")).status_code == 404
