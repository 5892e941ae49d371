"""The ASGI application factory: ``create_app(settings)``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from server import health, live
from server.api import docs as api_docs
from server.api.view import GraphQLApp
from server.calls import admin_pages as call_admin_pages
from server.calls import pages as call_pages
from server.comments import pages as comment_pages
from server.db import Database, create_engine
from server.events import pages as event_pages
from server.ideas import pages as idea_pages
from server.identity import (
    account_pages,
    mail,
    oidc_pages,
    staff_verify_pages,
    token_pages,
    verify_pages,
)
from server.identity import pages as identity_pages
from server.identity.auth import AccountMiddleware, BodyLimitMiddleware, CsrfMiddleware
from server.identity.keys import Keys
from server.middleware import AccessLogMiddleware, SecurityHeadersMiddleware
from server.moderation import pages as moderation_pages
from server.notifications import pages as notification_pages
from server.opendata import pages as opendata_pages
from server.outcomes import pages as outcome_pages
from server.personas import pages as persona_pages
from server.settings import Settings
from server.votes import pages as vote_pages
from server.web import EXCEPTION_HANDLERS, build_templates


def create_app(settings: Settings, *, db: Database | None = None) -> Starlette:
    """Build the app. ``db`` lets tests hand in a database bound to their own transaction;
    otherwise the app owns an engine for ``settings.database_url`` and disposes of it on exit."""
    if db is None:
        if settings.database_url is None:
            raise ValueError("create_app needs settings.database_url (moot serve sets it)")
        owned = Database(
            create_engine(
                settings.database_url, pool_size=settings.db_pool_size, timeout=settings.db_timeout
            )
        )
    database = db or owned
    # The API's read-only queries may read from a hot standby (server.api.replica).
    read_db = (
        Database(
            create_engine(
                settings.database_read_url,
                pool_size=settings.db_pool_size,
                timeout=settings.db_timeout,
            )
        )
        if settings.database_read_url
        else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sender = None
        if settings.smtp_url:
            sender = asyncio.create_task(mail.delivery_loop(database, settings.smtp_url))
        yield
        await live.close_broker(app)
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        if db is None:
            await database.dispose()
        if read_db is not None:
            await read_db.dispose()

    graphql = GraphQLApp(database, settings, read_db=read_db)
    app = Starlette(
        debug=False,
        routes=[
            *health.routes,
            *call_admin_pages.routes,
            *call_pages.routes,
            *idea_pages.routes,
            *comment_pages.routes,
            *event_pages.routes,
            *vote_pages.routes,
            *moderation_pages.routes,
            *outcome_pages.routes,
            *notification_pages.routes,
            *opendata_pages.routes,
            *identity_pages.routes,
            *verify_pages.routes,
            *staff_verify_pages.routes,
            *oidc_pages.routes,
            *account_pages.routes,
            *token_pages.routes,
            *persona_pages.routes,
            *api_docs.routes,
            Route("/graphql", graphql, methods=["GET", "POST"]),
            # Subscriptions: graphql-transport-ws (see server/api/ws.py).
            WebSocketRoute("/graphql", graphql),
            Mount("/static", StaticFiles(directory=settings.web_dir / "static"), name="static"),
        ],
        middleware=[
            Middleware(AccessLogMiddleware),
            Middleware(SecurityHeadersMiddleware, hsts=settings.is_production),
            Middleware(
                BodyLimitMiddleware,
                default=settings.max_body_bytes,
                larger={"/admin/registers": settings.max_upload_bytes},
            ),
            Middleware(CsrfMiddleware),
            Middleware(AccountMiddleware),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.templates = build_templates(settings)
    app.state.keys = Keys.load(settings)
    # Parse the OpenID Connect providers now, so a bad OIDC_PROVIDERS stops start-up with a
    # message instead of failing the first sign-in.
    oidc_pages.registry(app)
    return app
