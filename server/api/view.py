"""The /graphql endpoint: GraphiQL for browsers, JSON for clients.

Before a request reaches the schema it is identified (a bad token answers 401), counted against
the rate limit (429 with Retry-After), its body is read up to the API's own limit (413), batches
are refused (400, ``BATCH_REFUSED``) and persisted operations are looked up (``persisted.py``).
Then the schema checks the query's limits before validating it (``limits.py``) and the execution
runs under a timeout (``TIMEOUT``). Every refusal is in GraphQL's shape:
``{"errors": [{"message": …, "extensions": {"code": …}}]}``.

Subscriptions use WebSocket on the same path, with the graphql-transport-ws protocol only
(:class:`TransportWS`). The caller is identified from the ``connection_init`` payload
(``{"Authorization": "Bearer …"}``; none: anonymous; a bad token closes the connection with
4401) and counted against the same rate limit (4429 when over it), once for the connection and
once per ``subscribe``. Each ``subscribe`` goes through the persisted-operation store and the
schema's limits like an HTTP request; only subscriptions run over the socket (queries and
mutations: use HTTP, where the time limit applies). A connection holds at most
``MAX_SUBSCRIPTIONS`` at once (``TOO_MANY_SUBSCRIPTIONS``) and is closed (1000) after
``IDLE_TIMEOUT`` seconds without any. Completing a subscription or closing the socket ends its
resolver, which drops its broker subscription (``server.live``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import json
import logging
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from server.api.auth import ANONYMOUS, Caller, bearer_token, identify
from server.api.context import Context, Loaders
from server.api.errors import error_body
from server.api.persisted import OperationStore, PersistedError
from server.api.schema import schema
from server.db import Database
from server.errors import PayloadTooLarge, RateLimited
from server.identity import throttle, tokens
from server.identity.jose import InvalidToken
from server.identity.keys import Keys
from server.settings import PROJECT_ROOT, Settings
from server.web import now

log = logging.getLogger(__name__)

OPERATIONS_DIR = PROJECT_ROOT / "graphql" / "operations"
RATE_WINDOW = dt.timedelta(minutes=1)
MAX_SUBSCRIPTIONS = 10  # running at once on one WebSocket connection
IDLE_TIMEOUT = 300.0  # seconds a WebSocket may hold no subscription before it is closed
CONNECTION_INIT_TIMEOUT = dt.timedelta(seconds=10)
GRAPHIQL_FILES = (
    "vendor/graphiql/react.production.min.js",
    "vendor/graphiql/react-dom.production.min.js",
    "vendor/graphiql/graphiql.min.js",
    "vendor/graphiql/start.js",
)


class Refused(Exception):
    """A request answered before it reaches the schema, in GraphQL's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        self.extensions = extensions

    def response(self) -> Response:
        return JSONResponse(
            error_body(self.message, self.code, **self.extensions),
            status_code=self.status,
            headers=self.headers,
        )


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
            await self.view.admit(self.context, payload, running=len(self.operations))
        except Refused as refusal:
            error = error_body(refusal.message, refusal.code, **refusal.extensions)["errors"]
            await self.send_message({"id": message["id"], "type": "error", "payload": error})
            return
        await super().handle_subscribe(message)


