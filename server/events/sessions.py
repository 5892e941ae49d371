"""Sessions of an Open Ideas Day (ideas turned into topics, at a venue and time) and the notes
and solutions hosts post after the day.

No two sessions overlap at one venue. There is no exclusion constraint in the schema, so the
check runs with the venue's row locked (``FOR UPDATE``): two organisers placing sessions at the
same venue at once are served one after the other, and the second sees the first's session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.calls.models import Call
from server.errors import NotFound, ValidationFailed
from server.events.models import Event, EventSession, Solution, Venue
from server.events.service import call_of, get_event, get_venue, require_host, require_manager
from server.ideas.models import Idea
from server.identity.models import Account
from server.web import LONDON

MAX_TITLE = 200
MAX_NOTES = 50_000
MAX_BODY = 20_000


@dataclass(frozen=True, slots=True)
class SessionInput:
    venue_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    idea_id: int | None = None
    title: str = ""


def clock(when: dt.datetime) -> str:
    return when.astimezone(LONDON).strftime("%H:%M")


async def get_session(
    session: AsyncSession, session_id: int, *, lock: bool = False
) -> EventSession:
    row = await session.get(EventSession, session_id, with_for_update=lock, populate_existing=lock)
    if row is None:
        raise NotFound("There is no such session.")
    return row


async def _idea_of_call(session: AsyncSession, call: Call, idea_id: int) -> Idea | None:
    idea = await session.get(Idea, idea_id)
    if idea is None or idea.call_id != call.id or idea.published_at is None:
        return None
    return idea


async def assign_session(
    session: AsyncSession,
    actor: Account,
    event_id: int,
    data: SessionInput,
    *,
    session_id: int | None = None,
) -> EventSession:
    """Create a session (or, with ``session_id``, move or retitle one) at a venue and time."""
    event = await get_event(session, event_id)
    call = await require_manager(session, actor, event)
    errors: dict[str, str] = {}
    existing = await get_session(session, session_id, lock=True) if session_id else None
    if existing is not None:
        old_venue = await get_venue(session, existing.venue_id)
        if old_venue.event_id != event.id:
            raise NotFound("That session is not part of this event.")
    venue = await session.get(Venue, data.venue_id, with_for_update=True)
    if venue is None or venue.event_id != event.id:
        errors["venue_id"] = "Choose one of this event's venues."
    idea = None
    if data.idea_id is not None:
        idea = await _idea_of_call(session, call, data.idea_id)
        if idea is None:
            errors["idea_id"] = "Choose an idea posted to this call."
    title = data.title.strip() or (idea.title if idea else "")
    if not title:
        errors["title"] = "Give the session a title, or choose an idea for its topic."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Keep the title to {MAX_TITLE} characters or fewer."
    if data.starts_at.tzinfo is None or data.ends_at.tzinfo is None:
        errors["starts_at"] = "Give the times with a time zone."
    elif data.ends_at <= data.starts_at:
        errors["ends_at"] = "The session must end after it starts."
    elif data.starts_at < event.starts_at or data.ends_at > event.ends_at:
        errors["starts_at"] = (
            f"Sessions must fit within the event, from {clock(event.starts_at)} to "
            f"{clock(event.ends_at)}."
        )
    if errors:
        raise ValidationFailed(errors=errors)
    assert venue is not None
    clash = await session.scalar(
        select(EventSession)
        .where(
            EventSession.venue_id == venue.id,
            EventSession.starts_at < data.ends_at,
            EventSession.ends_at > data.starts_at,
            EventSession.id != (session_id or 0),
        )
        .order_by(EventSession.starts_at)
        .limit(1)
    )
    if clash is not None:
        raise ValidationFailed(
            f"{venue.name} already has “{clash.title}” from {clock(clash.starts_at)} to "
            f"{clock(clash.ends_at)}. Sessions at one venue cannot overlap: choose another time "
            "or venue.",
            field="starts_at",
        )
    row = existing or EventSession(notes="")
    row.venue_id = venue.id
    row.idea_id = idea.id if idea else None
    row.title = title
    row.starts_at = data.starts_at
    row.ends_at = data.ends_at
    if existing is None:
        session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor.id,
        action="session.updated" if existing else "session.created",
        subject_type="event_session",
        subject_id=row.id,
        venue_id=venue.id,
        idea_id=row.idea_id,
    )
    return row


async def remove_session(session: AsyncSession, actor: Account, session_id: int) -> Event:
    row = await get_session(session, session_id, lock=True)
    venue = await get_venue(session, row.venue_id)
    event = await get_event(session, venue.event_id)
    await require_manager(session, actor, event)
    await session.delete(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor.id,
        action="session.removed",
        subject_type="event_session",
        subject_id=session_id,
    )
    return event


async def _hosted_session(
    session: AsyncSession, actor: Account, session_id: int, now: dt.datetime, field: str
) -> tuple[EventSession, Venue]:
    row = await get_session(session, session_id, lock=True)
    venue = await get_venue(session, row.venue_id)
    await require_host(session, actor, venue)
    if now < row.starts_at:
        raise ValidationFailed(
            "Notes and solutions can be posted once the session has started.", field=field
        )
    return row, venue


async def post_notes(
    session: AsyncSession, actor: Account, session_id: int, notes: str, *, now: dt.datetime
) -> EventSession:
    """The host's notes of the session (Markdown); posting again replaces them."""
    row, _ = await _hosted_session(session, actor, session_id, now, "notes")
    if len(notes) > MAX_NOTES:
        raise ValidationFailed(
            f"Keep the notes to {MAX_NOTES:,} characters or fewer.", field="notes"
        )
    row.notes = notes.strip()
    row.notes_posted_at = now if row.notes else None
    await session.flush()
    await audit.record(
        session,
        actor=actor.id,
        action="session.notes_posted",
        subject_type="event_session",
        subject_id=row.id,
    )
    return row


