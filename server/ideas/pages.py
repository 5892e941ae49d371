"""Pages for reading ideas and acting on them: a call's list, an idea, its history, endorsing
and following. ``call_ideas_context`` feeds the ideas section of the call page; posting and
editing live in :mod:`server.ideas.form_pages`."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server.calls import rules
from server.calls import service as calls
from server.calls.models import Call
from server.comments import pages as comment_pages
from server.errors import BadRequest, MootError
from server.ideas import endorsements, form_pages, listing, service
from server.ideas.listing import SORT_LABELS, ListQuery, Sort
from server.ideas.models import IDEA_STATUSES, Idea
from server.identity import auth
from server.identity.models import Account
from server.personas import service as personas
from server.web import now, render

STATUS_LABELS = {s: s.replace("_", " ").capitalize() for s in IDEA_STATUSES}


def is_fragment(request: Request) -> bool:
    """An htmx request for part of a page (a history restore wants the whole page)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )


# The filter form's choices (tags and areas in use) change only when ideas are published or
# hidden, while reading them grows with the call: each process reuses a call's choices for a
# little while, so a new tag can take up to this long to appear in the form.
FILTER_CHOICES_SECONDS = 30.0
_FILTER_CHOICES_KEPT = 256  # calls
_filter_choices_seen: OrderedDict[int, tuple[float, dict[str, list[str]]]] = OrderedDict()


async def _filter_choices(session: AsyncSession, call_id: int) -> dict[str, list[str]]:
    moment = time.monotonic()
    seen = _filter_choices_seen.get(call_id)
    if seen is not None and moment - seen[0] < FILTER_CHOICES_SECONDS:
        return seen[1]
    options = await listing.filter_options(session, call_id)
    _filter_choices_seen[call_id] = (moment, options)
    _filter_choices_seen.move_to_end(call_id)
    while len(_filter_choices_seen) > _FILTER_CHOICES_KEPT:
        _filter_choices_seen.popitem(last=False)
    return options


def _cards_context(cards: listing.Cards) -> dict[str, Any]:
    """What ideas/_card.html needs for each idea of ``ideas``."""
    return {"ideas": cards.page, "authors": cards.authors, "outcomes": cards.outcomes}


async def call_ideas_context(request: Request, session: AsyncSession, call: Call) -> dict[str, Any]:
    """What calls/call.html's ideas section (ideas/_call_ideas.html) needs."""
    cards = await listing.list_cards(session, call.id, after=request.query_params.get("after"))
    return _cards_context(cards)


def _list_query(request: Request) -> ListQuery:
    params = request.query_params
    try:
        sort = Sort(params.get("sort") or Sort.NEWEST)
    except ValueError:
        raise BadRequest("Choose one of the listed orders.", field="sort") from None
    return ListQuery(
        tag=params.get("tag"),
        area=params.get("area"),
        status=params.get("status"),
        search=params.get("q"),
        sort=sort,
        seed=params.get("seed") or None,
    ).checked()


def _query_string(q: ListQuery) -> str:
    from urllib.parse import urlencode

    pairs = {
        "q": q.search,
        "tag": q.tag,
        "area": q.area,
        "status": q.status,
        "sort": q.sort.value if q.sort != Sort.NEWEST else None,
        "seed": q.seed,
    }
    return urlencode({k: v for k, v in pairs.items() if v})


async def list_page(request: Request) -> Response:
    q = _list_query(request)
    after = request.query_params.get("after")
    fragment = is_fragment(request)
    async with request.app.state.db.session() as session:
        call = await calls.get_call(session, request.path_params["slug"])
        cards = await listing.list_cards(session, call.id, q, after=after)
        # The filter form's choices read every listed idea of the call (an index-only scan, but
        # one that grows with the call): only the full page shows them.
        options = {} if fragment else await _filter_choices(session, call.id)
        phases = await calls.phases_of(session, call.id)
    context = {
        "call": call,
        "query": q,
        "query_string": _query_string(q),
        "options": options,
        "sorts": SORT_LABELS,
        "statuses": STATUS_LABELS,
        "can_post": rules.allows(phases, rules.Action.POST_IDEA, now()),
        "after": after,
        **_cards_context(cards),
    }
    if fragment:
        template = "ideas/_list_rows.html" if after else "ideas/_results.html"
        return render(request, template, context)
    return render(request, "ideas/list.html", context)


