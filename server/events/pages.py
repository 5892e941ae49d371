"""Pages for Open Ideas Day events. ``call_events_context`` feeds the call page's event section
(registering, the waitlist, cancelling, the timetable and what came out of the day); a session
has a public page of its own. Organisers' pages are in ``manage_pages``, hosts' in
``host_pages``. Every form works without JavaScript; htmx swaps the event section in place."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server.calls import rules
from server.calls import service as calls
from server.calls.models import Call
from server.errors import Conflict, MootError, NotFound, ValidationFailed
from server.events import registrations, sessions
from server.events import service as events
from server.events.models import Event, Registration, RegistrationStatus, Venue
from server.identity import auth
from server.identity.models import Account
from server.personas import service as personas
from server.web import now, render

NOTICES = {
    "registered": "You have a place. We look forward to seeing you.",
    "waitlisted": "The venue is full, so you are on its waitlist. We will tell you if a place "
    "comes up.",
    "cancelled": "Your registration is cancelled.",
}

_WORDS = [
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen", "twenty"),
]


def number_words(n: int) -> str:
    """'seven' for small numbers, digits beyond twenty."""
    return _WORDS[n] if 0 <= n < len(_WORDS) else f"{n:,}"


def places_left(remaining: int, capacity: int) -> str:
    """Remaining places in words: 'Seven of 20 places left', 'Full: no places left'."""
    if remaining <= 0:
        return "Full: no places left"
    noun = "place" if remaining == 1 else "places"
    return f"{number_words(remaining).capitalize()} of {capacity} {noun} left"


def waiting_words(count: int) -> str:
    if count == 0:
        return "Nobody on the waitlist"
    return f"{number_words(count).capitalize()} {'person' if count == 1 else 'people'} waiting"


def registration_closed(
    event: Event, phases: list[Any], account: Account | None, call: Call, moment: dt.datetime
) -> str | None:
    """Why registering is not possible just now, or None when it is."""
    if event.ends_at <= moment:
        return "This event has taken place."
    if event.starts_at <= moment:
        return "The event has started, so registration is closed."
    if not rules.allows(phases, rules.Action.REGISTER, moment):
        return "Registration is not open just now."
    if account is not None:
        try:
            registrations.check_light_scope(account, call)
        except MootError as exc:
            return exc.message
    return None


async def _waitlist_position(session: AsyncSession, registration: Registration) -> int:
    ahead = await session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.venue_id == registration.venue_id,
            Registration.status == RegistrationStatus.WAITLISTED,
            Registration.id <= registration.id,
        )
    )
    return ahead or 0


async def call_events_context(
    request: Request, session: AsyncSession, call: Call
) -> dict[str, Any]:
    """What calls/call.html's event section (events/_call_events.html) needs."""
    moment = now()
    account = await auth.current_account(request)
    rows = await events.events_of(session, call.id)
    event_ids = [e.id for e in rows]
    venues = await events.venues_of(session, event_ids)
    waiting = await events.waitlist_lengths(session, [v.id for v in venues])
    timetable = await sessions.sessions_of(session, event_ids)
    solutions = await sessions.solutions_of(session, [s.id for s, _ in timetable])
    ideas = await sessions.ideas_by_id(
        session,
        [s.idea_id for s, _ in timetable]
        + [x.idea_id for found in solutions.values() for x in found],
    )
    phases = await calls.phases_of(session, call.id)
    mine: dict[int, Registration] = {}
    own_personas: list[Any] = []
    manager = False
    hosted: set[int] = set()
    positions: dict[int, int] = {}
    if account is not None:
        mine = await registrations.registrations_of(session, account.id, event_ids)
        own_personas = await personas.personas_of(session, account.id)
        manager = await events.can_manage(session, account, call)
        hosted = await events.hosted_venue_ids(session, account.id)
        for held in mine.values():
            if held.status == RegistrationStatus.WAITLISTED:
                positions[held.id] = await _waitlist_position(session, held)
    by_id = {v.id: v for v in venues}
    items = []
    for event in rows:
        here = [v for v in venues if v.event_id == event.id]
        reg = mine.get(event.id)
        items.append(
            {
                "event": event,
                "venues": [
                    {
                        "venue": v,
                        "remaining": v.capacity - v.registered,
                        "places_words": places_left(v.capacity - v.registered, v.capacity),
                        "waiting": waiting.get(v.id, 0),
                        "waiting_words": waiting_words(waiting.get(v.id, 0)),
                    }
                    for v in here
                ],
                "sessions": [
                    {
                        "session": s,
                        "venue": venue,
                        "idea": ideas.get(s.idea_id) if s.idea_id else None,
                        "solutions": solutions.get(s.id, []),
                    }
                    for s, venue in timetable
                    if venue.event_id == event.id
                ],
                "registration": reg,
                "registration_venue": by_id.get(reg.venue_id) if reg else None,
                "position": positions.get(reg.id) if reg else None,
                "closed": registration_closed(event, phases, account, call, moment),
                "hosted": [v for v in here if v.id in hosted],
            }
        )
    notice = NOTICES.get(request.query_params.get("event", ""))
    return {
        "events": items,
        "ideas_by_id": ideas,
        "event_personas": own_personas,
        "event_manager": manager,
        "event_notice": notice,
        "event_errors": {},
        "event_clock": sessions.clock,
    }


