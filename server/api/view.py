"""The /graphql endpoint: GraphiQL for browsers, JSON for clients."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from server.api.auth import ANONYMOUS, identify
from server.api.context import Context, Loaders
from server.api.schema import schema
from server.db import Database
from server.identity.jose import InvalidToken
from server.web import now


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, db: Database) -> None:
        super().__init__(schema, graphql_ide="graphiql", allow_queries_via_get=True)
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        conn = HTTPConnection(scope)
        try:
            caller = await identify(conn)
        except InvalidToken as exc:
            # Refused before execution, in GraphQL's error shape, with the standard challenge.
            response = JSONResponse(
                {"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        await super().__call__(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        caller = request.scope.get("state", {}).get("caller", ANONYMOUS)
        return Context(
            request=request, db=self.db, loaders=Loaders(self.db), now=now(), caller=caller
        )

    async def get_root_value(self, request: Any) -> None:
        return None
