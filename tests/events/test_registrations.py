"""Registering for a venue: places, waitlist, cancelling, checking in, and the rules."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.calls.rules import PhaseClosed
from server.db import Database
from server.errors import Forbidden, NotFound, ValidationFailed
from server.events import registrations, service
from server.events.models import Registration, RegistrationStatus, Venue, VenueHost
from server.events.service import VenueInput
from server.identity.models import Account, AccountKind
from server.notifications.models import Notification, NotificationKind
from server.personas.models import Persona
from tests.events.helpers import call_with_organiser, make_event
from tests.factories import make_account, make_call, make_persona, now


async def _person(session: AsyncSession) -> tuple[Account, Persona]:
    account = await make_account(session)
    return account, await make_persona(session, account)


async def _count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Registration)) or 0


async def test_register_takes_a_place_and_counts_it(session: AsyncSession) -> None:
    event, (venue, _) = await make_event(session)
    account, persona = await _person(session)
    reg = await registrations.register(session, account, venue.id, persona.id, now=now())
    assert reg.status == RegistrationStatus.REGISTERED and reg.event_id == event.id
    await session.refresh(venue)
    assert venue.registered == 1


async def test_full_venue_puts_you_on_the_waitlist(session: AsyncSession) -> None:
    _, (venue, _) = await make_event(session, capacities=(1, 5))
    account, persona = await _person(session)
    first = await registrations.register(session, account, venue.id, persona.id, now=now())
    account, persona = await _person(session)
    second = await registrations.register(session, account, venue.id, persona.id, now=now())
    assert first.status == RegistrationStatus.REGISTERED
    assert second.status == RegistrationStatus.WAITLISTED
    await session.refresh(venue)
    assert venue.registered == venue.capacity == 1
    assert await service.waitlist_lengths(session, [venue.id]) == {venue.id: 1}


async def _refused(session: AsyncSession, work, error=ValidationFailed):  # type: ignore[no-untyped-def]
    before = await _count(session)
    with pytest.raises(error) as caught:
        async with session.begin_nested():
            await work()
    assert await _count(session) == before
    return caught.value


async def test_registering_again_names_the_venue_you_have(session: AsyncSession) -> None:
    _, (a, b) = await make_event(session)
    account, persona = await _person(session)
    await registrations.register(session, account, a.id, persona.id, now=now())
    error = await _refused(
        session, lambda: registrations.register(session, account, b.id, persona.id, now=now())
    )
    assert error.message == (
        "You already have a place at Venue A. Cancel that first if you would rather go to Venue B."
    )
    again = await _refused(
        session, lambda: registrations.register(session, account, a.id, persona.id, now=now())
    )
    assert again.message == "You already have a place at Venue A."
    await session.refresh(b)
    assert b.registered == 0


@pytest.mark.parametrize(
    ("starts_in", "message"),
    [
        (dt.timedelta(days=-2), "This event has already taken place, so registration is closed."),
        (dt.timedelta(hours=-1), "This event has already started, so registration is closed."),
    ],
)
async def test_past_or_started_event_is_refused(
    session: AsyncSession, starts_in: dt.timedelta, message: str
) -> None:
    _, (venue, _) = await make_event(session, starts_in=starts_in)
    account, persona = await _person(session)
    error = await _refused(
        session, lambda: registrations.register(session, account, venue.id, persona.id, now=now())
    )
    assert error.message == message


async def test_venue_of_another_event_is_refused(session: AsyncSession) -> None:
    event, _ = await make_event(session)
    _, (elsewhere, _) = await make_event(session)
    account, persona = await _person(session)
    error = await _refused(
        session,
        lambda: registrations.register(
            session, account, elsewhere.id, persona.id, now=now(), event_id=event.id
        ),
    )
    assert error.errors == {"venue_id": "That venue is not part of this event."}


async def test_someone_elses_persona_is_refused(session: AsyncSession) -> None:
    _, (venue, _) = await make_event(session)
    account, _ = await _person(session)
    _, theirs = await _person(session)
    error = await _refused(
        session, lambda: registrations.register(session, account, venue.id, theirs.id, now=now())
    )
    assert error.errors == {"persona_id": "Choose one of your own personas."}


async def test_registering_needs_a_phase_that_allows_it(session: AsyncSession) -> None:
    # Ideas phase over (four days ago): the call is in its follow-up.
    call = await make_call(session, opens=dt.timedelta(days=-10), closes=dt.timedelta(days=2))
    _, (venue, _) = await make_event(session, call=call, starts_in=dt.timedelta(days=1))
    account, persona = await _person(session)
    error = await _refused(
        session,
        lambda: registrations.register(session, account, venue.id, persona.id, now=now()),
        PhaseClosed,
    )
    assert error.message == "You cannot register for the event during Follow-up."


async def test_light_accounts_register_only_for_their_own_call(session: AsyncSession) -> None:
    _, (venue, _) = await make_event(session)
    other = await make_call(session)
    light = Account(kind=AccountKind.LIGHT, light_call_id=other.id)
    session.add(light)
    await session.flush()
    persona = await make_persona(session, light)
    error = await _refused(
        session,
        lambda: registrations.register(session, light, venue.id, persona.id, now=now()),
        Forbidden,
    )
    assert "only take part in the call it was made for" in error.message
    light.light_call_id = (
        await service.call_of(session, await service.get_event(session, venue.event_id))
    ).id
    reg = await registrations.register(session, light, venue.id, persona.id, now=now())
    assert reg.status == RegistrationStatus.REGISTERED


async def test_cancel_gives_the_place_to_the_first_on_the_waitlist(session: AsyncSession) -> None:
    event, (venue, _) = await make_event(session, capacities=(1, 5))
    holder, holder_persona = await _person(session)
    await registrations.register(session, holder, venue.id, holder_persona.id, now=now())
    waiting = []
    for _ in range(3):
        account, persona = await _person(session)
        reg = await registrations.register(session, account, venue.id, persona.id, now=now())
        waiting.append((account, reg))
    cancelled = await registrations.cancel(session, holder, event.id, now=now())
    assert cancelled.status == RegistrationStatus.CANCELLED and cancelled.cancelled_at
    statuses = [(await session.get(Registration, r.id)).status for _, r in waiting]  # type: ignore[union-attr]
    assert statuses == [
        RegistrationStatus.REGISTERED,
        RegistrationStatus.WAITLISTED,
        RegistrationStatus.WAITLISTED,
    ]
    await session.refresh(venue)
    assert venue.registered == 1
    told = list(await session.scalars(select(Notification)))
    assert [(n.account_id, n.kind) for n in told] == [
        (waiting[0][0].id, NotificationKind.WAITLIST_PLACE)
    ]
    assert "A place has come up for you at Venue A" in told[0].message
    # Nothing to cancel now: a clear message.
    with pytest.raises(NotFound, match="You are not registered for this event"):
        await registrations.cancel(session, holder, event.id, now=now())
    # Cancelling a waitlist place frees nothing and promotes nobody.
    await registrations.cancel(session, waiting[2][0], event.id, now=now())
    await session.refresh(venue)
    assert venue.registered == 1
    assert await service.waitlist_lengths(session, [venue.id]) == {venue.id: 1}


async def test_capacity_cannot_drop_below_places_taken_and_growth_fills_waitlist(
    session: AsyncSession,
) -> None:
    call, organiser = await call_with_organiser(session)
    _, (venue, _) = await make_event(session, call=call, capacities=(2, 5))
    people = [await _person(session) for _ in range(4)]
    for account, persona in people:
        await registrations.register(session, account, venue.id, persona.id, now=now())
    error = await _refused(
        session,
        lambda: service.update_venue(
            session, organiser, venue.id, VenueInput("Venue A", "Somewhere", 1), now=now()
        ),
    )
    assert error.errors == {
        "capacity": "2 places are already taken, so the capacity cannot be less than 2."
    }
    await session.refresh(venue)
    assert venue.capacity == 2 and venue.name == "Venue A"
    await service.update_venue(
        session, organiser, venue.id, VenueInput("Venue A+", "Bigger hall", 3, "Lift"), now=now()
    )
    await session.refresh(venue)
    assert (venue.capacity, venue.registered, venue.name) == (3, 3, "Venue A+")
    assert await service.waitlist_lengths(session, [venue.id]) == {venue.id: 1}
    assert await session.scalar(select(func.count()).select_from(Notification)) == 1
    # Residents cannot edit venues.
    with pytest.raises(Forbidden):
        await service.update_venue(
            session, people[0][0], venue.id, VenueInput("Mine", "", 9), now=now()
        )


async def test_check_in_is_idempotent_and_only_for_places(session: AsyncSession) -> None:
    _, (venue, other) = await make_event(session, capacities=(1, 5))
    host = await make_account(session)
    session.add(VenueHost(venue_id=venue.id, account_id=host.id))
    a, pa = await _person(session)
    b, pb = await _person(session)
    placed = await registrations.register(session, a, venue.id, pa.id, now=now())
    waiting = await registrations.register(session, b, venue.id, pb.id, now=now())
    first = await registrations.check_in(session, host, placed.id, now=now())
    when = first.checked_in_at
    again = await registrations.check_in(
        session, host, placed.id, now=now() + dt.timedelta(minutes=5)
    )
    assert when is not None and again.checked_in_at == when
    with pytest.raises(ValidationFailed, match="this person is on the waitlist"):
        await registrations.check_in(session, host, waiting.id, now=now())
    # A host of one venue cannot check people in at another.
    c, pc = await _person(session)
    elsewhere = await registrations.register(session, c, other.id, pc.id, now=now())
    with pytest.raises(Forbidden):
        await registrations.check_in(session, host, elsewhere.id, now=now())


# --- real concurrency -----------------------------------------------------------------------


async def test_fifty_people_race_for_the_last_place(live_db: Database) -> None:
    """50 concurrent registrations on separate connections for one remaining place."""
    async with live_db.session() as s, s.begin():
        event, (venue, _) = await make_event(s, capacities=(3, 5))
        for _ in range(2):
            account, persona = await _person(s)
            await registrations.register(s, account, venue.id, persona.id, now=now())
        racers = [await _person(s) for _ in range(50)]
    async with live_db.session() as s, s.begin():
        holder = await s.scalar(
            select(Account)
            .join(Registration, Registration.account_id == Account.id)
            .order_by(Registration.id)
            .limit(1)
        )
    assert holder is not None

    async def one(account: Account, persona: Persona) -> RegistrationStatus:
        async with live_db.session() as s, s.begin():
            reg = await registrations.register(s, account, venue.id, persona.id, now=now())
            return reg.status

    started = time.perf_counter()
    results = await asyncio.gather(*(one(a, p) for a, p in racers))
    elapsed = time.perf_counter() - started
    print(f"50 concurrent registrations took {elapsed:.2f}s")
    assert results.count(RegistrationStatus.REGISTERED) == 1
    assert results.count(RegistrationStatus.WAITLISTED) == 49
    async with live_db.session() as s:
        fresh = await s.get(Venue, venue.id)
        assert fresh is not None and fresh.registered == fresh.capacity == 3
        first_waiting = await s.scalar(
            select(Registration)
            .where(Registration.status == RegistrationStatus.WAITLISTED)
            .order_by(Registration.id)
            .limit(1)
        )
    assert first_waiting is not None

    async with live_db.session() as s, s.begin():
        await registrations.cancel(s, holder, event.id, now=now())
    async with live_db.session() as s:
        promoted = list(
            await s.scalars(
                select(Registration).where(
                    Registration.status == RegistrationStatus.REGISTERED,
                    Registration.venue_id == venue.id,
                )
            )
        )
        assert first_waiting.id in {r.id for r in promoted} and len(promoted) == 3
        fresh = await s.get(Venue, venue.id)
        assert fresh is not None and fresh.registered == 3
        told = list(await s.scalars(select(Notification)))
        assert [(n.account_id, n.kind) for n in told] == [
            (first_waiting.account_id, NotificationKind.WAITLIST_PLACE)
        ]
        assert await service.waitlist_lengths(s, [venue.id]) == {venue.id: 48}