def form_int(form: FormData, name: str, *, message: str) -> int:
    raw = str(form.get(name, "")).strip()
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationFailed(message, field=name)
    return int(raw)


def error_dict(exc: MootError, *, prefix: str = "", default_field: str = "form") -> dict[str, str]:
    if isinstance(exc, ValidationFailed) and exc.errors:
        return {f"{prefix}{k}": v for k, v in exc.errors.items()}
    return {f"{prefix}{exc.field or default_field}": exc.message}


async def _event_section(
    request: Request, event_id: int, *, errors: dict[str, str], notice: str | None
) -> Response:
    """The event's section alone, for htmx to swap in place."""
    async with request.app.state.db.session() as session:
        event = await events.get_event(session, event_id)
        call = await events.call_of(session, event)
        context = await call_events_context(request, session, call)
    item = next(i for i in context["events"] if i["event"].id == event_id)
    context.update(call=call, item=item, event_errors=errors, event_notice=notice)
    return render(request, "events/_event.html", context)


async def _registration_result(
    request: Request, event_id: int, outcome: str | None, errors: dict[str, str]
) -> Response:
    if request.headers.get("HX-Request") == "true":
        return await _event_section(
            request, event_id, errors=errors, notice=NOTICES.get(outcome or "")
        )
    async with request.app.state.db.session() as session:
        event = await events.get_event(session, event_id)
        call = await events.call_of(session, event)
    if errors:
        return render(
            request,
            "events/problem.html",
            {"errors": errors, "call": call, "event": event},
            status=422,
        )
    return RedirectResponse(f"/calls/{call.slug}?event={outcome}#event-{event.id}", 303)


async def register(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    event_id: int = request.path_params["id"]
    outcome = None
    errors: dict[str, str] = {}
    try:
        venue_id = form_int(form, "venue_id", message="Choose a venue.")
        persona_id = form_int(form, "persona_id", message="Choose who to register as.")
        async with request.app.state.db.session() as session, session.begin():
            row = await registrations.register(
                session, account, venue_id, persona_id, now=now(), event_id=event_id
            )
            outcome = row.status.value
    except (ValidationFailed, Conflict) as exc:
        errors = error_dict(exc, prefix=f"event-{event_id}-", default_field="register")
    return await _registration_result(request, event_id, outcome, errors)


async def cancel(request: Request) -> Response:
    await auth.read_form(request)
    account = await auth.require_account(request)
    event_id: int = request.path_params["id"]
    outcome = None
    errors: dict[str, str] = {}
    try:
        async with request.app.state.db.session() as session, session.begin():
            await registrations.cancel(session, account, event_id, now=now())
        outcome = "cancelled"
    except (ValidationFailed, NotFound) as exc:
        errors = error_dict(exc, prefix=f"event-{event_id}-", default_field="register")
    return await _registration_result(request, event_id, outcome, errors)


async def session_page(request: Request) -> Response:
    async with request.app.state.db.session() as session:
        row = await sessions.get_session(session, request.path_params["id"])
        venue = await session.get(Venue, row.venue_id)
        assert venue is not None
        event = await events.get_event(session, venue.event_id)
        call = await events.call_of(session, event)
        found = (await sessions.solutions_of(session, [row.id])).get(row.id, [])
        ideas = await sessions.ideas_by_id(session, [row.idea_id, *[s.idea_id for s in found]])
    return render(
        request,
        "events/session.html",
        {
            "session": row,
            "venue": venue,
            "event": event,
            "call": call,
            "solutions": found,
            "ideas_by_id": ideas,
            "clock": sessions.clock,
        },
    )


def _routes() -> list[BaseRoute]:
    from server.events import host_pages, manage_pages

    return [
        Route("/events/{id:id}/register", register, methods=["POST"]),
        Route("/events/{id:id}/cancel", cancel, methods=["POST"]),
        Route("/sessions/{id:id}", session_page, methods=["GET"], name="event_session"),
        *manage_pages.routes,
        *host_pages.routes,
    ]


routes: list[BaseRoute] = _routes()
