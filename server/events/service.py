"""Open Ideas Day events, their venues and hosts: the rules and the writes.

Registrations live in ``registrations.py``, sessions and solutions in ``sessions.py``. Who may
manage what is decided here: organisers of the call's organiser (and admins) manage an event;
a venue's hosts (and the event's organisers) run that venue on the day."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.calls.models import Call
from server.errors import Forbidden, NotFound, ValidationFailed
from server.events.models import Event, Registration, RegistrationStatus, Venue, VenueHost
from server.identity import service as identity
from server.identity.keys import Keys
from server.identity.models import Account, AccountKind, Role, VerificationCode

MAX_CAPACITY = 10_000
MAX_CODES = 50


@dataclass(frozen=True, slots=True)
class VenueInput:
    name: str
    address: str
    capacity: int
    accessibility: str = ""


def _venue_errors(v: VenueInput, prefix: str = "") -> dict[str, str]:
    errors: dict[str, str] = {}
    if not v.name.strip():
        errors[f"{prefix}name"] = "Give the venue a name."
    elif len(v.name.strip()) > 200:
        errors[f"{prefix}name"] = "Keep the name to 200 characters or fewer."
    if len(v.address.strip()) > 500:
        errors[f"{prefix}address"] = "Keep the address to 500 characters or fewer."
    if not 1 <= v.capacity <= MAX_CAPACITY:
        errors[f"{prefix}capacity"] = f"Capacity must be between 1 and {MAX_CAPACITY}."
    if len(v.accessibility) > 2000:
        errors[f"{prefix}accessibility"] = "Keep the access notes to 2,000 characters or fewer."
    return errors


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
        errors.update(_venue_errors(v, f"venues.{i}."))
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


async def get_event(session: AsyncSession, event_id: int) -> Event:
    event = await session.get(Event, event_id)
    if event is None:
        raise NotFound("There is no such event.")
    return event


async def get_venue(session: AsyncSession, venue_id: int, *, lock: bool = False) -> Venue:
    venue = await session.get(Venue, venue_id, with_for_update=lock, populate_existing=lock)
    if venue is None:
        raise NotFound("There is no such venue.")
    return venue


async def call_of(session: AsyncSession, event: Event) -> Call:
    call = await session.get(Call, event.call_id)
    assert call is not None  # a foreign key guarantees it
    return call


async def waitlist_lengths(session: AsyncSession, venue_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Registration.venue_id, func.count())
        .where(
            Registration.venue_id.in_(venue_ids),
            Registration.status == RegistrationStatus.WAITLISTED,
        )
        .group_by(Registration.venue_id)
    )
    return {venue_id: count for venue_id, count in rows}


# --- Who may do what ----------------------------------------------------------------------


async def can_manage(session: AsyncSession, account: Account | None, call: Call) -> bool:
    if account is None or account.kind != AccountKind.FULL:
        return False
    return await identity.has_role(
        session, account.id, Role.ORGANISER, organiser_id=call.organiser_id
    )


async def require_manager(session: AsyncSession, account: Account, event: Event) -> Call:
    call = await call_of(session, event)
    if not await can_manage(session, account, call):
        raise Forbidden("Only the call's organisers can manage this event.")
    return call


async def hosted_venue_ids(session: AsyncSession, account_id: int) -> set[int]:
    return set(
        await session.scalars(select(VenueHost.venue_id).where(VenueHost.account_id == account_id))
    )


async def can_host(session: AsyncSession, account: Account | None, venue: Venue) -> bool:
    """Hosts of the venue, and the event's organisers."""
    if account is None:
        return False
    if venue.id in await hosted_venue_ids(session, account.id):
        return True
    event = await get_event(session, venue.event_id)
    return await can_manage(session, account, await call_of(session, event))


async def require_host(session: AsyncSession, account: Account, venue: Venue) -> None:
    if not await can_host(session, account, venue):
        raise Forbidden("Only this venue's hosts and the event's organisers can do that.")


# --- Venues -------------------------------------------------------------------------------


async def add_venue(session: AsyncSession, actor: Account, event: Event, data: VenueInput) -> Venue:
    await require_manager(session, actor, event)
    if errors := _venue_errors(data):
        raise ValidationFailed(errors=errors)
    venue = Venue(
        event_id=event.id,
        name=data.name.strip(),
        address=data.address.strip(),
        capacity=data.capacity,
        accessibility=data.accessibility.strip(),
    )
    session.add(venue)
    await session.flush()
    await audit.record(
        session, actor=actor.id, action="venue.added", subject_type="venue", subject_id=venue.id
    )
    return venue


