"""Organisers' page for an Open Ideas Day: venues, hosts and the timetable of sessions."""

from __future__ import annotations

import datetime as dt

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.errors import Conflict, MootError, NotFound, ValidationFailed
from server.events import service as events
from server.events import sessions
from server.events.pages import error_dict
from server.identity import auth
from server.identity.models import Account
from server.web import LONDON, now, render

NOTICES = {
    "venue-added": "The venue has been added.",
    "venue-saved": "The venue has been saved.",
    "host-added": "The host has been added. They can now open the venue's host page.",
    "host-removed": "The host has been removed.",
    "session-added": "The session is on the timetable.",
    "session-removed": "The session has been removed from the timetable.",
}


def local_input(value: dt.datetime) -> str:
    """A time as a datetime-local field shows it, in UK time."""
    return value.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")


def parse_local(raw: str, field: str, what: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationFailed(
            f"Enter the {what} as a date and time, like 2026-12-05 10:00.", field=field
        ) from None
    return parsed.replace(tzinfo=LONDON) if parsed.tzinfo is None else parsed


def _venue_input(form: FormData) -> events.VenueInput:
    raw = str(form.get("capacity", "")).strip()
    if not raw.isdigit() or len(raw) > 6:
        raise ValidationFailed("Enter the capacity as a whole number.", field="capacity")
    return events.VenueInput(
        name=str(form.get("name", "")),
        address=str(form.get("address", "")),
        capacity=int(raw),
        accessibility=str(form.get("accessibility", "")),
    )


async def _page(
    request: Request,
    account: Account,
    event_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    async with request.app.state.db.session() as session:
        event = await events.get_event(session, event_id)
        call = await events.require_manager(session, account, event)
        venues = await events.venues_of(session, [event.id])
        venue_ids = [v.id for v in venues]
        waiting = await events.waitlist_lengths(session, venue_ids)
        hosts = await events.hosts_of(session, venue_ids)
        timetable = await sessions.sessions_of(session, [event.id])
        ideas = await sessions.ideas_of_call(session, call.id)
    notice = NOTICES.get(request.query_params.get("done", "")) if not errors else None
    return render(
        request,
        "events/manage.html",
        {
            "event": event,
            "call": call,
            "venues": venues,
            "waiting": waiting,
            "hosts": hosts,
            "timetable": timetable,
            "ideas": ideas,
            "ideas_by_id": {i.id: i for i in ideas},
            "errors": errors or {},
            "values": values or {},
            "notice": notice,
            "clock": sessions.clock,
            "local_input": local_input,
            "default_end": min(event.ends_at, event.starts_at + dt.timedelta(hours=1)),
        },
        status=status,
    )


async def manage_page(request: Request) -> Response:
    account = await auth.require_account(request)
    return await _page(request, account, request.path_params["id"])


def _prefixed(form: FormData, prefix: str) -> dict[str, str]:
    return {f"{prefix}{k}": str(v) for k, v in form.items() if k != "csrf_token"}


async def _done(request: Request, event_id: int, key: str, anchor: str) -> Response:
    return RedirectResponse(f"/events/{event_id}/manage?done={key}#{anchor}", status_code=303)


async def add_venue(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    event_id: int = request.path_params["id"]
    try:
        async with request.app.state.db.session() as session, session.begin():
            event = await events.get_event(session, event_id)
            await events.add_venue(session, account, event, _venue_input(form))
    except ValidationFailed as exc:
        return await _failed(request, account, event_id, exc, form, "new-venue-", "name")
    return await _done(request, event_id, "venue-added", "venues")


async def _failed(
    request: Request,
    account: Account,
    event_id: int,
    exc: MootError,
    form: FormData,
    prefix: str,
    default_field: str,
) -> Response:
    return await _page(
        request,
        account,
        event_id,
        errors=error_dict(exc, prefix=prefix, default_field=default_field),
        values=_prefixed(form, prefix),
        status=422,
    )


async def _event_of_venue(request: Request, venue_id: int) -> int:
    async with request.app.state.db.session() as session:
        return (await events.get_venue(session, venue_id)).event_id


async def edit_venue(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    venue_id: int = request.path_params["id"]
    event_id = await _event_of_venue(request, venue_id)
    try:
        async with request.app.state.db.session() as session, session.begin():
            await events.update_venue(session, account, venue_id, _venue_input(form), now=now())
    except ValidationFailed as exc:
        return await _failed(request, account, event_id, exc, form, f"venue-{venue_id}-", "name")
    return await _done(request, event_id, "venue-saved", f"venue-{venue_id}")


async def add_host(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    venue_id: int = request.path_params["id"]
    event_id = await _event_of_venue(request, venue_id)
    try:
        async with request.app.state.db.session() as session, session.begin():
            await events.assign_host(session, account, venue_id, str(form.get("email", "")))
    except ValidationFailed as exc:
        return await _failed(request, account, event_id, exc, form, f"host-{venue_id}-", "email")
    return await _done(request, event_id, "host-added", f"venue-{venue_id}")


async def remove_host(request: Request) -> Response:
    await auth.read_form(request)
    account = await auth.require_account(request)
    venue_id: int = request.path_params["id"]
    event_id = await _event_of_venue(request, venue_id)
    async with request.app.state.db.session() as session, session.begin():
        await events.remove_host(session, account, venue_id, request.path_params["account_id"])
    return await _done(request, event_id, "host-removed", f"venue-{venue_id}")


def _session_input(form: FormData) -> sessions.SessionInput:
    errors: dict[str, str] = {}
    venue = str(form.get("venue_id", "")).strip()
    idea = str(form.get("idea_id", "")).strip()
    if not venue.isdigit() or len(venue) > 18:
        errors["venue_id"] = "Choose a venue."
    if idea and (not idea.isdigit() or len(idea) > 18):
        errors["idea_id"] = "Choose an idea posted to this call."
    times: dict[str, dt.datetime] = {}
    for field, what in (("starts_at", "start"), ("ends_at", "end")):
        try:
            times[field] = parse_local(str(form.get(field, "")), field, what)
        except ValidationFailed as exc:
            errors[field] = exc.message
    if errors:
        raise ValidationFailed(errors=errors)
    return sessions.SessionInput(
        venue_id=int(venue),
        starts_at=times["starts_at"],
        ends_at=times["ends_at"],
        idea_id=int(idea) if idea else None,
        title=str(form.get("title", "")),
    )


async def add_session(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    event_id: int = request.path_params["id"]
    try:
        async with request.app.state.db.session() as session, session.begin():
            await sessions.assign_session(session, account, event_id, _session_input(form))
    except (ValidationFailed, Conflict, NotFound) as exc:
        return await _failed(request, account, event_id, exc, form, "session-", "title")
    return await _done(request, event_id, "session-added", "sessions")


async def remove_session(request: Request) -> Response:
    await auth.read_form(request)
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session, session.begin():
        event = await sessions.remove_session(session, account, request.path_params["id"])
    return await _done(request, event.id, "session-removed", "sessions")


routes = [
    Route("/events/{id:id}/manage", manage_page, methods=["GET"], name="manage_event"),
    Route("/events/{id:id}/venues", add_venue, methods=["POST"]),
    Route("/venues/{id:id}", edit_venue, methods=["POST"]),
    Route("/venues/{id:id}/hosts", add_host, methods=["POST"]),
    Route("/venues/{id:id}/hosts/{account_id:id}/remove", remove_host, methods=["POST"]),
    Route("/events/{id:id}/sessions", add_session, methods=["POST"]),
    Route("/sessions/{id:id}/remove", remove_session, methods=["POST"]),
]
