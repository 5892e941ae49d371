"""The app as benchmarked: ``server.asgi:app`` itself, plus a stand-in for any feature the
harness measures that is not wired into the app yet (reported as such in the results).

- ``castBallot`` missing from the GraphQL schema: ``POST /bench/cast-ballot`` takes the same
  variables (``ballotId``, ``personaId``, ``choices``), authenticates the bearer token as
  ``/graphql`` does and casts through ``server.votes.casting.cast`` in one transaction.
- the open-data routes missing from the app: ``server.opendata.pages.routes`` are mounted.

Serve with ``uvicorn --factory server.bench.apps:moot_app``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from server.app import create_app
from server.settings import Settings

CAST_PATH = "/bench/cast-ballot"


def has_cast_mutation() -> bool:
    from server.api.schema import schema

    mutation = schema._schema.mutation_type
    return mutation is not None and "castBallot" in mutation.fields


def has_open_data(app: Starlette) -> bool:
    return any(getattr(r, "path", "").startswith("/open-data") for r in app.routes)


def _node_id(value: Any) -> int:
    from strawberry import relay

    if isinstance(value, int):
        return value
    return int(relay.GlobalID.from_id(str(value)).node_id)


async def cast_endpoint(request: Request) -> JSONResponse:
    """What the castBallot mutation does, without GraphQL around it."""
    from server.api.auth import identify
    from server.errors import MootError
    from server.identity.models import TokenScope
    from server.votes import casting
    from server.web import now

    caller = await identify(request)
    if caller.account is None or TokenScope.PARTICIPATE.value not in caller.scopes:
        return JSONResponse({"errors": [{"message": "Not authorised."}]}, status_code=401)
    variables = json.loads(await request.body()).get("variables", {})
    try:
        async with request.app.state.db.session() as session, session.begin():
            row = await casting.cast(
                session,
                _node_id(variables["ballotId"]),
                caller.account,
                _node_id(variables["personaId"]),
                variables["choices"],
                now=now(),
            )
            result = {"id": row.id, "changes": row.changes}
    except MootError as exc:
        return JSONResponse({"data": None, "errors": [{"message": exc.message}]})
    return JSONResponse({"data": {"castBallot": {"myVote": result, "errors": []}}})


class _CastShim:
    """Answers CAST_PATH ahead of the app's CSRF check (it is an API call with a bearer token,
    like /graphql, which that check exempts); everything else goes to the app."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == CAST_PATH:
            scope["app"] = self.app
            response = await cast_endpoint(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def moot_app() -> Any:
    app = create_app(Settings.from_env())
    if not has_open_data(app):
        from server.opendata import pages as opendata_pages

        app.router.routes.extend(opendata_pages.routes)
    if not has_cast_mutation():
        return _CastShim(app)
    return app


def features(settings: Settings) -> dict[str, bool]:
    """What the app serves natively (True) or through this module's stand-ins (False)."""
    app = create_app(settings)
    return {"castBallot mutation": has_cast_mutation(), "open-data routes": has_open_data(app)}
