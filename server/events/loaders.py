from __future__ import annotations

from strawberry.dataloader import DataLoader

from server.db import Database
from server.events.models import Event, Venue
from server.loaders import by_id, many_by


def event_by_id(db: Database) -> DataLoader[int, Event | None]:
    return by_id(db, Event)


def venue_by_id(db: Database) -> DataLoader[int, Venue | None]:
    return by_id(db, Venue)


def events_by_call(db: Database) -> DataLoader[int, list[Event]]:
    return many_by(db, Event, Event.call_id, [Event.starts_at, Event.id])


def venues_by_event(db: Database) -> DataLoader[int, list[Venue]]:
    return many_by(db, Venue, Venue.event_id, [Venue.name, Venue.id])
