"""Pages for Open Ideas Day events. ``call_events_context`` feeds the call page's event section."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.routing import BaseRoute

from server.calls.models import Call
from server.events import service as events


async def call_events_context(
    request: Request, session: AsyncSession, call: Call
) -> dict[str, Any]:
    """What calls/call.html's event section (events/_call_events.html) needs."""
    rows = await events.events_of(session, call.id)
    venues = await events.venues_of(session, [e.id for e in rows])
    return {"events": [(e, [v for v in venues if v.event_id == e.id]) for e in rows]}


routes: list[BaseRoute] = []
