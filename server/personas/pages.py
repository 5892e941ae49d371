"""Creating, editing and archiving personas from the account page."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.errors import Forbidden, NotFound, ValidationFailed
from server.identity import auth
from server.identity.models import Account, Role
from server.identity.service import has_role
from server.identity.verification import live_verifications
from server.personas import service
from server.personas.models import Persona, PersonaKind
from server.web import now, render

KINDS = [
    ("resident", "As a resident", "Your name and where you live, e.g. Jane, resident of Honiton."),
    ("organisation", "For an organisation", "Needs a verification of your membership."),
    ("pseudonym", "Under a pseudonym", "A name that does not identify you."),
]


def _input(form: FormData) -> service.PersonaInput:
    raw_kind = str(form.get("kind", ""))
    verification = str(form.get("verification_id", "")).strip()
    try:
        kind = PersonaKind(raw_kind)
    except ValueError:
        raise ValidationFailed("Choose how you want to appear.", field="kind") from None
    if verification and not verification.isdigit():
        raise ValidationFailed("Choose one of your verifications.", field="verification_id")
    return service.PersonaInput(
        kind=kind,
        display_name=str(form.get("display_name", "")),
        description=str(form.get("description", "")),
        avatar_colour=str(form.get("avatar_colour", "#0b4f6c")),
        verification_id=int(verification) if verification else None,
    )


async def _form(
    request: Request,
    *,
    persona: Any = None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        verifications = (
            await live_verifications(session, account.person_id, now=now())
            if account.person_id
            else []
        )
    return render(
        request,
        "personas/form.html",
        {
            "persona": persona,
            "values": values,
            "errors": errors,
            "kinds": KINDS,
            "verifications": verifications,
        },
        status=status,
    )


async def new_page(request: Request) -> Response:
    values = {
        "kind": "resident",
        "display_name": "",
        "description": "",
        "avatar_colour": "#0b4f6c",
        "verification_id": "",
    }
    return await _form(request, values=values, errors={})


async def create(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    try:
        async with request.app.state.db.session() as session, session.begin():
            await service.create_persona(session, account, _input(form), now=now())
    except ValidationFailed as exc:
        return await _form(request, values=dict(form), errors=exc.errors, status=422)
    return RedirectResponse("/account?done=persona-created#personas", status_code=303)


async def edit_page(request: Request) -> Response:
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        persona = await service.own_persona(session, account, request.path_params["id"])
    values = {
        "display_name": persona.display_name,
        "description": persona.description,
        "avatar_colour": persona.avatar_colour,
        "verification_id": str(persona.verification_id or ""),
    }
    return await _form(request, persona=persona, values=values, errors={})


async def update(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    persona_id = request.path_params["id"]
    try:
        async with request.app.state.db.session() as session, session.begin():
            await service.update_persona(session, account, persona_id, _input(form), now=now())
    except ValidationFailed as exc:
        async with request.app.state.db.session() as session:
            persona = await service.own_persona(session, account, persona_id)
        return await _form(
            request, persona=persona, values=dict(form), errors=exc.errors, status=422
        )
    return RedirectResponse("/account?done=persona-updated#personas", status_code=303)


async def archive(request: Request) -> Response:
    await auth.read_form(request)
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session, session.begin():
        await service.archive_persona(session, account, request.path_params["id"], now=now())
    return RedirectResponse("/account?done=persona-archived#personas", status_code=303)


async def _require_moderator(request: Request) -> Any:
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        if not await has_role(session, account.id, Role.MODERATOR):
            raise Forbidden("Only moderators can see who is behind a persona.")
    return account


async def reveal_page(request: Request) -> Response:
    await _require_moderator(request)
    async with request.app.state.db.session() as session:
        persona = await session.get(Persona, request.path_params["id"])
    if persona is None:
        raise NotFound("There is no such persona.")
    return render(
        request, "personas/reveal.html", {"persona": persona, "errors": {}, "owner": None}
    )


async def reveal(request: Request) -> Response:
    """The account behind a persona, for a moderator with a reason; always audited."""
    form = await auth.read_form(request)
    moderator = await _require_moderator(request)
    persona_id = request.path_params["id"]
    reason = str(form.get("reason", ""))
    try:
        async with request.app.state.db.session() as session, session.begin():
            owner_id = await service.reveal_owner(
                session, persona_id, moderator=moderator.id, reason=reason
            )
            persona = await session.get(Persona, persona_id)
            owner = await session.get(Account, owner_id) if owner_id else None
    except ValidationFailed as exc:
        async with request.app.state.db.session() as session:
            persona = await session.get(Persona, persona_id)
        return render(
            request,
            "personas/reveal.html",
            {"persona": persona, "errors": exc.errors, "owner": None},
            status=422,
        )
    return render(
        request,
        "personas/reveal.html",
        {"persona": persona, "errors": {}, "owner": owner, "revealed": True},
        headers={"Cache-Control": "no-store"},
    )


routes = [
    Route("/moderation/personas/{id:id}/owner", reveal_page, methods=["GET"]),
    Route("/moderation/personas/{id:id}/owner", reveal, methods=["POST"]),
    Route("/account/personas/new", new_page, methods=["GET"]),
    Route("/account/personas", create, methods=["POST"]),
    Route("/account/personas/{id:id}/edit", edit_page, methods=["GET"]),
    Route("/account/personas/{id:id}", update, methods=["POST"]),
    Route("/account/personas/{id:id}/archive", archive, methods=["POST"]),
]
