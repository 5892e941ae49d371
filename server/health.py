from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

log = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    """Healthy only when the database answers, so a load balancer stops sending traffic to an
    instance that has lost it."""
    db = request.app.state.db
    timeout = request.app.state.settings.db_timeout
    try:
        async with asyncio.timeout(timeout):
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not healthy", whatever its kind
        log.warning("health check failed: %s", type(exc).__name__)
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


routes = [Route("/healthz", healthz, name="healthz")]
