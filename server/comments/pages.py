"""Pages for comments. ``idea_comments_context`` feeds the idea page's discussion section
(web/templates/comments/_section.html)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.routing import BaseRoute

from server.ideas.models import Idea


async def idea_comments_context(
    request: Request, session: AsyncSession, idea: Idea
) -> dict[str, Any]:
    """What comments/_section.html needs to show the discussion of ``idea``."""
    return {}


routes: list[BaseRoute] = []