async def add_solution(
    session: AsyncSession,
    actor: Account,
    session_id: int,
    *,
    title: str,
    body: str,
    idea_id: int | None,
    now: dt.datetime,
) -> Solution:
    """A solution that came out of the session, linked to the idea it answers (the session's
    own idea unless another idea of the call is given)."""
    row, venue = await _hosted_session(session, actor, session_id, now, "title")
    call = await call_of(session, await get_event(session, venue.event_id))
    errors: dict[str, str] = {}
    linked = idea_id if idea_id is not None else row.idea_id
    if linked is not None and await _idea_of_call(session, call, linked) is None:
        errors["idea_id"] = "Choose an idea posted to this call."
    if not title.strip():
        errors["title"] = "Give the solution a title."
    elif len(title.strip()) > MAX_TITLE:
        errors["title"] = f"Keep the title to {MAX_TITLE} characters or fewer."
    if len(body) > MAX_BODY:
        errors["body"] = f"Keep the description to {MAX_BODY:,} characters or fewer."
    if errors:
        raise ValidationFailed(errors=errors)
    solution = Solution(session_id=row.id, idea_id=linked, title=title.strip(), body=body.strip())
    session.add(solution)
    await session.flush()
    await audit.record(
        session,
        actor=actor.id,
        action="solution.added",
        subject_type="solution",
        subject_id=solution.id,
        idea_id=linked,
    )
    return solution


# --- Reading ------------------------------------------------------------------------------


async def sessions_of(
    session: AsyncSession, event_ids: Sequence[int]
) -> list[tuple[EventSession, Venue]]:
    """Each event's sessions with their venues, in time order then by venue."""
    rows = await session.execute(
        select(EventSession, Venue)
        .join(Venue, Venue.id == EventSession.venue_id)
        .where(Venue.event_id.in_(event_ids))
        .order_by(EventSession.starts_at, Venue.name, EventSession.id)
    )
    return [(a, b) for a, b in rows]


async def solutions_of(
    session: AsyncSession, session_ids: Sequence[int]
) -> dict[int, list[Solution]]:
    out: dict[int, list[Solution]] = {}
    rows = await session.scalars(
        select(Solution).where(Solution.session_id.in_(session_ids)).order_by(Solution.id)
    )
    for solution in rows:
        out.setdefault(solution.session_id, []).append(solution)
    return out


async def ideas_by_id(session: AsyncSession, idea_ids: Sequence[int | None]) -> dict[int, Idea]:
    wanted = {i for i in idea_ids if i is not None}
    if not wanted:
        return {}
    return {i.id: i for i in await session.scalars(select(Idea).where(Idea.id.in_(wanted)))}


async def ideas_of_call(session: AsyncSession, call_id: int) -> list[Idea]:
    """Published, visible ideas an organiser can turn into topics, by title."""
    rows = await session.scalars(
        select(Idea)
        .where(Idea.call_id == call_id, Idea.published_at.is_not(None), Idea.hidden_at.is_(None))
        .order_by(Idea.title)
    )
    return list(rows)
