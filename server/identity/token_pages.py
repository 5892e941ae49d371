"""Personal access tokens from the account page, and our public keys for verifying them."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from server.errors import ValidationFailed
from server.identity import auth, service, tokens
from server.identity.models import Role, TokenScope
from server.web import now, render


async def jwks(request: Request) -> Response:
    async with request.app.state.db.session() as session, session.begin():
        # Make sure a key exists, so clients can fetch keys before the first token is issued.
        await tokens.active_signing_key(session, request.app.state.keys)
        keys = await tokens.jwks(session)
    return JSONResponse(keys, headers={"Cache-Control": "public, max-age=300"})


async def tokens_page(request: Request) -> Response:
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        rows = await tokens.list_tokens(session, account)
        moderates = await service.has_role(session, account.id, Role.MODERATOR)
    return render(
        request,
        "identity/tokens.html",
        {
            "tokens": rows,
            "moderates": moderates,
            "errors": {},
            "created": None,
            "values": {"name": "", "days": "90", "scopes": ["read"]},
            "now": now(),
        },
    )


async def create_token(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    scopes = [str(s) for s in form.getlist("scopes")]
    days = str(form.get("days", "90"))
    name = str(form.get("name", ""))
    values: dict[str, object] = {"name": name, "days": days, "scopes": scopes}
    created = None
    errors: dict[str, str] = {}
    try:
        if not days.isdigit():
            raise ValidationFailed("Enter a number of days.", field="expires_in")
        async with request.app.state.db.session() as session, session.begin():
            allowed = {TokenScope.READ, TokenScope.PARTICIPATE}
            if await service.has_role(session, account.id, Role.MODERATOR):
                allowed.add(TokenScope.MODERATE)
            _, created = await tokens.create_token(
                session,
                request.app.state.keys,
                account,
                name=name,
                scopes=scopes,
                expires_in=dt.timedelta(days=int(days)),
                now=now(),
                allowed_scopes=allowed,
            )
    except ValidationFailed as exc:
        errors = exc.errors or {exc.field or "name": exc.message}
    async with request.app.state.db.session() as session:
        rows = await tokens.list_tokens(session, account)
        moderates = await service.has_role(session, account.id, Role.MODERATOR)
    return render(
        request,
        "identity/tokens.html",
        {
            "tokens": rows,
            "moderates": moderates,
            "errors": errors,
            "created": created,
            "values": values if errors else {"name": "", "days": "90", "scopes": ["read"]},
            "now": now(),
        },
        status=422 if errors else 200,
        headers={"Cache-Control": "no-store"},
    )


async def revoke(request: Request) -> Response:
    await auth.read_form(request)
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session, session.begin():
        await tokens.revoke_token(session, account, request.path_params["id"], now=now())
    return RedirectResponse("/account/tokens?done=token-revoked", status_code=303)


routes = [
    Route("/.well-known/jwks.json", jwks, methods=["GET"]),
    Route("/account/tokens", tokens_page, methods=["GET"]),
    Route("/account/tokens", create_token, methods=["POST"]),
    Route("/account/tokens/{id:id}/revoke", revoke, methods=["POST"]),
]
