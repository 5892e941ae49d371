"""Hosts' page for a venue: the check-in list, verification codes to hand out, and after the
day each session's notes and solutions."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.errors import MootError, NotFound, ValidationFailed
from server.events import registrations, sessions
from server.events import service as events
from server.events.models import Registration, RegistrationStatus
from server.events.pages import error_dict, form_int
from server.identity import auth
from server.identity.models import Account
from server.personas.models import Persona
from server.web import now, render

NOTICES = {
    "checked-in": "Checked in.",
    "notes-posted": "The notes are posted: they are on the session's page and the call page.",
    "solution-added": "The solution is added: it is on the session's page and the call page.",
}


async def _page(
    request: Request,
    account: Account,
    venue_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    moment = now()
    async with request.app.state.db.session() as session:
        venue = await events.get_venue(session, venue_id)
        await events.require_host(session, account, venue)
        event = await events.get_event(session, venue.event_id)
        call = await events.call_of(session, event)
        people = await registrations.attendees(session, venue.id)
        every = await sessions.sessions_of(session, [event.id])
        timetable = [s for s, v in every if v.id == venue.id]
        solutions = await sessions.solutions_of(session, [s.id for s in timetable])
        ideas = await sessions.ideas_of_call(session, call.id)
    placed = [(r, p) for r, p in people if r.status == RegistrationStatus.REGISTERED]
    notice = NOTICES.get(request.query_params.get("done", "")) if not errors else None
    return render(
        request,
        "events/host.html",
        {
            "venue": venue,
            "event": event,
            "call": call,
            "placed": placed,
            "waiting": [(r, p) for r, p in people if r.status == RegistrationStatus.WAITLISTED],
            "arrived": sum(1 for r, _ in placed if r.checked_in_at),
            "timetable": timetable,
            "solutions": solutions,
            "ideas": ideas,
            "ideas_by_id": {i.id: i for i in ideas},
            "now": moment,
            "can_issue_codes": event.ends_at > moment,
            "max_codes": events.MAX_CODES,
            "errors": errors or {},
            "values": values or {},
            "notice": notice,
            "clock": sessions.clock,
        },
        status=status,
    )


async def host_page(request: Request) -> Response:
    account = await auth.require_account(request)
    return await _page(request, account, request.path_params["id"])


def _values(form: FormData, prefix: str) -> dict[str, str]:
    return {f"{prefix}{k}": str(v) for k, v in form.items() if k != "csrf_token"}


async def _failed(
    request: Request, account: Account, venue_id: int, exc: MootError, form: FormData, prefix: str
) -> Response:
    return await _page(
        request,
        account,
        venue_id,
        errors=error_dict(exc, prefix=prefix, default_field="title"),
        values=_values(form, prefix),
        status=422,
    )


async def check_in(request: Request) -> Response:
    await auth.read_form(request)
    account = await auth.require_account(request)
    registration_id: int = request.path_params["id"]
    error: ValidationFailed | None = None
    try:
        async with request.app.state.db.session() as session, session.begin():
            await registrations.check_in(session, account, registration_id, now=now())
    except ValidationFailed as exc:
        error = exc
    async with request.app.state.db.session() as session:
        row = await session.get(Registration, registration_id)
        if row is None:
            raise NotFound("There is no such registration.")
        persona = await session.get(Persona, row.persona_id)
    if request.headers.get("HX-Request") == "true":
        return render(
            request,
            "events/_checkin_row.html",
            {"registration": row, "persona": persona, "row_error": error and error.message},
        )
    if error is not None:
        return await _page(
            request,
            account,
            row.venue_id,
            errors={f"registration-{row.id}": error.message},
            status=422,
        )
    return RedirectResponse(
        f"/venues/{row.venue_id}/host?done=checked-in#registration-{row.id}", status_code=303
    )


async def issue_codes(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    venue_id: int = request.path_params["id"]
    try:
        count = form_int(form, "count", message=f"Enter a number from 1 to {events.MAX_CODES}.")
        async with request.app.state.db.session() as session, session.begin():
            made = await events.issue_venue_codes(
                session, request.app.state.keys, account, venue_id, count=count, now=now()
            )
            venue = await events.get_venue(session, venue_id)
            event = await events.get_event(session, venue.event_id)
    except ValidationFailed as exc:
        return await _failed(request, account, venue_id, exc, form, "codes-")
    return render(
        request,
        "events/codes.html",
        {"codes": made, "venue": venue, "event": event, "clock": sessions.clock},
        # Shown once: keep the codes out of caches.
        headers={"Cache-Control": "no-store"},
    )


async def _venue_of_session(request: Request, session_id: int) -> int:
    async with request.app.state.db.session() as session:
        return (await sessions.get_session(session, session_id)).venue_id


async def post_notes(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    session_id: int = request.path_params["id"]
    venue_id = await _venue_of_session(request, session_id)
    try:
        async with request.app.state.db.session() as session, session.begin():
            await sessions.post_notes(
                session, account, session_id, str(form.get("notes", "")), now=now()
            )
    except ValidationFailed as exc:
        return await _failed(request, account, venue_id, exc, form, f"session-{session_id}-")
    return RedirectResponse(
        f"/venues/{venue_id}/host?done=notes-posted#session-{session_id}", status_code=303
    )


async def add_solution(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    session_id: int = request.path_params["id"]
    venue_id = await _venue_of_session(request, session_id)
    prefix = f"solution-{session_id}-"
    try:
        raw_idea = str(form.get("idea_id", "")).strip()
        idea_id = form_int(form, "idea_id", message="Choose an idea.") if raw_idea else None
        async with request.app.state.db.session() as session, session.begin():
            await sessions.add_solution(
                session,
                account,
                session_id,
                title=str(form.get("title", "")),
                body=str(form.get("body", "")),
                idea_id=idea_id,
                now=now(),
            )
    except ValidationFailed as exc:
        return await _failed(request, account, venue_id, exc, form, prefix)
    return RedirectResponse(
        f"/venues/{venue_id}/host?done=solution-added#session-{session_id}", status_code=303
    )


routes = [
    Route("/venues/{id:id}/host", host_page, methods=["GET"], name="host_venue"),
    Route("/venues/{id:id}/codes", issue_codes, methods=["POST"]),
    Route("/registrations/{id:id}/check-in", check_in, methods=["POST"]),
    Route("/sessions/{id:id}/notes", post_notes, methods=["POST"]),
    Route("/sessions/{id:id}/solutions", add_solution, methods=["POST"]),
]
