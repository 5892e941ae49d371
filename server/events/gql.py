from __future__ import annotations

import datetime as dt
from typing import Self

import strawberry
from strawberry import relay

from server.api.context import Info
from server.api.relay import RowNode
from server.events import loaders
from server.events.models import Event as EventRow
from server.events.models import Venue as VenueRow


@strawberry.type(description="A place where an event's sessions are held in parallel.")
class Venue(RowNode):
    loader = staticmethod(loaders.venue_by_id)
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Name of the venue.")
    address: str = strawberry.field(description="Postal address.")
    capacity: int = strawberry.field(description="How many people can attend.")
    accessibility: str = strawberry.field(description="Access notes (step-free, hearing loop…).")

    @classmethod
    def from_row(cls, row: VenueRow) -> Self:
        return cls(
            id=row.id,
            name=row.name,
            address=row.address,
            capacity=row.capacity,
            accessibility=row.accessibility,
        )


@strawberry.type(description="An in-person day of a call, such as an Open Ideas Day.")
class Event(RowNode):
    loader = staticmethod(loaders.event_by_id)
    id: relay.NodeID[int]
    title: str = strawberry.field(description="The event's title.")
    description: str = strawberry.field(description="What happens on the day (Markdown).")
    starts_at: dt.datetime = strawberry.field(description="When the event starts.")
    ends_at: dt.datetime = strawberry.field(description="When the event ends.")

    @classmethod
    def from_row(cls, row: EventRow) -> Self:
        return cls(
            id=row.id,
            title=row.title,
            description=row.description,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
        )

    @strawberry.field(description="The venues, by name.")
    async def venues(self, info: Info) -> list[Venue]:
        rows = await info.context.loaders.get(loaders.venues_by_event).load(self.id)
        return [Venue.from_row(r) for r in rows]


async def events_of_call(info: Info, call_id: int) -> list[EventRow]:
    return await info.context.loaders.get(loaders.events_by_call).load(call_id)


@strawberry.type
class EventsQuery:
    """Root query fields of this domain (mixed into the schema's Query)."""


@strawberry.type
class EventsMutations:
    """Mutations of this domain (mixed into the schema's Mutation)."""
