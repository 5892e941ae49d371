"""The /graphql endpoint: GraphiQL for browsers, JSON for clients.

Before a request reaches the schema it passes the guards of ``guards.py``: it is identified (a bad
token answers 401), counted against the rate limit (429 with Retry-After), its body is read up to
the API's own limit (413), batches are refused (400, ``BATCH_REFUSED``) and persisted operations
are looked up (``persisted.py``). Then the schema checks the query's limits before validating it
(``limits.py``) and the execution runs under a timeout (``TIMEOUT``). Every refusal is in
GraphQL's shape: ``{"errors": [{"message": …, "extensions": {"code": …}}]}``.

Subscriptions use WebSocket on the same path, with the graphql-transport-ws protocol only: see
``ws.py`` for how the connection is identified, counted and limited.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from server.api import ws
from server.api.auth import ANONYMOUS
from server.api.context import Context, Loaders
from server.api.guards import (
    Refused,
    identify_request,
    read_body,
    refuse_batch,
    replay,
    resolve_persisted,
)
from server.api.persisted import OperationStore
from server.api.schema import schema
from server.db import Database
from server.settings import PROJECT_ROOT, Settings
from server.web import now

log = logging.getLogger(__name__)

OPERATIONS_DIR = PROJECT_ROOT / "graphql" / "operations"
GRAPHIQL_FILES = (
    "vendor/graphiql/react.production.min.js",
    "vendor/graphiql/react-dom.production.min.js",
    "vendor/graphiql/graphiql.min.js",
    "vendor/graphiql/start.js",
)


class GraphQLApp(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = ws.TransportWS
    max_subscriptions = ws.MAX_SUBSCRIPTIONS
    idle_timeout = ws.IDLE_TIMEOUT

    def __init__(
        self, db: Database, settings: Settings | None = None, *, read_db: Database | None = None
    ) -> None:
        """``settings`` default to the app's (``app.state.settings``), read on first request."""
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=ws.CONNECTION_INIT_TIMEOUT,
            max_subscriptions_per_connection=None,  # TransportWS refuses with a code instead
        )
        self.db = db
        self.read_db = read_db
        self.settings = settings
        # Loaded once, at start-up.
        self.operations = OperationStore.load(OPERATIONS_DIR)

    def settings_for(self, scope: Scope) -> Settings:
        if self.settings is None:
            app = scope.get("app")
            state_settings = getattr(getattr(app, "state", None), "settings", None)
            self.settings = state_settings if isinstance(state_settings, Settings) else Settings()
        return self.settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        settings = self.settings_for(scope)
        try:
            caller = await identify_request(self.db, scope, settings)
            body = await read_body(scope, receive, settings)
            refuse_batch(body)
            scope.setdefault("state", {})["caller"] = caller
            request = Request(scope, replay(body, receive))
            try:
                response = await self.run(request)
            except HTTPException as exc:
                response = Refused(exc.status_code, exc.reason, "BAD_REQUEST").response()
        except Refused as refusal:
            response = refusal.response()
        await response(scope, receive, send)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Identify the connection from ``connection_init``'s payload (``ws.connect``)."""
        return await ws.connect(self, context)

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
        data.query = resolve_persisted(
            self.operations, data.query, data.extensions, settings, over_http=True
        )
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
            request=request,
            db=self.db,
            loaders=Loaders(self.db),
            now=now(),
            caller=caller,
            read_db=self.read_db,
        )

    async def get_root_value(self, request: Any) -> None:
        return None


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
