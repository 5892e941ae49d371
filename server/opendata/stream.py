"""Rows straight out of PostgreSQL, in constant memory.

Each file is one ``COPY (SELECT ...) TO STDOUT`` on a raw asyncpg connection. COPY pushes its
output into a callback; a task runs it and hands chunks of about 64 KiB to the reader through a
small bounded queue, so a slow reader slows PostgreSQL down instead of filling memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped]

from server.db import Database

CHUNK_BYTES = 64 * 1024
QUEUE_CHUNKS = 4


@contextlib.asynccontextmanager
async def raw_connection(db: Database) -> AsyncIterator[asyncpg.Connection]:
    """The asyncpg connection behind a session of ``db``: from the pool in production, the
    test's own connection (inside its transaction) in tests."""
    async with db.session() as session:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        yield cast(asyncpg.Connection, raw.driver_connection)


class CsvLines:
    """Turns COPY's LF record ends into CRLF (RFC 4180) and counts records.

    Only the newlines outside quotes end a record; those inside a quoted field are data and stay
    as they are. Quotes inside a field are doubled, so counting them keeps the state right even
    across chunk boundaries."""

    def __init__(self) -> None:
        self.in_quotes = False
        self.records = 0

    def __call__(self, chunk: bytes) -> bytes:
        parts = chunk.split(b'"')
        # Parts alternate outside and inside quotes, starting from where the last chunk ended.
        outside = parts[1 if self.in_quotes else 0 :: 2]
        self.records += sum(part.count(b"\n") for part in outside)
        parts[1 if self.in_quotes else 0 :: 2] = [p.replace(b"\n", b"\r\n") for p in outside]
        if len(parts) % 2 == 0:  # an odd number of quotes
            self.in_quotes = not self.in_quotes
        return b'"'.join(parts)


class JsonLines:
    """JSON Lines out of COPY: each record is one JSON text and a newline, nothing to change."""

    def __init__(self) -> None:
        self.records = 0

    def __call__(self, chunk: bytes) -> bytes:
        self.records += chunk.count(b"\n")
        return chunk


# A JSON text never holds a raw control character (PostgreSQL escapes them), so with these as
# delimiter and quote, COPY's CSV mode writes each JSON text exactly as it is.
JSONL_COPY: dict[str, Any] = {"format": "csv", "delimiter": "\x01", "quote": "\x02"}
CSV_COPY: dict[str, Any] = {"format": "csv", "header": True}


async def copy_out(
    conn: asyncpg.Connection,
    query: str,
    *,
    jsonl: bool,
    transform: Callable[[bytes], bytes] | None = None,
) -> AsyncIterator[bytes]:
    """Yield the output of COPY (``query``) in chunks of about CHUNK_BYTES."""
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(QUEUE_CHUNKS)
    buffer = bytearray()

    async def sink(data: bytes) -> None:
        buffer.extend(transform(data) if transform else data)
        if len(buffer) >= CHUNK_BYTES:
            chunk = bytes(buffer)
            buffer.clear()
            await queue.put(chunk)

    async def produce() -> None:
        try:
            options = JSONL_COPY if jsonl else CSV_COPY
            await conn.copy_from_query(query, output=sink, encoding="utf-8", **options)
            if buffer:
                await queue.put(bytes(buffer))
            await queue.put(None)
        except Exception as exc:  # handed to the reader, which raises it
            await queue.put(exc)

    task = asyncio.create_task(produce())
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def gzipped(chunks: AsyncIterator[bytes], level: int = 6) -> AsyncIterator[bytes]:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: gzip container
    async for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


@dataclass(frozen=True, slots=True)
class FileInfo:
    bytes: int
    sha256: str
    records: int


async def count_bytes(chunks: AsyncIterator[bytes]) -> int:
    total = 0
    async for chunk in chunks:
        total += len(chunk)
    return total


async def write_file(chunks: AsyncIterator[bytes], path: Path) -> tuple[int, str]:
    """Write ``chunks`` to ``path`` (through ``path``.part, renamed at the end); returns the
    size and SHA-256 (hex) of what was written."""
    digest = hashlib.sha256()
    size = 0
    part = path.with_name(path.name + ".part")
    with part.open("wb") as out:
        async for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    part.replace(path)
    return size, digest.hexdigest()
