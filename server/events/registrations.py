"""Registering for a venue: places, the waitlist, cancelling and checking in.

The database, not the code, keeps a venue from being overbooked: a place is taken by one
conditional ``UPDATE venues SET registered = registered + 1 WHERE registered < capacity``, which
concurrent requests serialise on the venue's row (each re-checks the condition once the one
before it commits), and the CHECK ``registered <= capacity`` is the backstop. Whoever does not
get a place is waitlisted, in order of registration id. A freed place goes to the first on the
waitlist in the same transaction that freed it (``FOR UPDATE SKIP LOCKED``), and that person is
notified.

One live registration per account per event (a unique index). Registering again at another
venue of the same event is refused with a message naming the venue you already have: moving
could silently swap a place for a waitlist spot, so cancelling stays a deliberate step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server import humanize
from server.audit import service as audit
from server.calls import rules
from server.calls import service as calls
from server.calls.models import Call
from server.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.events.models import Event, Registration, RegistrationStatus, Venue
from server.events.service import call_of, get_event, get_venue, require_host
from server.identity.models import Account, AccountKind
from server.notifications.models import NotificationKind
from server.notifications.service import notify
from server.personas import service as personas
from server.personas.models import Persona
from server.web import LONDON


def event_link(call: Call, event: Event) -> str:
    return f"/calls/{call.slug}#event-{event.id}"


async def take_place(session: AsyncSession, venue_id: int) -> bool:
    """Take one place at the venue if one is left: True when taken."""
    taken = await session.execute(
        update(Venue)
        .where(Venue.id == venue_id, Venue.registered < Venue.capacity)
        .values(registered=Venue.registered + 1)
        .returning(Venue.registered)
        .execution_options(synchronize_session="fetch")
    )
    return taken.first() is not None


async def _free_place(session: AsyncSession, venue_id: int) -> None:
    await session.execute(
        update(Venue)
        .where(Venue.id == venue_id)
        .values(registered=Venue.registered - 1)
        .execution_options(synchronize_session="fetch")
    )


async def live_registration(
    session: AsyncSession, account_id: int, event_id: int, *, lock: bool = False
) -> Registration | None:
    query = select(Registration).where(
        Registration.event_id == event_id,
        Registration.account_id == account_id,
        Registration.status != RegistrationStatus.CANCELLED,
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


def check_event_open(event: Event, now: dt.datetime) -> None:
    if event.ends_at <= now:
        raise ValidationFailed("This event has already taken place, so registration is closed.")
    if event.starts_at <= now:
        raise ValidationFailed("This event has already started, so registration is closed.")


def check_light_scope(account: Account, call: Call) -> None:
    if account.kind == AccountKind.LIGHT and account.light_call_id != call.id:
        raise Forbidden("Your venue account can only take part in the call it was made for.")


async def register(
    session: AsyncSession,
    account: Account,
    venue_id: int,
    persona_id: int,
    *,
    now: dt.datetime,
    event_id: int | None = None,
) -> Registration:
    """A place at the venue if one is left, otherwise a place on its waitlist."""
    venue = await get_venue(session, venue_id)
    if event_id is not None and venue.event_id != event_id:
        raise ValidationFailed("That venue is not part of this event.", field="venue_id")
    event = await get_event(session, venue.event_id)
    call = await call_of(session, event)
    check_event_open(event, now)
    check_light_scope(account, call)
    rules.require(await calls.phases_of(session, call.id), rules.Action.REGISTER, now)
    try:
        persona = await personas.usable_persona(session, account, persona_id)
    except Forbidden:
        raise ValidationFailed("Choose one of your own personas.", field="persona_id") from None
    existing = await live_registration(session, account.id, event.id)
    if existing is not None:
        raise _already(existing, venue, await get_venue(session, existing.venue_id))
    registration = Registration(
        event_id=event.id,
        venue_id=venue.id,
        account_id=account.id,
        persona_id=persona.id,
        status=RegistrationStatus.WAITLISTED,
    )
    try:
        async with session.begin_nested():
            session.add(registration)
            await session.flush()
    except IntegrityError:
        # The same account registering twice at once: the unique index let one through.
        raise Conflict("You are already registered for this event.") from None
    if await take_place(session, venue.id):
        registration.status = RegistrationStatus.REGISTERED
    await session.flush()
    await audit.record(
        session,
        actor=account.id,
        action="registration.created",
        subject_type="registration",
        subject_id=registration.id,
        venue_id=venue.id,
        status=registration.status.value,
    )
    return registration


def _already(existing: Registration, wanted: Venue, held: Venue) -> ValidationFailed:
    what = (
        "have a place at"
        if existing.status == RegistrationStatus.REGISTERED
        else "are on the waitlist for"
    )
    if held.id == wanted.id:
        return ValidationFailed(f"You already {what} {held.name}.", field="venue_id")
    return ValidationFailed(
        f"You already {what} {held.name}. Cancel that first if you would rather go to "
        f"{wanted.name}.",
        field="venue_id",
    )


async def cancel(
    session: AsyncSession, account: Account, event_id: int, *, now: dt.datetime
) -> Registration:
    """Cancel the account's registration for the event; a freed place goes to the waitlist."""
    event = await get_event(session, event_id)
    if event.starts_at <= now:
        raise ValidationFailed("The event has started, so registrations can no longer change.")
    registration = await live_registration(session, account.id, event.id, lock=True)
    if registration is None:
        raise NotFound("You are not registered for this event.")
    had_place = registration.status == RegistrationStatus.REGISTERED
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = now
    await session.flush()
    await audit.record(
        session,
        actor=account.id,
        action="registration.cancelled",
        subject_type="registration",
        subject_id=registration.id,
    )
    if had_place:
        await _free_place(session, registration.venue_id)
        venue = await get_venue(session, registration.venue_id)
        await fill_from_waitlist(session, venue, event, now=now)
    return registration


