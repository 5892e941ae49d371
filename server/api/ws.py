"""Subscriptions over WebSocket at /graphql, with the graphql-transport-ws protocol only
(:class:`TransportWS`), for ``view.GraphQLApp``.

The caller is identified from the ``connection_init`` payload (``{"Authorization": "Bearer …"}``;
none: anonymous; a bad token closes the connection with 4401) and counted against the same rate
limit as HTTP requests (4429 when over it), once for the connection and once per ``subscribe``.
Each ``subscribe`` goes through the persisted-operation store and the schema's limits like an
HTTP request; only subscriptions run over the socket (queries and mutations: use HTTP, where the
time limit applies). A connection holds at most ``MAX_SUBSCRIPTIONS`` at once
(``TOO_MANY_SUBSCRIPTIONS``) and is closed (1000) after ``IDLE_TIMEOUT`` seconds without any.
Completing a subscription or closing the socket ends its resolver, which drops its broker
subscription (``server.live``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import TYPE_CHECKING, Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.unset import UNSET, UnsetType

from server.api.auth import ANONYMOUS, Caller
from server.api.context import Context
from server.api.errors import error_body
from server.api.guards import Refused, count_request, hit_limit, resolve_persisted
from server.identity import tokens
from server.identity.jose import InvalidToken
from server.web import now

if TYPE_CHECKING:
    from server.api.view import GraphQLApp

MAX_SUBSCRIPTIONS = 10  # running at once on one WebSocket connection
IDLE_TIMEOUT = 300.0  # seconds a WebSocket may hold no subscription before it is closed
CONNECTION_INIT_TIMEOUT = dt.timedelta(seconds=10)


class SocketRefused(Exception):
    """A WebSocket connection refused at ``connection_init``: closed with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        # A close frame's reason is at most 123 bytes.
        self.reason = reason.encode()[:120].decode(errors="ignore")


class TransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, with Moot's refusals and idle timeout."""

    view: GraphQLApp

    async def handle(self) -> None:
        watcher = asyncio.create_task(self._close_when_idle())
        try:
            await super().handle()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _close_when_idle(self) -> None:
        timeout = self.view.idle_timeout
        tick = min(timeout / 4, 5.0)
        idle_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(tick)
            if self.operations:
                idle_since = None
            elif idle_since is None:
                idle_since = loop.time()
            elif loop.time() - idle_since >= timeout:
                await self.websocket.close(
                    code=1000, reason=f"Closed after {timeout:g} seconds without a subscription"
                )
                return

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketRefused as refusal:
            await self.websocket.close(code=refusal.code, reason=refusal.reason)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self.connection_acknowledged or message["id"] in self.operations:
            await super().handle_subscribe(message)  # closes the connection, as the protocol says
            return
        payload: Any = message.get("payload")
        if not isinstance(payload, dict):
            await self.handle_invalid_message("The subscribe message has no payload.")
            return
        try:
            await admit(self.view, self.context, payload, running=len(self.operations))
        except Refused as refusal:
            error = error_body(refusal.message, refusal.code, **refusal.extensions)["errors"]
            await self.send_message({"id": message["id"], "type": "error", "payload": error})
            return
        await super().handle_subscribe(message)


async def connect(view: GraphQLApp, context: Context) -> UnsetType:
    """Identify the connection from ``connection_init``'s payload (``view.on_ws_connect``).
    Never from cookies: a page on another site could otherwise open a socket as its visitor."""
    conn = context.request
    settings = view.settings_for(conn.scope)
    token = payload_token(context.connection_params or {})
    caller = ANONYMOUS
    try:
        if token is not None:
            try:
                async with view.db.session() as session, session.begin():
                    owner, scopes = await tokens.authenticate_bearer(
                        session, conn.app.state.keys, token, now=now()
                    )
            except InvalidToken as exc:
                await count_request(view.db, conn, settings, None)
                raise SocketRefused(4401, f"{exc.code}: {exc.message}") from None
            caller = Caller(account=owner, scopes=scopes, via="token")
        context.throttle_key = await count_request(view.db, conn, settings, caller, token)
    except Refused as refusal:
        raise SocketRefused(4429, f"{refusal.code}: {refusal.message}") from None
    context.caller = caller
    context.connection_params = None  # the token is not kept around
    unset: UnsetType = UNSET
    return unset


async def admit(
    view: GraphQLApp, context: Context, payload: dict[str, Any], *, running: int
) -> None:
    """Checks on one ``subscribe`` before it runs (raises Refused): the number running, the
    rate limit, the document's size and the persisted-operation store. Sets
    ``payload["query"]`` to the text to run."""
    conn = context.request
    settings = view.settings_for(conn.scope)
    if running >= view.max_subscriptions:
        raise Refused(
            400,
            f"This connection already runs {running} subscriptions; the limit is "
            f"{view.max_subscriptions}. Complete one, or open another connection.",
            "TOO_MANY_SUBSCRIPTIONS",
            limit=view.max_subscriptions,
        )
    if context.throttle_key is not None:
        await hit_limit(view.db, settings, context.throttle_key)
    query = payload.get("query")
    if query is not None and not isinstance(query, str):
        raise Refused(400, "`query` must be a string.", "BAD_REQUEST")
    limit = settings.graphql_max_body_bytes
    if query is not None and len(query.encode()) > limit:
        raise Refused(
            413,
            f"The query is too large: the API's limit is {limit // 1024:,} KB.",
            "PAYLOAD_TOO_LARGE",
            limit=limit,
        )
    text = resolve_persisted(
        view.operations, query, payload.get("extensions"), settings, over_http=False
    )
    if not text:
        raise Refused(400, "The subscribe message has no query.", "BAD_REQUEST")
    payload["query"] = text


def payload_token(params: dict[str, Any]) -> str | None:
    """The bearer token of a ``connection_init`` payload: ``{"Authorization": "Bearer …"}``
    (any case of the key), or None when there is none."""
    header = next((v for k, v in params.items() if k.lower() == "authorization"), None)
    if header is None:
        return None
    if not isinstance(header, str):
        raise SocketRefused(4400, "Authorization must be a string: Bearer <token>.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SocketRefused(4400, 'Send the token as {"Authorization": "Bearer <token>"}.')
    return token.strip()
