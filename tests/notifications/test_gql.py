"""The viewer's notifications through the API, and the digest command."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
from gql import GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from sqlalchemy import select
from strawberry import relay

from server.db import Database
from server.identity.models import OutboxMessage
from server.notifications import service
from server.notifications.models import Digest, NotificationKind
from server.settings import PROJECT_ROOT
from tests.factories import make_account
from tests.moderation.support import gql_client, token_for

LIST = gql(
    """query($unread: Boolean!) { notifications(first: 10, unreadOnly: $unread) {
      totalCount unreadCount edges { node { id kind message link read } } } }"""
)
MARK = gql(
    """mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) {
      notifications { message read } unreadCount errors { field message } } }"""
)


async def test_list_and_mark_read(live_app: Any, live_db: Database) -> None:
    me, jwt = await token_for(live_db, live_app)
    other, _ = await token_for(live_db, live_app)
    async with live_db.session() as s, s.begin():
        for target, message in ((me.id, "First"), (me.id, "Second"), (other.id, "Not yours")):
            await service.notify(
                s, [target], kind=NotificationKind.OUTCOME, message=message, link="/x"
            )
    async with gql_client(live_app, jwt) as session:
        listed = (await session.execute(GraphQLRequest(LIST, variable_values={"unread": False})))[
            "notifications"
        ]
        assert listed["totalCount"] == 2 and listed["unreadCount"] == 2
        nodes = [e["node"] for e in listed["edges"]]
        assert [n["message"] for n in nodes] == ["Second", "First"]
        assert nodes[0]["kind"] == "OUTCOME" and nodes[0]["read"] is False
        one = await session.execute(GraphQLRequest(MARK, variable_values={"ids": [nodes[0]["id"]]}))
        assert one["markNotificationsRead"] == {
            "notifications": [{"message": "Second", "read": True}],
            "unreadCount": 1,
            "errors": [],
        }
        unread = await session.execute(GraphQLRequest(LIST, variable_values={"unread": True}))
        assert [e["node"]["message"] for e in unread["notifications"]["edges"]] == ["First"]
        rest = await session.execute(GraphQLRequest(MARK, variable_values={"ids": None}))
        assert rest["markNotificationsRead"]["unreadCount"] == 0
        # Another account's notification is neither found by node nor markable.
        async with live_db.session() as s:
            [theirs] = (await service.list_notifications(s, other.id)).items
        gid = relay.to_base64("Notification", theirs.id)
        with pytest.raises(TransportQueryError) as hidden:
            await session.execute(gql(f'{{ node(id: "{gid}") {{ id }} }}'))
        assert "Not yours" not in str(hidden.value.errors)
        refused = await session.execute(GraphQLRequest(MARK, variable_values={"ids": [gid]}))
        assert refused["markNotificationsRead"]["errors"][0]["message"].startswith(
            "We could not find"
        )


async def test_anonymous_callers_have_no_notifications(live_app: Any) -> None:
    async with gql_client(live_app) as session:
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(GraphQLRequest(LIST, variable_values={"unread": False}))
    assert (
        refused.value.errors and refused.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    )


async def _moot(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server.cli", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_digest_command_is_idempotent(live_db: Database) -> None:
    async with live_db.session() as s, s.begin():
        account = await make_account(s)
        await service.set_digest(s, account.id, Digest.DAILY)
        await service.notify(s, [account.id], kind=NotificationKind.REPLY, message="Hi", link="/")
    url = live_db.engine.url.render_as_string(hide_password=False)
    first = await _moot(url, "notifications", "digest", "--base-url", "https://moot.example")
    assert first.returncode == 0, first.stderr
    assert "Digests queued: 1 (1 notifications)." in first.stdout
    second = await _moot(url, "notifications", "digest")
    assert second.returncode == 0 and "No digests due." in second.stdout
    async with live_db.session() as s:
        mails = list(
            await s.scalars(select(OutboxMessage).where(OutboxMessage.to_address == account.email))
        )
    assert len(mails) == 1 and "https://moot.example/notifications" in mails[0].body
