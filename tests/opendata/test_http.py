"""The open data pages: listing, previews, conditional requests, gzip and 404s."""

from __future__ import annotations

import gzip

import httpx
import pytest
from sqlalchemy import select

from server import demo
from server.calls.models import Region
from server.db import Database
from server.web import now


@pytest.mark.usefixtures("demo_data")
async def test_index_lists_packages_with_sizes_and_previews(client: httpx.AsyncClient) -> None:
    page = await client.get("/open-data")
    assert page.status_code == 200
    html = page.text
    for name in ("platform", "call-south-west-futures-open-ideas-day", "call-exeter-riverside"):
        assert f"/open-data/{name}" in html
    assert "Open Government Licence v3.0" in html and "Last update" in html
    assert "rows in 18 tables" in html and "KB as CSV" in html
    # A plain link for everyone, loaded in place by htmx.
    link = '<a href="/open-data/platform/ideas/preview" hx-get="/open-data/platform/ideas/preview"'
    assert link in html


@pytest.mark.usefixtures("demo_data")
async def test_preview_page_and_fragment(client: httpx.AsyncClient) -> None:
    full = await client.get("/open-data/platform/ideas/preview")
    assert full.status_code == 200
    assert "<html" in full.text and "Night buses between Exeter" in full.text
    assert "author_persona_id" in full.text
    fragment = await client.get("/open-data/platform/ideas/preview", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "<table" in fragment.text and "Night buses between Exeter" in fragment.text
    empty = await client.get("/open-data/platform/cast_ballots/preview")
    assert "no rows yet" in empty.text


@pytest.mark.parametrize(
    "path",
    [
        "/open-data/nope/datapackage.json",
        "/open-data/call-nope/datapackage.json",
        "/open-data/call-nope/ideas.csv",
        "/open-data/platform/nope.csv",
        "/open-data/platform/ideas.xml",
        "/open-data/platform/ideas",
        "/open-data/platform/accounts.csv",
        "/open-data/platform/nope/preview",
        "/open-data/nope/ideas/preview",
    ],
)
@pytest.mark.usefixtures("demo_data")
async def test_unknown_package_or_resource_is_404(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


@pytest.mark.usefixtures("demo_data")
async def test_etag_last_modified_and_304(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/open-data/platform/datapackage.json", "/open-data/platform/ideas.csv"):
        first = await client.get(path)
        assert first.status_code == 200
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert etag.startswith('"') and modified.endswith("GMT")
        assert first.headers["cache-control"] == "public, no-cache"
        again = await client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        weak = await client.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
        assert weak.status_code == 304
        since = await client.get(path, headers={"If-Modified-Since": modified})
        assert since.status_code == 304
        stale = await client.get(path, headers={"If-None-Match": '"stale"'})
        assert stale.status_code == 200


async def test_validators_change_with_the_data(
    live_db: Database, live_client: httpx.AsyncClient
) -> None:
    """Any committed change changes the validators, even an edit that leaves every timestamp
    and count alone (a renamed region); other packages' validators are their own."""
    async with live_db.session() as s, s.begin():
        await demo.load(s, now=now())
    path = "/open-data/platform/regions.csv"
    before = await live_client.get(path)
    call = await live_client.get("/open-data/call-exeter-riverside-spaces/regions.csv")
    assert call.headers["etag"] != before.headers["etag"]
    async with live_db.session() as s, s.begin():
        region = await s.scalar(select(Region))
        assert region is not None
        region.name = "South West England"
    after = await live_client.get(path, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert "South West England" in after.text


@pytest.mark.usefixtures("demo_data")
async def test_gzip_when_asked(client: httpx.AsyncClient) -> None:
    plain = await client.get(
        "/open-data/platform/ideas.csv", headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert plain.headers["content-type"] == "text/csv; charset=utf-8; header=present"
    assert (
        plain.content.startswith(b"id,call_id,author_persona_id,title") and b"\r\n" in plain.content
    )
    async with client.stream(
        "GET", "/open-data/platform/ideas.csv", headers={"Accept-Encoding": "gzip"}
    ) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    assert gzip.decompress(raw) == plain.content
    refused = await client.get(
        "/open-data/platform/ideas.csv", headers={"Accept-Encoding": "gzip;q=0"}
    )
    assert "content-encoding" not in refused.headers
    jsonl = await client.get("/open-data/platform/ideas.jsonl", headers={"Accept-Encoding": "gzip"})
    assert jsonl.headers["content-encoding"] == "gzip"
    assert jsonl.headers["content-type"] == "application/jsonl"
    assert len(jsonl.text.splitlines()) == len(plain.text.splitlines()) - 1
    descriptor = await client.get(
        "/open-data/platform/datapackage.json", headers={"Accept-Encoding": "gzip"}
    )
    assert descriptor.headers["content-encoding"] == "gzip"
    assert descriptor.json()["name"] == "platform"
    head = await client.head("/open-data/platform/ideas.csv")
    assert head.status_code == 200 and head.content == b"" and "etag" in head.headers
