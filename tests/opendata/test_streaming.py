"""A large table streams through the HTTP endpoint in constant memory."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from typing import Any

from sqlalchemy import text
from starlette.types import ASGIApp, Message

from server.db import Database
from tests.opendata import seed

ROWS = 200_000
LIMIT = 50 * 1024 * 1024


async def _download(app: ASGIApp, path: str, headers: dict[str, str]) -> tuple[int, int, int]:
    """GET ``path`` straight through ASGI, counting the body and keeping none of it (httpx's
    ASGI transport would hold the whole body in memory). Returns status, bytes and chunks."""
    done = asyncio.Event()
    sent_request = False
    status, size, chunks = 0, 0, 0

    async def receive() -> Message:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status, size, chunks
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))
            chunks += 1
            if not message.get("more_body", False):
                done.set()

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }
    await app(scope, receive, send)
    return status, size, chunks


async def test_200k_cast_ballots_stream_in_constant_memory(
    live_db: Database, live_app: ASGIApp
) -> None:
    async with live_db.session() as s, s.begin():
        seeded = await seed.awkward(s, slug="big")
        options = [o.id for o in seeded.options["secret"]]
        first = await s.scalar(text("SELECT coalesce(max(id), 0) FROM persons"))
        await s.execute(
            text("INSERT INTO persons (created_at) SELECT now() FROM generate_series(1, :n)"),
            {"n": ROWS},
        )
        await s.execute(
            text(
                "INSERT INTO cast_ballots (ballot_id, person_id, content, changes, cast_at, "
                "updated_at) SELECT :ballot, p.id, jsonb_build_array(CAST(:a AS int), "
                "CAST(:b AS int)), 0, now(), now() "
                "FROM persons p WHERE p.id > :first"
            ),
            {
                "ballot": seeded.ballots["secret"].id,
                "a": options[0],
                "b": options[2],
                "first": first,
            },
        )
    figures = {}
    for path, headers in (
        ("/open-data/platform/cast_ballots.csv", {}),
        ("/open-data/platform/cast_ballots.jsonl", {}),
        ("/open-data/call-big/cast_ballots.csv", {"Accept-Encoding": "gzip"}),
    ):
        gc.collect()
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            started = time.perf_counter()
            status, size, chunks = await _download(live_app, path, headers)
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            tracemalloc.stop()
        figures[path] = (size, chunks, peak, seconds)
        assert status == 200, path
        assert chunks > 10, path  # streamed, not sent in one piece
        assert peak < LIMIT, (path, peak)
    csv_size, _, csv_peak, _ = figures["/open-data/platform/cast_ballots.csv"]
    print("\nstreaming figures (bytes, chunks, tracemalloc peak growth, seconds):", figures)
    assert csv_size > 9_000_000  # 200,000 rows of at least 45 bytes
    # Far less than the file: the memory does not grow with the table.
    assert csv_peak < csv_size / 2
