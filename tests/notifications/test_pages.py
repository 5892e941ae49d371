"""The notifications page: list, mark read (with and without htmx), digest setting, nav link."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.notifications import service
from server.notifications.models import Digest, Notification, NotificationKind
from tests.factories import csrf_token, make_account, sign_in


async def _notes(session: AsyncSession, account_id: int, n: int) -> list[Notification]:
    for i in range(n):
        await service.notify(
            session, [account_id], kind=NotificationKind.REPLY, message=f"Reply {i}", link="/"
        )
    return list(
        await session.scalars(select(Notification).where(Notification.account_id == account_id))
    )


async def test_list_mark_read_and_settings(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    me = await make_account(session)
    other = await make_account(session)
    notes = await _notes(session, me.id, 2)
    [theirs] = await _notes(session, other.id, 1)
    await sign_in(client, session, me)
    page = await client.get("/notifications")
    assert page.status_code == 200
    assert "Reply 0" in page.text and "Reply 1" in page.text
    assert "Notifications (2 unread)" in page.text and page.text.count(">Unread<") == 2
    token = await csrf_token(client)
    swapped = await client.post(
        f"/notifications/{notes[0].id}/read",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert swapped.status_code == 200 and swapped.text.lstrip().startswith("<li")
    assert "Reply 0" in swapped.text and ">Unread<" not in swapped.text
    refused = await client.post(f"/notifications/{theirs.id}/read", data={"csrf_token": token})
    assert refused.status_code == 404
    everything = await client.post("/notifications/read", data={"csrf_token": token})
    assert everything.headers["location"] == "/notifications?done=notifications-read"
    assert await service.unread_count(session, me.id) == 0
    assert await service.unread_count(session, other.id) == 1
    bad = await client.post(
        "/notifications/settings", data={"email_digest": "hourly", "csrf_token": token}
    )
    assert bad.status_code == 422 and "never, daily or weekly" in bad.text
    saved = await client.post(
        "/notifications/settings", data={"email_digest": "weekly", "csrf_token": token}
    )
    assert saved.status_code == 303
    assert await service.digest_setting(session, me.id) == Digest.WEEKLY


async def test_nav_count_fragment(client: httpx.AsyncClient, session: AsyncSession) -> None:
    assert (await client.get("/notifications/unread")).text == "<span></span>"
    me = await make_account(session)
    await _notes(session, me.id, 3)
    await sign_in(client, session, me)
    assert "(3 unread)" in (await client.get("/notifications/unread")).text
    home = await client.get("/")
    assert 'hx-get="/notifications/unread"' in home.text


async def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/notifications")
    assert page.status_code == 303 and page.headers["location"].startswith("/sign-in")
