"""Rate limits with counters in PostgreSQL, so every app process and replica shares them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import RateLimited
from server.identity.models import ThrottleHit


async def hit(
    session: AsyncSession, key: str, *, limit: int, window: dt.timedelta, now: dt.datetime
) -> None:
    """Count one attempt under ``key`` in the current fixed window; refuse past ``limit``.

    One upsert, atomic under concurrency. Counts are kept even when the surrounding action
    fails, because callers run this in its own transaction (see ``identity.pages``)."""
    seconds = int(window.total_seconds())
    start = dt.datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, dt.UTC)
    stmt = (
        insert(ThrottleHit)
        .values(key=key, window_start=start, hits=1)
        .on_conflict_do_update(
            index_elements=[ThrottleHit.key, ThrottleHit.window_start],
            set_={"hits": ThrottleHit.hits + 1},
        )
        .returning(ThrottleHit.hits)
    )
    hits = await session.scalar(stmt)
    if hits is not None and hits > limit:
        retry = int((start + window - now).total_seconds()) + 1
        raise RateLimited(
            f"Too many attempts. Please wait {max(retry // 60, 1)} minute(s) and try again.",
            retry_after=retry,
        )


async def prune(session: AsyncSession, *, before: dt.datetime) -> int:
    result = await session.execute(delete(ThrottleHit).where(ThrottleHit.window_start < before))
    return result.rowcount or 0  # type: ignore[attr-defined]
