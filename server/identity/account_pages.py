"""The account page: a person's own data, download and deletion."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.identity import auth, privacy, service
from server.identity.models import Account, AccountKind
from server.identity.verification import live_verifications
from server.identity.verify_pages import LIGHT_COOKIE
from server.personas import service as personas
from server.web import now, render


async def account_page(request: Request) -> Response:
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        own = await personas.personas_of(session, account.id, include_archived=True)
        verifications = (
            await live_verifications(session, account.person_id, now=now())
            if account.person_id
            else []
        )
        roles = await service.roles_of(session, account.id)
    return render(
        request,
        "identity/account.html",
        {
            "account": account,
            "personas": own,
            "verifications": verifications,
            "roles": roles,
            # Set when this browser joined a call at a venue (see identity.light).
            "has_light": account.kind == AccountKind.FULL
            and bool(request.cookies.get(LIGHT_COOKIE)),
        },
    )


async def download_data(request: Request) -> Response:
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        data = await privacy.export_account(session, account)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="moot-my-data.json"',
            "Cache-Control": "no-store",
        },
    )


async def delete_page(request: Request) -> Response:
    await auth.require_account(request)
    return render(request, "identity/delete.html", {"errors": {}})


async def delete_account(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    if form.get("confirm") != "yes":
        return render(
            request,
            "identity/delete.html",
            {"errors": {"confirm": "Tick the box to confirm you want to delete your account."}},
            status=422,
        )
    remove = form.get("contributions") == "remove"
    async with request.app.state.db.session() as session, session.begin():
        fresh = await session.get(Account, account.id, with_for_update=True)
        assert fresh is not None
        await privacy.delete_account(session, fresh, remove_contributions=remove, now=now())
    response = RedirectResponse("/?done=deleted", status_code=303)
    auth.clear_session_cookie(response, request)
    return response


routes = [
    Route("/account", account_page, methods=["GET"]),
    Route("/account/data", download_data, methods=["GET"]),
    Route("/account/delete", delete_page, methods=["GET"]),
    Route("/account/delete", delete_account, methods=["POST"]),
]