class GraphQLApp(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWS
    max_subscriptions = MAX_SUBSCRIPTIONS
    idle_timeout = IDLE_TIMEOUT

    def __init__(self, db: Database, settings: Settings | None = None) -> None:
        """``settings`` default to the app's (``app.state.settings``), read on first request."""
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
            max_subscriptions_per_connection=None,  # TransportWS refuses with a code instead
        )
        self.db = db
        self.settings = settings
        # Loaded once, at start-up.
        self.operations = OperationStore.load(OPERATIONS_DIR)

    def _settings_for(self, scope: Scope) -> Settings:
        if self.settings is None:
            app = scope.get("app")
            state_settings = getattr(getattr(app, "state", None), "settings", None)
            self.settings = state_settings if isinstance(state_settings, Settings) else Settings()
        return self.settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        settings = self._settings_for(scope)
        try:
            caller = await self._identify(scope, settings)
            body = await self._read_body(scope, receive, settings)
            if body is not None and body.lstrip()[:1] == b"[":
                raise Refused(
                    400,
                    "Batched requests (a JSON array of operations) are not accepted: send one "
                    "operation per request.",
                    "BATCH_REFUSED",
                )
            scope.setdefault("state", {})["caller"] = caller
            request = Request(scope, _replay(body, receive))
            try:
                response = await self.run(request)
            except HTTPException as exc:
                response = Refused(exc.status_code, exc.reason, "BAD_REQUEST").response()
        except Refused as refusal:
            response = refusal.response()
        await response(scope, receive, send)

    async def _identify(self, scope: Scope, settings: Settings) -> Caller:
        conn = HTTPConnection(scope)
        try:
            caller = await identify(conn)
        except InvalidToken as exc:
            # Bad tokens are counted against the address, so guessing them is throttled too.
            await self._count(conn, settings, None)
            # Refused before execution, in GraphQL's error shape, with the standard challenge.
            raise Refused(
                401,
                exc.message,
                exc.code,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from None
        await self._count(conn, settings, caller)
        return caller

    async def _count(
        self,
        conn: HTTPConnection,
        settings: Settings,
        caller: Caller | None,
        token: str | None = None,
    ) -> str:
        """One request against the rate limit: per token, per signed-in browser, or (anonymous
        and bad-token requests) per address. Keys are keyed hashes: no token or address is
        stored. ``token``: the bearer token, when it did not come in a header (WebSocket).
        Returns the key, for the WebSocket's later subscriptions."""
        keys: Keys = conn.app.state.keys
        key: str
        if caller is not None and caller.via == "token":
            token = token or bearer_token(conn) or ""
            key = "gql:t:" + keys.sign("throttle-token", token)
        elif caller is not None and caller.account is not None:
            key = "gql:s:" + keys.sign("throttle-account", str(caller.account.id))
        else:
            address = conn.client.host if conn.client else "unknown"
            key = "gql:a:" + keys.sign("throttle-address", address)
        await self._hit(settings, key)
        return key

    async def _hit(self, settings: Settings, key: str) -> None:
        limit = settings.graphql_rate_per_minute
        if limit <= 0:
            return
        try:
            async with self.db.session() as session, session.begin():
                await throttle.hit(session, key, limit=limit, window=RATE_WINDOW, now=now())
        except RateLimited as exc:
            raise Refused(
                429,
                f"Too many requests: the API allows {limit} per minute. Try again in "
                f"{exc.retry_after} seconds.",
                "RATE_LIMITED",
                headers={"Retry-After": str(exc.retry_after)},
                retryAfter=exc.retry_after,
                limit=limit,
            ) from None

    async def _read_body(self, scope: Scope, receive: Receive, settings: Settings) -> bytes | None:
        if scope["method"] != "POST":
            return None
        limit = settings.graphql_max_body_bytes
        too_large = Refused(
            413,
            f"The request body is too large: the API's limit is {limit // 1024:,} KB. Send "
            "smaller queries, or the hash of a published operation (see /api).",
            "PAYLOAD_TOO_LARGE",
            limit=limit,
        )
        length = HTTPConnection(scope).headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise too_large
        chunks: list[bytes] = []
        seen = 0
        more = True
        while more:
            try:
                message = await receive()
            except PayloadTooLarge:  # the app-wide body limit, when it is the lower one
                raise too_large from None
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                raise too_large
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    # --- WebSocket (graphql-transport-ws) ---------------------------------------------------

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Identify the connection from ``connection_init``'s payload. Never from cookies: a
        page on another site could otherwise open a socket as its visitor."""
        conn = context.request
        settings = self._settings_for(conn.scope)
        token = _payload_token(context.connection_params or {})
        caller = ANONYMOUS
        try:
            if token is not None:
                try:
                    async with self.db.session() as session, session.begin():
                        owner, scopes = await tokens.authenticate_bearer(
                            session, conn.app.state.keys, token, now=now()
                        )
                except InvalidToken as exc:
                    await self._count(conn, settings, None)
                    raise SocketRefused(4401, f"{exc.code}: {exc.message}") from None
                caller = Caller(account=owner, scopes=scopes, via="token")
            context.throttle_key = await self._count(conn, settings, caller, token)
        except Refused as refusal:
            raise SocketRefused(4429, f"{refusal.code}: {refusal.message}") from None
        context.caller = caller
        context.connection_params = None  # the token is not kept around
        unset: UnsetType = UNSET
        return unset

    async def admit(self, context: Context, payload: dict[str, Any], *, running: int) -> None:
        """Checks on one ``subscribe`` before it runs (raises Refused): the number running, the
        rate limit, the document's size and the persisted-operation store. Sets
        ``payload["query"]`` to the text to run."""
        conn = context.request
        settings = self._settings_for(conn.scope)
        if running >= self.max_subscriptions:
            raise Refused(
                400,
                f"This connection already runs {running} subscriptions; the limit is "
                f"{self.max_subscriptions}. Complete one, or open another connection.",
                "TOO_MANY_SUBSCRIPTIONS",
                limit=self.max_subscriptions,
            )
        if context.throttle_key is not None:
            await self._hit(settings, context.throttle_key)
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
        try:
            text = self.operations.resolve(
                query, payload.get("extensions"), allowlist_only=settings.graphql_allowlist_only
            )
        except PersistedError as exc:
            raise Refused(400, exc.message, exc.code) from None
        if not text:
            raise Refused(400, "The subscribe message has no query.", "BAD_REQUEST")
        payload["query"] = text

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET carrying a persisted query's hash has no `query`, but is not a browser visit.
        return super().should_render_graphql_ide(request) and not request.query_params.get(
            "extensions"
        )

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        if isinstance(data, list):  # refused in __call__; kept for safety
            raise Refused(400, "Batched requests are not accepted.", "BATCH_REFUSED")
        settings = self.settings or Settings()
        try:
            query = self.operations.resolve(
                data.query, data.extensions, allowlist_only=settings.graphql_allowlist_only
            )
        except PersistedError as exc:
            status = 400 if exc.code.startswith(("BAD_", "PERSISTED_QUERY_V")) else 200
            raise Refused(status, exc.message, exc.code) from None
        data.query = query
        return data

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        timeout_ms = (self.settings or Settings()).graphql_timeout_ms
        try:
            async with asyncio.timeout(timeout_ms / 1000):
                return await super().execute_single(
                    request=request,
                    request_adapter=request_adapter,
                    sub_response=sub_response,
                    context=context,
                    root_value=root_value,
                    request_data=request_data,
                )
        except TimeoutError:
            log.warning("GraphQL request cancelled after %d ms", timeout_ms)
            error = GraphQLError(
                f"The request took longer than the API's time limit of {timeout_ms:,} ms and "
                "was stopped. Ask for less (smaller pages, fewer nested lists).",
                extensions={"code": "TIMEOUT", "limit": timeout_ms},
            )
            return ExecutionResult(data=None, errors=[error])

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql_page(request, self.operations))

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        caller = request.scope.get("state", {}).get("caller", ANONYMOUS)
        return Context(
            request=request, db=self.db, loaders=Loaders(self.db), now=now(), caller=caller
        )

    async def get_root_value(self, request: Any) -> None:
        return None


def _payload_token(params: dict[str, Any]) -> str | None:
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


def _replay(body: bytes | None, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to Strawberry once."""
    if body is None:
        return receive
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def graphiql_page(request: Request, operations: OperationStore) -> str:
    """GraphiQL from our own static files (no CDN), with the example operations as tabs."""
    static = request.app.state.templates.globals["static"]
    tabs = [{"query": o.text} for o in operations.operations]
    data = json.dumps(
        {"tabs": tabs, "csrfToken": request.scope.get("state", {}).get("csrf_token", "")}
    ).replace("</", "<\\/")
    scripts = "\n".join(
        f'  <script src="{html.escape(static(f))}"></script>' for f in GRAPHIQL_FILES
    )
    stylesheet = html.escape(static("vendor/graphiql/graphiql.min.css"))
    return f"""<!doctype html>
<html lang="en-GB">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>API explorer – Moot</title>
  <link rel="stylesheet" href="{stylesheet}">
</head>
<body>
  <noscript>
    <p>The API explorer needs JavaScript. The API itself does not: see
    <a href="/api">the API documentation</a> for how to send queries.</p>
  </noscript>
  <main id="graphiql" aria-label="GraphiQL API explorer">Loading the API explorer…</main>
  <script type="application/json" id="moot-graphiql">{data}</script>
{scripts}
</body>
</html>
"""
