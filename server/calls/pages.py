"""Pages for calls: the home page listing open calls, and a call's own page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.calls import rules, service
from server.events import pages as event_pages
from server.ideas import pages as idea_pages
from server.votes import pages as vote_pages
from server.web import now, render


async def home(request: Request) -> Response:
    after = request.query_params.get("after")
    moment = now()
    async with request.app.state.db.session() as session:
        page = await service.list_open_calls(session, now=moment, after=after)
        phases = await service.phases_for(session, [c.id for c in page.items])
        past = [] if after else await service.list_past_calls(session, now=moment)
    current = {cid: service.current_phase(ps, moment) for cid, ps in phases.items()}
    context = {"page": page, "current": current, "past": past, "after": after}
    # htmx "more calls" asks for the next rows only; without JavaScript the link loads a page.
    template = "calls/_call_rows.html" if request.headers.get("HX-Request") else "calls/home.html"
    return render(request, template, context)


async def call_page(request: Request) -> Response:
    slug = request.path_params["slug"]
    moment = now()
    async with request.app.state.db.session() as session:
        # Each domain builds its own section of the page, and some check the phase on their own.
        service.reuse_phases(session)
        call = await service.get_call(session, slug)
        phases = await service.phases_of(session, call.id)
        idea_section = await idea_pages.call_ideas_context(request, session, call)
        event_section = await event_pages.call_events_context(request, session, call)
        vote_section = await vote_pages.call_votes_context(request, session, call)
    context = {
        "call": call,
        "phases": phases,
        "current": rules.current(phases, moment),
        "upcoming": service.next_phase(phases, moment),
        "open_actions": rules.open_actions(phases, moment),
        "is_open": call.opens_at <= moment < call.closes_at,
        "has_closed": call.closes_at <= moment,
        "now": moment,
        **idea_section,
        **event_section,
        **vote_section,
    }
    if request.headers.get("HX-Request") and request.query_params.get("after"):
        return render(request, "calls/_idea_rows.html", context)
    return render(request, "calls/call.html", context)


routes = [
    Route("/", home, name="home"),
    Route("/calls/{slug:str}", call_page, name="call"),
]
