"""The /graphql endpoint: GraphiQL for browsers, JSON for clients.

Before a request reaches the schema it is identified (a bad token answers 401), counted against
the rate limit (429 with Retry-After), its body is read up to the API's own limit (413), batches
are refused (400, ``BATCH_REFUSED``) and persisted operations are looked up (``persisted.py``).
Then the schema checks the query's limits before validating it (``limits.py``) and the execution
runs under a timeout (``TIMEOUT``). Every refusal is in GraphQL's shape:
``{"errors": [{"message": …, "extensions": {"code": …}}]}``.
"""

from __future__ import annotations

import asyncio
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
from strawberry.types import ExecutionResult

from server.api.auth import ANONYMOUS, Caller, bearer_token, identify
from server.api.context import Context, Loaders
from server.api.errors import error_body
from server.api.persisted import OperationStore, PersistedError
from server.api.schema import schema
from server.db import Database
from server.errors import PayloadTooLarge, RateLimited
from server.identity import throttle
from server.identity.jose import InvalidToken
from server.settings import PROJECT_ROOT, Settings
from server.web import now

log = logging.getLogger(__name__)

OPERATIONS_DIR = PROJECT_ROOT / "graphql" / "operations"
RATE_WINDOW = dt.timedelta(minutes=1)
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


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, db: Database, settings: Settings | None = None) -> None:
        """``settings`` default to the app's (``app.state.settings``), read on first request."""
        super().__init__(schema, graphql_ide="graphiql")
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

    async def _count(self, conn: HTTPConnection, settings: Settings, caller: Caller | None) -> None:
        """One request against the rate limit: per token, per signed-in browser, or (anonymous
        and bad-token requests) per address. Keys are keyed hashes: no token or address is
        stored."""
        limit = settings.graphql_rate_per_minute
        if limit <= 0:
            return
        keys = conn.app.state.keys
        if caller is not None and caller.via == "token":
            key = "gql:t:" + keys.sign("throttle-token", bearer_token(conn) or "")
        elif caller is not None and caller.account is not None:
            key = "gql:s:" + keys.sign("throttle-account", str(caller.account.id))
        else:
            address = conn.client.host if conn.client else "unknown"
            key = "gql:a:" + keys.sign("throttle-address", address)
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
