"""Pages for verifying identities (register match, one-time codes) and micro-participation.
The staff's tools (registers, issuing codes, conflicts) are in ``staff_verify_pages``.

Every form works without JavaScript: GET shows it, POST handles it (always through
``auth.read_form``, which checks CSRF, before anything else), bad input re-renders the form with
the error next to its field and a 4xx status, and success redirects to a page with a notice
(an upload, and a batch of codes, show their result straight away instead).

Keeping what a venue (light) account did: when someone joins a call at ``/join/<call>`` the
browser gets, besides the session cookie, a ``moot_light`` cookie (path ``/account``) holding the
same session token. If they later sign in or sign up on that browser, ``/account/verify`` and
``/account/claim`` offer "Keep what you did"; pressing it moves the light account's personas (and
its verified person, if the full account has none) to the full account and deletes the light one.
Possession of a still-live light session is the proof: signing the light account out gives the
claim up, and nobody can claim from another device with a used code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server.calls import service as calls
from server.calls.models import Call
from server.errors import Conflict, Forbidden, RateLimited, ValidationFailed
from server.identity import auth, codes, light, registers, service
from server.identity.models import Account, AccountKind, Verification, VerificationConflict
from server.identity.verification import IdentityInUse, live_verifications
from server.identity.verify_common import (
    METHOD_NAMES,
    claim_lines,
    conflict_errors,
    count_attempt,
    error_for,
    form_text,
    locked_account,
    london_today,
    match_details,
    notice_for,
    register_values,
    request_keys,
)
from server.web import now, render

LIGHT_COOKIE = "moot_light"


# --- The hub ----------------------------------------------------------------------------------


async def _claim_offer(
    request: Request, session: AsyncSession, viewer: Account
) -> light.LightSummary | None:
    """The venue account this browser holds, which the signed-in full account may claim."""
    token = request.cookies.get(LIGHT_COOKIE)
    if not token or viewer.kind != AccountKind.FULL:
        return None
    held = await light.light_account_for_token(session, token, now=now())
    if held is None or held.id == viewer.id:
        return None
    return await light.describe(session, held)


async def hub(request: Request) -> Response:
    viewer = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        verifications: list[Verification] = (
            await live_verifications(session, viewer.person_id, now=now())
            if viewer.person_id
            else []
        )
        have_registers = await registers.any_registers(session)
        offer = await _claim_offer(request, session, viewer)
        own = await light.describe(session, viewer) if viewer.kind == AccountKind.LIGHT else None
    return render(
        request,
        "verify/hub.html",
        {
            "verifications": [
                (METHOD_NAMES.get(v.method, v.method), claim_lines(v.claims), v)
                for v in verifications
            ],
            "have_registers": have_registers,
            "offer": offer,
            "own": own,
            "notice": notice_for(request),
            "errors": {},
            "values": {},
            "code": "",
        },
    )


# --- Register match -------------------------------------------------------------------------


async def register_page(request: Request) -> Response:
    await auth.require_account(request)
    async with request.app.state.db.session() as session:
        have_registers = await registers.any_registers(session)
    return render(
        request,
        "verify/register.html",
        {"errors": {}, "values": {}, "have_registers": have_registers},
    )


async def register_match(request: Request) -> Response:
    form = await auth.read_form(request)
    viewer = await auth.require_account(request)
    values = register_values(form)

    def again(errors: dict[str, str], status: int, **extra: str) -> Response:
        return render(
            request,
            "verify/register.html",
            {"errors": errors, "values": values, "have_registers": True},
            status=status,
            headers=extra or None,
        )

    try:
        await count_attempt(request, "register-match", viewer.id, per_account=10, per_address=100)
        async with request.app.state.db.session() as session, session.begin():
            account = await locked_account(session, viewer)
            result = await registers.match_register(
                session, request_keys(request), account, match_details(values), today=london_today()
            )
    except RateLimited as exc:
        return again({"name": exc.message}, 429, **{"Retry-After": str(exc.retry_after)})
    except ValidationFailed as exc:
        return again(error_for(exc, "name"), exc.status_code)
    if isinstance(result, VerificationConflict):
        # The conflict is committed for moderators; the person sees why nothing happened.
        return again(conflict_errors("name"), IdentityInUse.status_code)
    return RedirectResponse("/account/verify?done=register", status_code=303)


# --- One-time codes -------------------------------------------------------------------------


async def code_page(request: Request) -> Response:
    await auth.require_account(request)
    return render(request, "verify/code.html", {"errors": {}, "code": ""})


async def code_redeem(request: Request) -> Response:
    form = await auth.read_form(request)
    viewer = await auth.require_account(request)
    raw = form_text(form, "code").strip()[:40]
    try:
        await count_attempt(request, "code-redeem", viewer.id, per_account=10, per_address=300)
        async with request.app.state.db.session() as session, session.begin():
            account = await locked_account(session, viewer)
            result = await codes.redeem_code(
                session, request_keys(request), account, raw, now=now()
            )
    except RateLimited as exc:
        return render(
            request,
            "verify/code.html",
            {"errors": {"code": exc.message}, "code": raw},
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except (ValidationFailed, Conflict) as exc:
        return render(
            request,
            "verify/code.html",
            {"errors": error_for(exc, "code"), "code": raw},
            status=exc.status_code,
        )
    if isinstance(result, VerificationConflict):
        return render(
            request,
            "verify/code.html",
            {"errors": conflict_errors("code"), "code": raw},
            status=IdentityInUse.status_code,
        )
    return RedirectResponse("/account/verify?done=code", status_code=303)


# --- Micro-participation: joining a call --------------------------------------------------


def _joins_as_self(viewer: Account | None, call: Call) -> bool:
    """Signed in with an account that can take part in ``call``: verify that one instead of
    making a new one. A venue account for another call starts afresh."""
    if viewer is None:
        return False
    return viewer.kind == AccountKind.FULL or viewer.light_call_id == call.id


async def _join_context(request: Request, call: Call) -> dict[str, Any]:
    viewer = await auth.current_account(request)
    async with request.app.state.db.session() as session:
        have_registers = await registers.any_registers(session)
    return {
        "call": call,
        "closed": call.closes_at <= now(),
        "as_self": _joins_as_self(viewer, call),
        "have_registers": have_registers,
        "errors": {},
        "values": {},
        "code": "",
    }


async def _call(request: Request) -> Call:
    async with request.app.state.db.session() as session:
        return await calls.get_call(session, request.path_params["call_slug"])


async def join_page(request: Request) -> Response:
    call = await _call(request)
    return render(request, "verify/join.html", await _join_context(request, call))


def _joined(request: Request, call: Call, joined: light.LightJoin | None) -> Response:
    response = RedirectResponse(f"/calls/{call.slug}", status_code=303)
    if joined is not None:
        auth.set_session_cookie(response, request, joined.session_token)
        response.set_cookie(
            LIGHT_COOKIE,
            joined.session_token,
            max_age=int(service.SESSION_LIFETIME.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=not auth.is_local(request),
            path="/account",
        )
    return response


async def _join(
    request: Request,
    call: Call,
    context: dict[str, Any],
    error_field: str,
    as_self: Callable[[AsyncSession, Account], Awaitable[Verification | VerificationConflict]],
    as_new: Callable[[AsyncSession], Awaitable[light.LightJoin]],
    *,
    action: str,
    per_address: int,
) -> Response:
    viewer = await auth.current_account(request)
    self_join = _joins_as_self(viewer, call)
    joined: light.LightJoin | None = None
    try:
        await count_attempt(
            request,
            action,
            viewer.id if viewer and self_join else None,
            per_account=10,
            per_address=per_address,
        )
        async with request.app.state.db.session() as session, session.begin():
            light.check_joinable(call, now=now())
            if viewer is not None and self_join:
                result = await as_self(session, await locked_account(session, viewer))
                if isinstance(result, VerificationConflict):
                    context["errors"] = conflict_errors(error_field)
            else:
                joined = await as_new(session)
    except RateLimited as exc:
        context["errors"] = {error_field: exc.message}
        return render(
            request,
            "verify/join.html",
            context,
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except (ValidationFailed, Conflict) as exc:
        context["errors"] = error_for(exc, error_field)
        return render(request, "verify/join.html", context, status=exc.status_code)
    if context["errors"]:
        return render(request, "verify/join.html", context, status=IdentityInUse.status_code)
    return _joined(request, call, joined)


async def join_code(request: Request) -> Response:
    form = await auth.read_form(request)
    call = await _call(request)
    raw = form_text(form, "code").strip()[:40]
    context = {**await _join_context(request, call), "code": raw}
    keys, moment = request_keys(request), now()

    async def as_self(
        session: AsyncSession, account: Account
    ) -> Verification | VerificationConflict:
        return await codes.redeem_code(session, keys, account, raw, now=moment, call_id=call.id)

    async def as_new(session: AsyncSession) -> light.LightJoin:
        return await light.join_with_code(session, keys, call, raw, now=moment)

    return await _join(
        request, call, context, "code", as_self, as_new, action="join-code", per_address=300
    )


async def join_register(request: Request) -> Response:
    form = await auth.read_form(request)
    call = await _call(request)
    values = register_values(form)
    details = match_details(values)
    context = {**await _join_context(request, call), "values": values}
    keys, moment, today = request_keys(request), now(), london_today()

    async def as_self(
        session: AsyncSession, account: Account
    ) -> Verification | VerificationConflict:
        return await registers.match_register(session, keys, account, details, today=today)

    async def as_new(session: AsyncSession) -> light.LightJoin:
        return await light.join_with_register(session, keys, call, details, today=today, now=moment)

    return await _join(
        request,
        call,
        context,
        "name",
        as_self,
        as_new,
        action="join-register",
        per_address=100,
    )


# --- Keeping what a venue account did -------------------------------------------------------


async def claim_page(request: Request) -> Response:
    viewer = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        offer = await _claim_offer(request, session, viewer)
        own = await light.describe(session, viewer) if viewer.kind == AccountKind.LIGHT else None
    return render(request, "verify/claim.html", {"offer": offer, "own": own, "errors": {}})


async def claim(request: Request) -> Response:
    await auth.read_form(request)
    viewer = await auth.require_account(request)
    if viewer.kind != AccountKind.FULL:
        raise Forbidden("Sign in to your full Moot account first, then keep what you did.")
    token = request.cookies.get(LIGHT_COOKIE, "")
    try:
        async with request.app.state.db.session() as session, session.begin():
            held = await light.light_account_for_token(session, token, now=now()) if token else None
            if held is None or held.id == viewer.id:
                raise Conflict(
                    "There is nothing to keep on this browser: the venue account has already "
                    "been kept, or it was signed out.",
                    field="claim",
                )
            full = await locked_account(session, viewer)
            await light.claim_light_account(session, full, held, now=now())
    except Conflict as exc:
        return render(
            request,
            "verify/claim.html",
            {"offer": None, "own": None, "errors": {"claim": exc.message}},
            status=exc.status_code,
        )
    response = RedirectResponse("/account/verify?done=claimed", status_code=303)
    response.delete_cookie(
        LIGHT_COOKIE,
        httponly=True,
        samesite="lax",
        secure=not auth.is_local(request),
        path="/account",
    )
    return response


routes: list[BaseRoute] = [
    Route("/account/verify", hub, methods=["GET"]),
    Route("/account/verify/register", register_page, methods=["GET"]),
    Route("/account/verify/register", register_match, methods=["POST"]),
    Route("/account/verify/code", code_page, methods=["GET"]),
    Route("/account/verify/code", code_redeem, methods=["POST"]),
    Route("/account/claim", claim_page, methods=["GET"]),
    Route("/account/claim", claim, methods=["POST"]),
    Route("/join/{call_slug:str}", join_page, methods=["GET"]),
    Route("/join/{call_slug:str}", join_code, methods=["POST"]),
    Route("/join/{call_slug:str}/register", join_register, methods=["POST"]),
]