async def fill_from_waitlist(
    session: AsyncSession, venue: Venue, event: Event, *, now: dt.datetime
) -> list[Registration]:
    """Give free places to the waitlist, first come first served, and tell each person."""
    promoted: list[Registration] = []
    while True:
        following = await session.scalar(
            select(Registration)
            .where(
                Registration.venue_id == venue.id,
                Registration.status == RegistrationStatus.WAITLISTED,
            )
            .order_by(Registration.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if following is None or not await take_place(session, venue.id):
            break
        following.status = RegistrationStatus.REGISTERED
        await session.flush()
        promoted.append(following)
    if promoted:
        call = await call_of(session, event)
        when = humanize.long_date(event.starts_at.astimezone(LONDON))
        for registration in promoted:
            await notify(
                session,
                [registration.account_id],
                kind=NotificationKind.WAITLIST_PLACE,
                message=f"A place has come up for you at {venue.name} for {event.title} "
                f"({when}). It is yours: cancel if you can no longer come.",
                link=event_link(call, event),
            )
            await audit.record(
                session,
                actor=None,
                action="registration.promoted",
                subject_type="registration",
                subject_id=registration.id,
                venue_id=venue.id,
            )
    return promoted


async def check_in(
    session: AsyncSession, actor: Account, registration_id: int, *, now: dt.datetime
) -> Registration:
    """Mark someone as arrived. Idempotent: checking in twice keeps the first time."""
    registration = await session.get(
        Registration, registration_id, with_for_update=True, populate_existing=True
    )
    if registration is None:
        raise NotFound("There is no such registration.")
    venue = await get_venue(session, registration.venue_id)
    await require_host(session, actor, venue)
    if registration.status != RegistrationStatus.REGISTERED:
        state = (
            "is on the waitlist"
            if registration.status == RegistrationStatus.WAITLISTED
            else "has cancelled"
        )
        raise ValidationFailed(
            f"Only people with a place can be checked in; this person {state}.",
            field="registration_id",
        )
    if registration.checked_in_at is None:
        registration.checked_in_at = now
        await session.flush()
        await audit.record(
            session,
            actor=actor.id,
            action="registration.checked_in",
            subject_type="registration",
            subject_id=registration.id,
        )
    return registration


async def registrations_of(
    session: AsyncSession, account_id: int, event_ids: Sequence[int]
) -> dict[int, Registration]:
    rows = await session.scalars(
        select(Registration).where(
            Registration.account_id == account_id,
            Registration.event_id.in_(event_ids),
            Registration.status != RegistrationStatus.CANCELLED,
        )
    )
    return {r.event_id: r for r in rows}


async def attendees(session: AsyncSession, venue_id: int) -> list[tuple[Registration, Persona]]:
    """The venue's live registrations with the personas they are under: places first (by
    name), then the waitlist in order."""
    rows = await session.execute(
        select(Registration, Persona)
        .join(Persona, Persona.id == Registration.persona_id)
        .where(
            Registration.venue_id == venue_id,
            Registration.status != RegistrationStatus.CANCELLED,
        )
        .order_by(Persona.display_name, Registration.id)
    )
    listed = [(a, b) for a, b in rows]
    places = [r for r in listed if r[0].status == RegistrationStatus.REGISTERED]
    waiting = sorted(
        (r for r in listed if r[0].status == RegistrationStatus.WAITLISTED), key=lambda r: r[0].id
    )
    return places + waiting
