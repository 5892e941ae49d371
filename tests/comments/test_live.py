"""Live updates: the LISTEN/NOTIFY broker on its own, and new comments streamed as server-sent
events from one app process to a page open on another."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable
from types import TracebackType
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server import live
from server.app import create_app
from server.comments import service
from server.db import Database, create_engine
from server.identity import auth
from server.identity import service as identity
from server.settings import PROJECT_ROOT, Settings
from tests.factories import make_account, make_call, make_idea, make_persona, now

WAIT = 5.0


def _url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


async def _say(db: Database, topic: str, *, commit: bool = True, **data: Any) -> None:
    async with db.session() as s, s.begin() as tx:
        await live.publish(s, topic, **data)
        if not commit:
            await tx.rollback()


async def test_broker_delivers_on_commit_only_and_by_topic(live_db: Database) -> None:
    broker = live.Broker(live.dsn_of(_url(live_db)))
    async with broker.subscribe("idea:1") as one, broker.subscribe("idea:2") as two:
        assert broker.running and broker.subscriber_count == 2
        await _say(live_db, "idea:1", comment=10, commit=False)
        await _say(live_db, "idea:1", comment=11)
        message = await one.get(wait=WAIT)
        assert message == live.Message("idea:1", {"comment": 11})
        assert await one.get(wait=0.2) is None  # the rolled-back one never arrives
        assert await two.get(wait=0.2) is None
    # Nobody left: the broker stops and closes its connection.
    for _ in range(50):
        if not broker.running:
            break
        await asyncio.sleep(0.05)
    assert not broker.running and broker.connection is None


async def test_slow_subscribers_are_closed_not_buffered_forever(live_db: Database) -> None:
    broker = live.Broker(live.dsn_of(_url(live_db)), queue_size=2)
    async with broker.subscribe("t") as slow, broker.subscribe("t") as quick:
        for i in range(4):
            await _say(live_db, "t", n=i)
            assert (await quick.get(wait=WAIT)) == live.Message("t", {"n": i})
        assert slow.closed and broker.subscriber_count == 1
        with pytest.raises(live.SubscriptionClosed):
            await slow.get(wait=WAIT)
    await broker.close()


async def test_broker_reconnects_and_asks_for_a_resync(live_db: Database) -> None:
    broker = live.Broker(live.dsn_of(_url(live_db)), min_backoff=0.05)
    async with broker.subscribe("t") as sub:
        pid = broker.connection.get_server_pid()
        killer = await asyncpg.connect(live.dsn_of(_url(live_db)))
        try:
            await killer.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        resync = await sub.get(wait=WAIT)
        assert resync is not None and resync.resync
        assert broker.connection is not None and broker.connection.get_server_pid() != pid
        await _say(live_db, "t", after="reconnect")
        assert await sub.get(wait=WAIT) == live.Message("t", {"after": "reconnect"})
    await broker.close()


async def test_publish_refuses_large_payloads(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="too large"):
        await live.publish(session, "t", blob="x" * 9000)


# --- server-sent events -------------------------------------------------------------------------


class Stream:
    """A GET held open against an ASGI app, read as it streams (httpx's ASGI transport would
    wait for the end of a response that never ends)."""

    def __init__(self, app: Any, path: str, *, headers: dict[str, str] | None = None) -> None:
        self.app, self.path, self.extra = app, path, headers or {}
        self.text = ""
        self.status = 0
        self._chunks: asyncio.Queue[str] = asyncio.Queue()
        self._gone = asyncio.Event()

    async def __aenter__(self) -> Stream:
        path, _, query = self.path.partition("?")
        headers = {"host": "localhost", "accept": "text/html, text/event-stream", **self.extra}
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 5000),
            "server": ("localhost", 80),
        }
        asked = False

        async def receive() -> dict[str, Any]:
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await self._gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
            elif message["type"] == "http.response.body":
                self._chunks.put_nowait(message.get("body", b"").decode())

        self.task = asyncio.create_task(self.app(scope, receive, send))
        return self

    async def until(self, found: Callable[[str], bool], wait: float = WAIT) -> str:
        async with asyncio.timeout(wait):
            while not found(self.text):
                self.text += await self._chunks.get()
        return self.text

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        self._gone.set()
        await asyncio.wait_for(self.task, WAIT)


async def _signed_in(db: Database, app: Any) -> tuple[httpx.AsyncClient, dict[str, str]]:
    """A client of ``app`` signed in as a new account with a persona, and a form's CSRF field."""
    async with db.session() as s, s.begin():
        account = await make_account(s)
        persona = await make_persona(s, account, name="Ada from Exeter")
        token = await identity.start_session(s, account, now=now())
    cookie = secrets.token_urlsafe(24)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://localhost",
        cookies={auth.SESSION_COOKIE: token, auth.CSRF_COOKIE: cookie},
    )
    form = {"csrf_token": auth.csrf_token(app.state.keys, cookie), "persona_id": str(persona.id)}
    return client, form


