"""Pages for ideas. ``call_ideas_context`` feeds the ideas section of the call page."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.routing import BaseRoute

from server.calls.models import Call
from server.ideas import service as ideas
from server.outcomes import service as outcomes


async def call_ideas_context(request: Request, session: AsyncSession, call: Call) -> dict[str, Any]:
    """What calls/call.html's ideas section (ideas/_call_ideas.html) needs."""
    page = await ideas.list_ideas(session, call.id, after=request.query_params.get("after"))
    answers = {
        o.idea_id: o for o in await outcomes.outcomes_for(session, [i.id for i in page.items])
    }
    return {"ideas": page, "outcomes": answers}


routes: list[BaseRoute] = []
