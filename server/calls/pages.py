"""Pages for calls: the home page listing open calls, and a call's own page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.calls import service
from server.events import service as events
from server.ideas import service as ideas
from server.outcomes import service as outcomes
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
        call = await service.get_call(session, slug)
        phases = await service.phases_of(session, call.id)
        event_rows = await events.events_of(session, call.id)
        venues = await events.venues_of(session, [e.id for e in event_rows])
        idea_page = await ideas.list_ideas(
            session, call.id, after=request.query_params.get("after")
        )
        answers = {
            o.idea_id: o
            for o in await outcomes.outcomes_for(session, [i.id for i in idea_page.items])
        }
    context = {
        "call": call,
        "phases": phases,
        "current": service.current_phase(phases, moment),
        "upcoming": service.next_phase(phases, moment),
        "is_open": call.opens_at <= moment < call.closes_at,
        "has_closed": call.closes_at <= moment,
        "events": [(e, [v for v in venues if v.event_id == e.id]) for e in event_rows],
        "ideas": idea_page,
        "outcomes": answers,
        "now": moment,
    }
    if request.headers.get("HX-Request") and request.query_params.get("after"):
        return render(request, "calls/_idea_rows.html", context)
    return render(request, "calls/call.html", context)


routes = [
    Route("/", home, name="home"),
    Route("/calls/{slug:str}", call_page, name="call"),
]