async def test_a_comment_posted_on_one_process_streams_to_a_page_on_another(
    live_db: Database, settings: Settings
) -> None:
    async with live_db.session() as s, s.begin():
        idea = await make_idea(s, await make_call(s))
    # Two "processes": two apps, each with its own engine (and so its own connections).
    a_db, b_db = Database(create_engine(_url(live_db))), Database(create_engine(_url(live_db)))
    app_a, app_b = create_app(settings, db=a_db), create_app(settings, db=b_db)
    try:
        client, form = await _signed_in(live_db, app_a)
        async with client, Stream(app_b, f"/ideas/{idea.id}/comments/stream?after=0") as page:
            await page.until(lambda t: "listening" in t)
            assert page.status == 200 and page.headers["content-type"].startswith(
                "text/event-stream"
            )
            posted = await client.post(
                f"/ideas/{idea.id}/comments",
                data={**form, "body": "Buses *every* hour", "stance": "for"},
            )
            assert posted.status_code == 303
            assert posted.headers["location"].startswith(f"/ideas/{idea.id}#comment-")
            text = await page.until(lambda t: "Buses" in t)
            assert f'hx-target="#comments-{idea.id}-list"' in text and "<em>every</em>" in text
            assert "Ada from Exeter" in text and "<strong>1</strong> for" in text
            comment_id = int(posted.headers["location"].rsplit("-", 1)[1])
            assert f"id: {comment_id}" in text
            # A reply lands in its parent's reply list; a deletion replaces the comment in place.
            await client.post(
                f"/ideas/{idea.id}/comments",
                data={**form, "body": "Agreed", "parent_id": str(comment_id)},
            )
            await page.until(lambda t: f'hx-target="#replies-{comment_id}"' in t)
            await client.post(f"/ideas/{idea.id}/comments/{comment_id}/delete", data=form)
            await page.until(lambda t: "This comment was deleted" in t)
        for app in (app_a, app_b):
            await live.close_broker(app)
    finally:
        await a_db.dispose()
        await b_db.dispose()


async def test_stream_catches_up_from_the_last_event_and_ends_when_the_client_goes(
    live_db: Database, live_app: Any
) -> None:
    async with live_db.session() as s, s.begin():
        account = await make_account(s)
        persona = await make_persona(s, account)
        idea = await make_idea(s, await make_call(s))
        ids = []
        for body in ("one", "two", "three"):
            c = await service.create_comment(
                s, account, idea_id=idea.id, persona_id=persona.id, body=body, now=now()
            )
            ids.append(c.id)
    async with Stream(
        live_app, f"/ideas/{idea.id}/comments/stream", headers={"last-event-id": str(ids[0])}
    ) as page:
        text = await page.until(lambda t: "three" in t)
        assert "<p>one</p>" not in text and "<p>two</p>" in text
        broker = live.broker_for(live_app)
        assert broker.subscriber_count == 1
    assert page.task.done() and broker.subscriber_count == 0
    await live.close_broker(live_app)


async def test_stream_of_a_hidden_or_unknown_idea_is_not_found(
    live_db: Database, live_app: Any, live_client: httpx.AsyncClient
) -> None:
    async with live_db.session() as s, s.begin():
        idea = await make_idea(s, await make_call(s))
        idea.hidden_at = now() - dt.timedelta(minutes=1)
    for idea_id in (idea.id, 10**9):
        response = await live_client.get(
            f"/ideas/{idea_id}/comments/stream", headers={"accept": "text/event-stream"}
        )
        assert response.status_code == 404


async def test_served_sse_extension_matches_recorded_checksum(client: httpx.AsyncClient) -> None:
    recorded = json.loads((PROJECT_ROOT / "web/static/vendor/htmx/VERSION.json").read_text())
    entry = recorded["extensions"]["sse"]
    response = await client.get(f"/static/vendor/htmx/{entry['file']}")
    assert response.status_code == 200 and "javascript" in response.headers["content-type"]
    assert hashlib.sha256(response.content).hexdigest() == entry["sha256"]
    source = PROJECT_ROOT / "node_modules/htmx.org" / entry["source"]
    assert hashlib.sha256(source.read_bytes()).hexdigest() == entry["sha256"]
