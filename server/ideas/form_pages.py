"""Posting and editing ideas: the new-idea page (with similar ideas and the author's drafts)
and the edit page. Plain forms that work without JavaScript; htmx only adds the live list of
similar ideas as the title is typed."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.calls import rules
from server.calls import service as calls
from server.calls.models import Call
from server.errors import Forbidden, ValidationFailed
from server.ideas import listing, service
from server.ideas.models import Idea
from server.identity import auth
from server.identity.models import Account
from server.personas import service as personas
from server.web import now, render

FIELDS = ("persona_id", "title", "body", "tags", "area", "latitude", "longitude")


def _values(form: FormData | None = None, idea: Idea | None = None) -> dict[str, str]:
    if form is not None:
        return {name: str(form.get(name, "")) for name in FIELDS}
    if idea is not None:
        return {
            "persona_id": str(idea.author_persona_id),
            "title": idea.title,
            "body": idea.body,
            "tags": ", ".join(idea.tags),
            "area": idea.area or "",
            "latitude": "" if idea.latitude is None else str(idea.latitude),
            "longitude": "" if idea.longitude is None else str(idea.longitude),
        }
    return dict.fromkeys(FIELDS, "")


def _input(values: dict[str, str]) -> service.IdeaInput:
    return service.IdeaInput(
        title=values["title"],
        body=values["body"],
        tags=tuple(t for t in values["tags"].split(",") if t.strip()),
        area=values["area"],
        latitude=values["latitude"],
        longitude=values["longitude"],
    )


def _persona_id(values: dict[str, str]) -> int:
    if not values["persona_id"].isdigit():
        raise ValidationFailed("Choose which persona posts the idea.", field="persona_id")
    return int(values["persona_id"])


async def _form(
    request: Request,
    account: Account,
    call: Call,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    idea: Idea | None = None,
    similar: list[Idea] | None = None,
    checked: bool = False,
    status: int = 200,
) -> Response:
    async with request.app.state.db.session() as session:
        phases = await calls.phases_of(session, call.id)
        mine = await personas.personas_of(session, account.id)
        drafts = await service.drafts_of(session, account, call.id) if idea is None else []
    moment = now()
    action = rules.Action.POST_IDEA if idea is None else rules.Action.EDIT_IDEA
    context: dict[str, Any] = {
        "call": call,
        "idea": idea,
        "editing": idea is not None,
        "values": values,
        "errors": errors or {},
        "my_personas": mine,
        "drafts": drafts,
        "similar": similar or [],
        "checked": checked,
        "open": rules.allows(phases, action, moment),
        "closed_reason": _closed_reason(phases, action, moment),
    }
    return render(request, "ideas/form.html", context, status=status)


def _closed_reason(phases: list[Any], action: rules.Action, moment: Any) -> str | None:
    try:
        rules.require(phases, action, moment)
    except rules.PhaseClosed as exc:
        return exc.message
    return None


async def new_page(request: Request) -> Response:
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        call = await calls.get_call(session, request.path_params["slug"])
    service.check_scope(account, call.id)
    return await _form(request, account, call, values=_values())


async def similar_fragment(request: Request) -> Response:
    """The similar-ideas list for htmx, as the title is typed."""
    title = request.query_params.get("title", "")
    body = request.query_params.get("body", "")
    exclude = request.query_params.get("exclude", "")
    async with request.app.state.db.session() as session:
        call = await calls.get_call(session, request.path_params["slug"])
        similar = await listing.similar_ideas(
            session,
            call.id,
            title=title,
            body=body,
            exclude=int(exclude) if exclude.isdigit() else None,
        )
    viewer = await auth.current_account(request)
    mine = []
    if viewer is not None:
        async with request.app.state.db.session() as session:
            mine = await personas.personas_of(session, viewer.id)
    context = {"similar": similar, "checked": bool(title.strip()), "my_personas": mine}
    return render(request, "ideas/_similar.html", context)


async def create(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    values = _values(form)
    action = str(form.get("action", "publish"))
    async with request.app.state.db.session() as session:
        call = await calls.get_call(session, request.path_params["slug"])
    if action == "check":
        async with request.app.state.db.session() as session:
            similar = await listing.similar_ideas(
                session, call.id, title=values["title"], body=values["body"]
            )
        return await _form(request, account, call, values=values, similar=similar, checked=True)
    try:
        async with request.app.state.db.session() as session, session.begin():
            idea = await service.post_idea(
                session,
                account,
                call,
                _persona_id(values),
                _input(values),
                now=now(),
                publish=action != "draft",
            )
    except ValidationFailed as exc:
        errors = exc.errors or {"title": exc.message}
        return await _form(request, account, call, values=values, errors=errors, status=422)
    except Forbidden as exc:
        errors = {"phase": exc.message}
        return await _form(request, account, call, values=values, errors=errors, status=403)
    done = "idea-draft-saved" if idea.published_at is None else "idea-published"
    return RedirectResponse(f"/ideas/{idea.id}?done={done}", status_code=303)


async def _own(request: Request, account: Account) -> tuple[Idea, Call]:
    async with request.app.state.db.session() as session:
        idea = await service.visible_idea(session, request.path_params["id"], account)
        if not await service.is_author(session, account, idea):
            raise Forbidden("Only the author can change this idea.")
        call = await session.get(Call, idea.call_id)
        assert call is not None
    return idea, call


async def edit_page(request: Request) -> Response:
    account = await auth.require_account(request)
    idea, call = await _own(request, account)
    return await _form(request, account, call, values=_values(idea=idea), idea=idea)


async def update(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    idea, call = await _own(request, account)
    values = _values(form)
    values["persona_id"] = str(idea.author_persona_id)  # the author does not change
    publish = form.get("action") == "publish"
    try:
        async with request.app.state.db.session() as session, session.begin():
            await service.edit_idea(session, account, idea.id, _input(values), now=now())
            if publish:
                await service.publish_idea(session, account, idea.id, now=now())
    except ValidationFailed as exc:
        errors = exc.errors or {"title": exc.message}
        return await _form(
            request, account, call, values=values, errors=errors, idea=idea, status=422
        )
    except Forbidden as exc:
        return await _form(
            request,
            account,
            call,
            values=values,
            errors={"phase": exc.message},
            idea=idea,
            status=403,
        )
    done = "idea-published" if publish else "idea-updated"
    return RedirectResponse(f"/ideas/{idea.id}?done={done}", status_code=303)


async def publish(request: Request) -> Response:
    await auth.read_form(request)
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session, session.begin():
        idea = await service.publish_idea(session, account, request.path_params["id"], now=now())
    return RedirectResponse(f"/ideas/{idea.id}?done=idea-published", status_code=303)


routes = [
    Route("/calls/{slug:str}/ideas/new", new_page, methods=["GET"], name="new_idea"),
    Route("/calls/{slug:str}/ideas/similar", similar_fragment, methods=["GET"]),
    Route("/calls/{slug:str}/ideas", create, methods=["POST"]),
    Route("/ideas/{id:id}/edit", edit_page, methods=["GET"]),
    Route("/ideas/{id:id}/edit", update, methods=["POST"]),
    Route("/ideas/{id:id}/publish", publish, methods=["POST"]),
]
