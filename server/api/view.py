"""The /graphql endpoint: GraphiQL for browsers, JSON for clients."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from server.api.context import Context, Loaders
from server.api.schema import schema
from server.db import Database
from server.web import now


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, db: Database) -> None:
        super().__init__(schema, graphql_ide="graphiql", allow_queries_via_get=True)
        self.db = db

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(request=request, db=self.db, loaders=Loaders(self.db), now=now())

    async def get_root_value(self, request: Any) -> None:
        return None
