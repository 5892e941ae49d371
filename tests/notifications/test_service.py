"""Notifications: listing, marking read, and the idempotent email digest."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import NotFound, ValidationFailed
from server.identity.models import OutboxMessage
from server.notifications import service
from server.notifications.models import Digest, Notification, NotificationKind
from tests.factories import make_account, now


async def _notify(session: AsyncSession, account_id: int, n: int) -> None:
    for i in range(n):
        await service.notify(
            session,
            [account_id],
            kind=NotificationKind.OUTCOME,
            message=f"Message {i}",
            link=f"/ideas/{i}",
        )


async def test_list_is_newest_first_paginated_and_private(session: AsyncSession) -> None:
    me, other = await make_account(session), await make_account(session)
    await _notify(session, me.id, 3)
    await _notify(session, other.id, 1)
    page = await service.list_notifications(session, me.id, first=2)
    assert [n.message for n in page.items] == ["Message 2", "Message 1"]
    assert page.total == 3 and page.has_next
    rest = await service.list_notifications(session, me.id, first=2, after=page.end_cursor)
    assert [n.message for n in rest.items] == ["Message 0"] and not rest.has_next


async def test_mark_read_one_or_all_only_own(session: AsyncSession) -> None:
    me, other = await make_account(session), await make_account(session)
    await _notify(session, me.id, 3)
    await _notify(session, other.id, 1)
    mine = (await service.list_notifications(session, me.id)).items
    theirs = (await service.list_notifications(session, other.id)).items
    changed = await service.mark_read(session, me.id, now=now(), ids=[mine[0].id])
    assert [n.id for n in changed] == [mine[0].id]
    assert await service.unread_count(session, me.id) == 2
    unread = await service.list_notifications(session, me.id, unread_only=True)
    assert mine[0].id not in [n.id for n in unread.items] and unread.total == 2
    with pytest.raises(NotFound):
        await service.mark_read(session, me.id, now=now(), ids=[theirs[0].id])
    assert len(await service.mark_read(session, me.id, now=now())) == 2
    assert await service.unread_count(session, me.id) == 0
    assert await service.unread_count(session, other.id) == 1


async def test_digest_setting(session: AsyncSession) -> None:
    me = await make_account(session)
    assert await service.digest_setting(session, me.id) == Digest.OFF
    await service.set_digest(session, me.id, Digest.WEEKLY)
    await service.set_digest(session, me.id, service.parse_digest("daily"))
    assert await service.digest_setting(session, me.id) == Digest.DAILY
    with pytest.raises(ValidationFailed):
        service.parse_digest("hourly")


async def test_digest_is_sent_once_and_only_when_due(session: AsyncSession) -> None:
    daily, weekly, off = [await make_account(session) for _ in range(3)]
    await service.set_digest(session, daily.id, Digest.DAILY)
    await service.set_digest(session, weekly.id, Digest.WEEKLY)
    for account in (daily, weekly, off):
        await _notify(session, account.id, 2)
    moment = now()
    sent = await service.send_digests(session, now=moment, base_url="https://moot.example/")
    assert sorted((d.account_id, d.notifications) for d in sent) == sorted(
        [(daily.id, 2), (weekly.id, 2)]
    )
    mails = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert {m.to_address for m in mails} == {daily.email, weekly.email}
    assert "Message 0" in mails[0].body and "https://moot.example/ideas/0" in mails[0].body
    # Running again sends nothing new.
    assert await service.send_digests(session, now=moment, base_url="x") == []
    # A new notification waits until the digest is due again.
    await _notify(session, daily.id, 1)
    await _notify(session, weekly.id, 1)
    assert (
        await service.send_digests(session, now=moment + dt.timedelta(hours=2), base_url="x") == []
    )
    later = await service.send_digests(session, now=moment + dt.timedelta(days=1), base_url="x")
    assert [(d.account_id, d.notifications) for d in later] == [(daily.id, 1)]
    unsent = await session.scalars(
        select(Notification.account_id).where(Notification.emailed_at.is_(None))
    )
    assert sorted(unsent) == sorted([weekly.id, off.id, off.id])
