"""Shared set-up for the events tests: an event of a call open for registration."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from server.calls.models import Call, Organiser
from server.events import service as events
from server.events.models import Event, Venue
from server.events.service import VenueInput
from server.identity import service as identity
from server.identity.models import Account, Role
from tests.factories import make_account, make_call, make_organiser, now


async def make_event(
    session: AsyncSession,
    *,
    call: Call | None = None,
    capacities: tuple[int, ...] = (30, 20),
    starts_in: dt.timedelta = dt.timedelta(days=2),
    hours: int = 6,
) -> tuple[Event, list[Venue]]:
    """An event (by default in two days, while the call's ideas phase allows registering)."""
    call = call or await make_call(session)
    start = (now() + starts_in).replace(second=0, microsecond=0)
    event = await events.create_event(
        session,
        call,
        title="Open Ideas Day",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=hours),
        venues=[
            VenueInput(f"Venue {chr(65 + i)}", f"{i} High Street", capacity)
            for i, capacity in enumerate(capacities)
        ],
    )
    venues = await events.venues_of(session, [event.id])
    return event, venues


async def make_organiser_account(session: AsyncSession, organiser: Organiser) -> Account:
    account = await make_account(session)
    await identity.grant_role(
        session, account, Role.ORGANISER, actor=None, organiser_id=organiser.id
    )
    return account


async def call_with_organiser(session: AsyncSession) -> tuple[Call, Account]:
    organiser = await make_organiser(session)
    call = await make_call(session, organiser=organiser)
    return call, await make_organiser_account(session, organiser)
