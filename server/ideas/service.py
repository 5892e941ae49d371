"""Ideas posted to calls: the rules and the writes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from server.calls.models import Call
from server.errors import ValidationFailed
from server.ideas.models import Idea
from server.pagination import Page, clamp_page_size, decode_cursor, encode_cursor
from server.personas.models import Persona

MAX_TITLE = 200
MAX_BODY = 20_000


async def create_idea(
    session: AsyncSession,
    call: Call,
    author: Persona,
    *,
    title: str,
    body: str,
    now: dt.datetime,
    publish: bool = True,
) -> Idea:
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = "Give your idea a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Keep the title to {MAX_TITLE} characters or fewer."
    if len(body) > MAX_BODY:
        errors["body"] = f"Keep the description to {MAX_BODY:,} characters or fewer."
    if errors:
        raise ValidationFailed(errors=errors)
    idea = Idea(
        call_id=call.id,
        author_persona_id=author.id,
        title=title.strip(),
        body=body,
        published_at=now if publish else None,
    )
    session.add(idea)
    await session.flush()
    return idea


async def list_ideas(
    session: AsyncSession, call_id: int, *, first: int | None = None, after: str | None = None
) -> Page[Idea]:
    """A call's ideas, newest first."""
    size = clamp_page_size(first)
    listed = (Idea.call_id == call_id, Idea.published_at.is_not(None), Idea.hidden_at.is_(None))
    query = select(Idea).where(*listed)
    if after is not None:
        created_at, idea_id = decode_cursor(after, (dt.datetime, int))
        query = query.where(tuple_(Idea.created_at, Idea.id) < tuple_(created_at, idea_id))
    query = query.order_by(Idea.created_at.desc(), Idea.id.desc()).limit(size + 1)
    rows = list(await session.scalars(query))
    items = rows[:size]
    total = await session.scalar(select(func.count()).select_from(Idea).where(*listed))
    return Page(
        items=items,
        cursors=[encode_cursor((i.created_at, i.id)) for i in items],
        has_next=len(rows) > size,
        total=total,
    )
