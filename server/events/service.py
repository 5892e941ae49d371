"""Open Ideas Day events and their venues: the rules and the writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.calls.models import Call
from server.errors import ValidationFailed
from server.events.models import Event, Venue

MAX_CAPACITY = 10_000


@dataclass(frozen=True, slots=True)
class VenueInput:
    name: str
    address: str
    capacity: int
    accessibility: str = ""


async def create_event(
    session: AsyncSession,
    call: Call,
    *,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    venues: Sequence[VenueInput],
    description: str = "",
) -> Event:
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = "Give the event a title."
    if ends_at <= starts_at:
        errors["ends_at"] = "The event must end after it starts."
    for i, v in enumerate(venues):
        if not v.name.strip():
            errors[f"venues.{i}.name"] = "Give the venue a name."
        if not 1 <= v.capacity <= MAX_CAPACITY:
            errors[f"venues.{i}.capacity"] = f"Capacity must be between 1 and {MAX_CAPACITY}."
    if errors:
        raise ValidationFailed(errors=errors)
    event = Event(
        call_id=call.id,
        title=title.strip(),
        description=description,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    session.add(event)
    await session.flush()
    session.add_all(
        Venue(
            event_id=event.id,
            name=v.name.strip(),
            address=v.address.strip(),
            capacity=v.capacity,
            accessibility=v.accessibility,
        )
        for v in venues
    )
    await session.flush()
    return event


async def events_of(session: AsyncSession, call_id: int) -> list[Event]:
    rows = await session.scalars(
        select(Event).where(Event.call_id == call_id).order_by(Event.starts_at, Event.id)
    )
    return list(rows)


async def venues_of(session: AsyncSession, event_ids: Sequence[int]) -> list[Venue]:
    rows = await session.scalars(
        select(Venue).where(Venue.event_id.in_(event_ids)).order_by(Venue.event_id, Venue.name)
    )
    return list(rows)
