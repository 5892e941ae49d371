"""In-app notifications: written in the same transaction as the event they report."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from server.notifications.models import Notification, NotificationKind


async def notify(
    session: AsyncSession,
    account_ids: Iterable[int | None],
    *,
    kind: NotificationKind,
    message: str,
    link: str,
) -> int:
    """Notify each distinct account (None, e.g. a deleted author, is skipped)."""
    targets = sorted({a for a in account_ids if a is not None})
    session.add_all(
        Notification(account_id=a, kind=kind, message=message[:500], link=link) for a in targets
    )
    await session.flush()
    return len(targets)
