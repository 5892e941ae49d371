from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from server.db import Database
from server.events.models import (
    Event,
    EventSession,
    Registration,
    RegistrationStatus,
    Solution,
    Venue,
    VenueHost,
)
from server.ideas.models import Idea
from server.loaders import by_id, many_by


def event_by_id(db: Database) -> DataLoader[int, Event | None]:
    return by_id(db, Event)


def venue_by_id(db: Database) -> DataLoader[int, Venue | None]:
    return by_id(db, Venue)


def session_by_id(db: Database) -> DataLoader[int, EventSession | None]:
    return by_id(db, EventSession)


def solution_by_id(db: Database) -> DataLoader[int, Solution | None]:
    return by_id(db, Solution)


def idea_by_id(db: Database) -> DataLoader[int, Idea | None]:
    """Ideas linked from sessions and solutions (visible ones only: published, not hidden)."""

    async def load(ids: Sequence[int]) -> list[Idea | None]:
        async with db.session() as session:
            rows = await session.scalars(
                select(Idea).where(
                    Idea.id.in_(ids), Idea.published_at.is_not(None), Idea.hidden_at.is_(None)
                )
            )
            found = {row.id: row for row in rows}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def events_by_call(db: Database) -> DataLoader[int, list[Event]]:
    return many_by(db, Event, Event.call_id, [Event.starts_at, Event.id])


def venues_by_event(db: Database) -> DataLoader[int, list[Venue]]:
    return many_by(db, Venue, Venue.event_id, [Venue.name, Venue.id])


def solutions_by_session(db: Database) -> DataLoader[int, list[Solution]]:
    return many_by(db, Solution, Solution.session_id, [Solution.id])


def hosts_by_venue(db: Database) -> DataLoader[int, list[VenueHost]]:
    return many_by(db, VenueHost, VenueHost.venue_id, [VenueHost.account_id])


def live_registrations_by_venue(db: Database) -> DataLoader[int, list[Registration]]:
    return many_by(
        db,
        Registration,
        Registration.venue_id,
        [Registration.id],
        where=lambda: Registration.status != RegistrationStatus.CANCELLED,
    )


def sessions_by_event(db: Database) -> DataLoader[int, list[EventSession]]:
    """Each event's sessions, in time order then by venue name."""

    async def load(keys: Sequence[int]) -> list[list[EventSession]]:
        grouped: dict[int, list[EventSession]] = defaultdict(list)
        async with db.session() as session:
            rows = await session.execute(
                select(EventSession, Venue.event_id)
                .join(Venue, Venue.id == EventSession.venue_id)
                .where(Venue.event_id.in_(keys))
                .order_by(EventSession.starts_at, Venue.name, EventSession.id)
            )
            for row, event_id in rows:
                grouped[event_id].append(row)
        return [grouped.get(k, []) for k in keys]

    return DataLoader(load_fn=load)


def waitlist_length_by_venue(db: Database) -> DataLoader[int, int]:
    async def load(keys: Sequence[int]) -> list[int]:
        async with db.session() as session:
            rows = await session.execute(
                select(Registration.venue_id, func.count())
                .where(
                    Registration.venue_id.in_(keys),
                    Registration.status == RegistrationStatus.WAITLISTED,
                )
                .group_by(Registration.venue_id)
            )
            counts = {venue_id: count for venue_id, count in rows}
        return [counts.get(k, 0) for k in keys]

    return DataLoader(load_fn=load)


def live_registration_by_account_event(
    db: Database,
) -> DataLoader[tuple[int, int], Registration | None]:
    """The live registration of (account id, event id), if any."""

    async def load(keys: Sequence[tuple[int, int]]) -> list[Registration | None]:
        accounts = {a for a, _ in keys}
        events = {e for _, e in keys}
        async with db.session() as session:
            rows = await session.scalars(
                select(Registration).where(
                    Registration.account_id.in_(accounts),
                    Registration.event_id.in_(events),
                    Registration.status != RegistrationStatus.CANCELLED,
                )
            )
            found = {(r.account_id, r.event_id): r for r in rows}
        return [found.get(k) for k in keys]

    return DataLoader(load_fn=load)
