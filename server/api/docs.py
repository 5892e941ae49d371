"""The API's documentation: /api (a page for people), the SDL and the example operations as text.

Mount with ``*docs.routes`` in ``server.app``'s routes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from server.api.guards import RATE_WINDOW
from server.api.limits import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from server.api.persisted import OperationStore
from server.api.view import OPERATIONS_DIR, GraphQLApp
from server.errors import NotFound
from server.settings import PROJECT_ROOT, Settings
from server.web import render

SCHEMA_FILE = PROJECT_ROOT / "graphql" / "schema.graphql"
TEXT = "text/plain; charset=utf-8"

# Loaded once, at start-up, like the GraphQL endpoint's own copy.
operations = OperationStore.load(OPERATIONS_DIR)


async def api_page(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    return render(
        request,
        "api.html",
        {
            "settings": settings,
            "operations": operations.operations,
            "default_page_size": DEFAULT_PAGE_SIZE,
            "max_page_size": MAX_PAGE_SIZE,
            "rate_window_seconds": int(RATE_WINDOW.total_seconds()),
            "max_subscriptions": GraphQLApp.max_subscriptions,
            "idle_minutes": f"{GraphQLApp.idle_timeout / 60:g}",
        },
    )


async def schema_sdl(request: Request) -> Response:
    return PlainTextResponse(SCHEMA_FILE.read_text(encoding="utf-8"), media_type=TEXT)


async def operation_text(request: Request) -> Response:
    operation = operations.by_name(request.path_params["name"])
    if operation is None:
        raise NotFound("There is no example operation by that name.")
    return PlainTextResponse(operation.text, media_type=TEXT)


routes = [
    Route("/api", api_page, methods=["GET"]),
    Route("/api/schema.graphql", schema_sdl, methods=["GET"]),
    Route("/api/operations/{name}.graphql", operation_text, methods=["GET"]),
]