async def actions_context(
    session: AsyncSession, idea: Idea, viewer: Account | None, error: str | None = None
) -> dict[str, Any]:
    """What the endorse and follow controls (ideas/_actions.html) need."""
    phases = await calls.phases_of(session, idea.call_id)
    moment = now()
    return {
        "idea": idea,
        "endorsed": await endorsements.has_endorsed(session, viewer, idea.id),
        "following": await endorsements.follows(session, viewer, idea.id),
        "my_personas": await personas.personas_of(session, viewer.id) if viewer else [],
        "can_endorse": rules.allows(phases, rules.Action.ENDORSE, moment),
        "can_edit": rules.allows(phases, rules.Action.EDIT_IDEA, moment),
        "can_post": rules.allows(phases, rules.Action.POST_IDEA, moment),
        "is_author": await service.is_author(session, viewer, idea),
        "action_error": error,
    }


async def idea_page(request: Request) -> Response:
    viewer = await auth.current_account(request)
    async with request.app.state.db.session() as session:
        # The actions and the discussion each check the call's phase: read it once.
        calls.reuse_phases(session)
        found = await service.idea_with_context(session, request.path_params["id"], viewer)
        actions = await actions_context(session, found.idea, viewer)
        comments = await comment_pages.idea_comments_context(request, session, found.idea)
    context = {
        "call": found.call,
        "author": found.author,
        "outcome": found.outcome,
        **actions,
        **comments,
    }
    return render(request, "ideas/idea.html", context)


async def history_page(request: Request) -> Response:
    viewer = await auth.current_account(request)
    async with request.app.state.db.session() as session:
        idea = await service.visible_idea(session, request.path_params["id"], viewer)
        call = await session.get(Call, idea.call_id)
        revisions = await service.revisions_of(session, idea.id)
    return render(
        request, "ideas/history.html", {"idea": idea, "call": call, "revisions": revisions}
    )


async def _act(request: Request, done: str) -> Response:
    """Endorse, withdraw, follow or unfollow: a redirect for a plain form, the refreshed
    controls for htmx (with the reason when it was refused)."""
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    idea_id: int = request.path_params["id"]
    moment = now()
    error: MootError | None = None
    try:
        async with request.app.state.db.session() as session, session.begin():
            if done == "endorsed":
                raw = str(form.get("persona_id", ""))
                if not raw.isdigit():
                    raise BadRequest("Choose a persona to endorse as.", field="persona_id")
                await endorsements.endorse(session, account, idea_id, int(raw), now=moment)
            elif done == "endorsement-withdrawn":
                await endorsements.withdraw_endorsement(session, account, idea_id, now=moment)
            elif done == "following":
                await endorsements.follow(session, account, idea_id)
            else:
                await endorsements.unfollow(session, account, idea_id)
    except MootError as exc:
        if not is_fragment(request):
            raise
        error = exc
    if not is_fragment(request):
        return RedirectResponse(f"/ideas/{idea_id}?done={done}#idea-actions", status_code=303)
    async with request.app.state.db.session() as session:
        idea = await service.visible_idea(session, idea_id, account)
        context = await actions_context(session, idea, account, error.message if error else None)
    return render(
        request, "ideas/_actions.html", context, status=error.status_code if error else 200
    )


async def endorse(request: Request) -> Response:
    return await _act(request, "endorsed")


async def withdraw(request: Request) -> Response:
    return await _act(request, "endorsement-withdrawn")


async def follow(request: Request) -> Response:
    return await _act(request, "following")


async def unfollow(request: Request) -> Response:
    return await _act(request, "unfollowed")


routes: list[BaseRoute] = [
    Route("/calls/{slug:str}/ideas", list_page, methods=["GET"], name="call_ideas"),
    *form_pages.routes,
    Route("/ideas/{id:id}", idea_page, methods=["GET"], name="idea"),
    Route("/ideas/{id:id}/history", history_page, methods=["GET"]),
    Route("/ideas/{id:id}/endorse", endorse, methods=["POST"]),
    Route("/ideas/{id:id}/withdraw", withdraw, methods=["POST"]),
    Route("/ideas/{id:id}/follow", follow, methods=["POST"]),
    Route("/ideas/{id:id}/unfollow", unfollow, methods=["POST"]),
]
