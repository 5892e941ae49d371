"""Live updates across every server process, through PostgreSQL LISTEN/NOTIFY.

Writers call :func:`publish` inside their transaction: PostgreSQL delivers the notification to
every listener only if and when that transaction commits. Each app has one :class:`Broker`
(:func:`broker_for`), which holds ONE dedicated asyncpg connection listening on
:data:`CHANNEL` while anyone in the process is subscribed, and fans each notification out to
the in-process subscribers of its topic through bounded queues. A subscriber that falls
behind is closed rather than allowed to grow without limit (its client reconnects and
catches up from the database). If the connection drops the broker reconnects with backoff and
tells every subscriber to ``resync``, because notifications sent meanwhile are lost.

The broker starts on first subscription and stops (closing its connection) when the last
subscriber leaves, so it needs no lifespan hook; :func:`close_broker` stops it at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

log = logging.getLogger(__name__)

CHANNEL = "moot_live"
MAX_PAYLOAD = 7_900  # PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more


async def publish(session: AsyncSession, topic: str, **data: Any) -> None:
    """Announce ``data`` to subscribers of ``topic`` once the session's transaction commits.
    Keep it small (ids, not content): subscribers read what they need from the database."""
    payload = json.dumps({"topic": topic, **data}, separators=(",", ":"))
    if len(payload.encode()) > MAX_PAYLOAD:
        raise ValueError("live payload too large: send ids, not content")
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
    )


@dataclass(frozen=True, slots=True)
class Message:
    """What a subscriber receives: a notification on its topic, or ``resync`` (with empty
    data) after the broker reconnected and may have missed some."""

    topic: str
    data: dict[str, Any]
    resync: bool = False


class SubscriptionClosed(Exception):
    """The subscriber fell behind (or the broker closed): stop and let the client reconnect."""


@dataclass(eq=False)
class Subscription:
    topic: str
    queue: asyncio.Queue[Message | None]
    closed: bool = False

    async def get(self, wait: float | None = None) -> Message | None:
        """The next message, or None after ``wait`` seconds with nothing to say.
        Raises SubscriptionClosed once the broker has dropped this subscriber."""
        if self.closed and self.queue.empty():
            raise SubscriptionClosed
        try:
            message = await asyncio.wait_for(self.queue.get(), wait)
        except TimeoutError:
            return None
        if message is None:
            raise SubscriptionClosed
        return message

    def drain(self) -> list[Message]:
        """The messages already waiting, without waiting for more (to handle a burst at once).
        Raises SubscriptionClosed once the broker has dropped this subscriber."""
        out: list[Message] = []
        while not self.queue.empty():
            message = self.queue.get_nowait()
            if message is None:
                raise SubscriptionClosed
            out.append(message)
        return out


@dataclass
class Broker:
    dsn: str
    queue_size: int = 100
    connect_timeout: float = 5.0
    ping_interval: float = 30.0
    min_backoff: float = 0.2
    max_backoff: float = 10.0
    _topics: dict[str, set[Subscription]] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    connection: asyncpg.Connection | None = None  # exposed for tests and diagnostics

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._topics.values())

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @contextlib.asynccontextmanager
    async def subscribe(
        self, topic: str, *, ready_timeout: float | None = None
    ) -> AsyncIterator[Subscription]:
        """Receive the topic's messages while the block runs. Waits (up to ``ready_timeout``)
        until the broker is listening, so whatever commits after entry is delivered."""
        sub = Subscription(topic, asyncio.Queue(maxsize=self.queue_size))
        self._topics.setdefault(topic, set()).add(sub)
        if not self.running:
            self._ready.clear()
            self._task = asyncio.create_task(self._run(), name="moot-live-broker")
        try:
            timeout = self.connect_timeout if ready_timeout is None else ready_timeout
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout)
            yield sub
        finally:
            self._drop(sub)

    def _drop(self, sub: Subscription) -> None:
        subs = self._topics.get(sub.topic)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._topics[sub.topic]
        if not self._topics:
            self._wake.set()  # nobody left: the listener stops and closes its connection

    def _close_subscriber(self, sub: Subscription) -> None:
        sub.closed = True
        while not sub.queue.empty():
            sub.queue.get_nowait()
        sub.queue.put_nowait(None)
        self._drop(sub)

    def _deliver(self, sub: Subscription, message: Message) -> None:
        try:
            sub.queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("live subscriber on %s fell behind; closing it", sub.topic)
            self._close_subscriber(sub)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
            topic = data.pop("topic")
        except (ValueError, KeyError, AttributeError, TypeError):
            log.warning("ignoring malformed live payload")
            return
        if not isinstance(topic, str):
            return
        for sub in list(self._topics.get(topic, ())):
            self._deliver(sub, Message(topic, data))

    def _resync_all(self) -> None:
        for subs in list(self._topics.values()):
            for sub in list(subs):
                self._deliver(sub, Message(sub.topic, {}, resync=True))

    async def _run(self) -> None:
        backoff = self.min_backoff
        first = True
        try:
            while self._topics:
                self._wake.clear()
                try:
                    conn = await asyncpg.connect(self.dsn, timeout=self.connect_timeout)
                except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                    log.warning("live: cannot connect (%s); retrying in %.1fs", exc, backoff)
                    await self._pause(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                resync, first = not first, False
                try:
                    await self._listen(conn, resync=resync)
                    backoff = self.min_backoff
                except (
                    OSError,
                    TimeoutError,
                    asyncpg.PostgresError,
                    asyncpg.InterfaceError,
                ) as exc:
                    log.warning("live: connection lost (%s); reconnecting", exc)
                finally:
                    self._ready.clear()
                    self.connection = None
                    await _close_quietly(conn)
                if self._topics:
                    await self._pause(backoff)
        finally:
            self._ready.clear()

    async def _listen(self, conn: asyncpg.Connection, *, resync: bool) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        await conn.add_listener(CHANNEL, self._on_notify)
        self.connection = conn
        self._ready.set()
        if resync:
            self._resync_all()
        while self._topics and not lost.is_set() and not conn.is_closed():
            waits = [asyncio.ensure_future(lost.wait()), asyncio.ensure_future(self._wake.wait())]
            try:
                await asyncio.wait(waits, timeout=self.ping_interval, return_when="FIRST_COMPLETED")
            finally:
                for w in waits:
                    w.cancel()
            self._wake.clear()
            if self._topics and not lost.is_set():
                # A half-open TCP connection never says it is gone: ask it something.
                await conn.fetchval("SELECT 1", timeout=self.connect_timeout)
        if lost.is_set() or conn.is_closed():
            raise ConnectionError("listener connection closed")

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def close(self) -> None:
        """Close every subscriber and the listener connection."""
        for subs in list(self._topics.values()):
            for sub in list(subs):
                self._close_subscriber(sub)
        self._topics.clear()
        self._wake.set()
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _close_quietly(conn: asyncpg.Connection) -> None:
    if conn.is_closed():
        return
    try:
        await asyncio.wait_for(conn.close(), 2.0)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn.terminate()


def dsn_of(url: str) -> str:
    """asyncpg's own DSN for a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def broker_for(app: Starlette) -> Broker:
    """The app's broker, made on first use from the app's database URL."""
    broker: Broker | None = getattr(app.state, "live", None)
    if broker is None:
        url = app.state.db.engine.url.render_as_string(hide_password=False)
        broker = Broker(dsn_of(url))
        app.state.live = broker
    return broker


async def close_broker(app: Starlette) -> None:
    broker: Broker | None = getattr(app.state, "live", None)
    if broker is not None:
        await broker.close()