async def update_venue(
    session: AsyncSession, actor: Account, venue_id: int, data: VenueInput, *, now: dt.datetime
) -> Venue:
    """Capacity can never drop below the places already taken; raising it gives the new
    places to the waitlist at once, in this transaction."""
    from server.events import registrations

    venue = await get_venue(session, venue_id, lock=True)
    event = await get_event(session, venue.event_id)
    await require_manager(session, actor, event)
    errors = _venue_errors(data)
    if "capacity" not in errors and data.capacity < venue.registered:
        taken = venue.registered
        errors["capacity"] = (
            f"{taken} {'place is' if taken == 1 else 'places are'} already taken, so the "
            f"capacity cannot be less than {taken}."
        )
    if errors:
        raise ValidationFailed(errors=errors)
    grew = data.capacity > venue.capacity
    venue.name = data.name.strip()
    venue.address = data.address.strip()
    venue.capacity = data.capacity
    venue.accessibility = data.accessibility.strip()
    await session.flush()
    await audit.record(
        session,
        actor=actor.id,
        action="venue.updated",
        subject_type="venue",
        subject_id=venue.id,
        capacity=data.capacity,
    )
    if grew:
        await registrations.fill_from_waitlist(session, venue, event, now=now)
    return venue


# --- Hosts --------------------------------------------------------------------------------


async def hosts_of(session: AsyncSession, venue_ids: Sequence[int]) -> dict[int, list[Account]]:
    rows = await session.execute(
        select(VenueHost.venue_id, Account)
        .join(Account, Account.id == VenueHost.account_id)
        .where(VenueHost.venue_id.in_(venue_ids))
        .order_by(Account.email)
    )
    out: dict[int, list[Account]] = {}
    for venue_id, account in rows:
        out.setdefault(venue_id, []).append(account)
    return out


async def assign_host(session: AsyncSession, actor: Account, venue_id: int, email: str) -> Account:
    """A host manages one venue of an event: hosting another venue of it is refused."""
    venue = await get_venue(session, venue_id)
    event = await get_event(session, venue.event_id)
    await require_manager(session, actor, event)
    try:
        address = identity.normalise_email(email)
    except ValidationFailed:
        raise ValidationFailed(
            "Enter the host's email address, like name@example.com.", field="email"
        ) from None
    host = await identity.find_by_email(session, address)
    if host is None:
        raise ValidationFailed(
            "There is no Moot account with that email. Ask the host to sign up first.",
            field="email",
        )
    other = await session.scalar(
        select(Venue)
        .join(VenueHost, VenueHost.venue_id == Venue.id)
        .where(VenueHost.account_id == host.id, Venue.event_id == event.id)
    )
    if other is not None:
        where = "this venue" if other.id == venue.id else other.name
        raise ValidationFailed(f"{address} already hosts {where} at this event.", field="email")
    session.add(VenueHost(venue_id=venue.id, account_id=host.id))
    await session.flush()
    await audit.record(
        session,
        actor=actor.id,
        action="venue.host_assigned",
        subject_type="venue",
        subject_id=venue.id,
        host=host.id,
    )
    return host


async def remove_host(session: AsyncSession, actor: Account, venue_id: int, host_id: int) -> None:
    venue = await get_venue(session, venue_id)
    await require_manager(session, actor, await get_event(session, venue.event_id))
    row = await session.get(VenueHost, (venue.id, host_id))
    if row is None:
        raise NotFound("That person does not host this venue.")
    await session.delete(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor.id,
        action="venue.host_removed",
        subject_type="venue",
        subject_id=venue.id,
        host=host_id,
    )


# --- Verification codes handed out at a venue -------------------------------------------


async def issue_venue_codes(
    session: AsyncSession,
    keys: Keys,
    host: Account,
    venue_id: int,
    *,
    count: int,
    now: dt.datetime,
) -> list[str]:
    """One-time verification codes a host hands out at the venue, valid for the event's call
    until the event ends. Uses the codes module's own code format and keyed hash, so they are
    redeemed like any other code; the batch is labelled with the venue."""
    from server.identity import codes

    venue = await get_venue(session, venue_id)
    await require_host(session, host, venue)
    event = await get_event(session, venue.event_id)
    if not 1 <= count <= MAX_CODES:
        raise ValidationFailed(f"Enter a number of codes from 1 to {MAX_CODES}.", field="count")
    if event.ends_at <= now:
        raise ValidationFailed("The event is over, so no more codes can be handed out.")
    label = f"{venue.name[:40]} {now:%Y-%m-%d %H:%M} {secrets.token_hex(3)}"
    made: set[str] = set()
    while len(made) < count:
        made.add(codes.new_code())
    await session.execute(
        insert(VerificationCode),
        [
            {
                "code_hash": codes.code_hash(keys, code),
                "claims": {"venue": venue.name},
                "call_id": event.call_id,
                "batch": label,
                "issued_by": host.id,
                "expires_at": event.ends_at,
            }
            for code in made
        ],
    )
    await audit.record(
        session,
        actor=host.id,
        action="codes.issued",
        subject_type="venue",
        subject_id=venue.id,
        batch=label,
        count=count,
    )
    return sorted(codes.format_code(code) for code in made)
