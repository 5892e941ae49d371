"""Signing in and verifying with OpenID Connect providers.

``GET /sign-in/oidc/{provider}`` sends the browser to the provider (signed in: to verify the
account; signed out: to sign in); the provider sends it back to
``GET /sign-in/oidc/{provider}/callback``. A short-lived cookie holding the state ties the
callback to the browser that started it, so nobody can make someone else's browser finish their
login. Pages that offer the providers include ``identity/_oidc_buttons.html`` with
``oidc_providers`` (from :func:`providers`) in their context.
"""

from __future__ import annotations

import datetime as dt
import hmac

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server.errors import MootError, NotFound, RateLimited
from server.identity import auth, oidc, throttle
from server.identity.keys import Keys
from server.identity.pages import base_url, safe_next
from server.web import now, render

STATE_COOKIE = "moot_oidc_state"
NEXT_COOKIE = "moot_oidc_next"
COOKIE_PATH = "/sign-in/oidc/"
START_LIMIT = 30  # logins started per client address per window
START_WINDOW = dt.timedelta(minutes=15)
# What people are told when a provider sends them back with error=...
_CANCELLED = {"access_denied", "login_required", "consent_required", "interaction_required"}


def registry(app: Starlette) -> oidc.Registry:
    """The app's providers and their caches, parsed from the settings on first use."""
    found = getattr(app.state, "oidc", None)
    if not isinstance(found, oidc.Registry):
        found = oidc.Registry.from_settings(app.state.settings)
        app.state.oidc = found
    return found


def providers(request: Request) -> list[oidc.Provider]:
    """The configured providers, for the ``oidc_providers`` context variable of pages that
    include ``identity/_oidc_buttons.html``."""
    return list(registry(request.app).providers.values())


def _provider(request: Request) -> oidc.Provider:
    provider = registry(request.app).get(request.path_params["provider"])
    if provider is None:
        raise NotFound("There is no such sign-in provider.")
    return provider


def _redirect_uri(request: Request, provider: oidc.Provider) -> str:
    return f"{base_url(request)}/sign-in/oidc/{provider.name}/callback"


def _problem(
    request: Request,
    provider: oidc.Provider,
    error: MootError,
    *,
    heading: str | None = None,
    retry: bool = True,
) -> Response:
    verifying = request.scope.get("state", {}).get("account") is not None
    response = render(
        request,
        "identity/oidc_problem.html",
        {
            "provider": provider,
            "heading": heading
            or (
                f"Verifying with {provider.title} did not work"
                if verifying
                else f"Signing in with {provider.title} did not work"
            ),
            "message": error.message,
            "retry": retry,
        },
        status=error.status_code,
        headers={"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None,
    )
    _clear_cookies(response, request)
    return response


def _clear_cookies(response: Response, request: Request) -> None:
    for name in (STATE_COOKIE, NEXT_COOKIE):
        response.delete_cookie(
            name, path=COOKIE_PATH, httponly=True, samesite="lax", secure=not auth.is_local(request)
        )


async def start(request: Request) -> Response:
    provider = _provider(request)
    keys: Keys = request.app.state.keys
    address = request.client.host if request.client else "unknown"
    moment = now()
    try:
        async with request.app.state.db.session() as session, session.begin():
            await throttle.hit(
                session,
                f"oidc-start:a:{keys.sign('throttle-address', address)}",
                limit=START_LIMIT,
                window=START_WINDOW,
                now=moment,
            )
        account = await auth.current_account(request)
        async with request.app.state.db.session() as session, session.begin():
            url, state = await oidc.start_login(
                session,
                registry(request.app),
                keys,
                provider,
                account=account,
                redirect_uri=_redirect_uri(request, provider),
                now=moment,
            )
    except (oidc.OidcError, RateLimited) as exc:
        return _problem(request, provider, exc)
    response = RedirectResponse(url, status_code=303)
    secure = not auth.is_local(request)
    max_age = int(oidc.LOGIN_LIFETIME.total_seconds())
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back to us
        secure=secure,
    )
    target = request.query_params.get("next")
    if target:
        response.set_cookie(
            NEXT_COOKIE,
            safe_next(target),
            max_age=max_age,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
    else:
        response.delete_cookie(
            NEXT_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax", secure=secure
        )
    return response


async def callback(request: Request) -> Response:
    provider = _provider(request)
    query = request.query_params
    state = query.get("state", "")
    cookie = request.cookies.get(STATE_COOKIE, "")
    bound = bool(state) and hmac.compare_digest(cookie.encode(), state.encode())
    error = query.get("error")
    if error is not None:
        if bound:
            async with request.app.state.db.session() as session, session.begin():
                await oidc.cancel_login(session, provider, state, error=error, now=now())
        if error in _CANCELLED:
            message = (
                f"You did not finish with {provider.title}, so nothing was changed. You can try "
                "again, or use another way."
            )
            heading = f"You did not continue with {provider.title}"
        else:
            message = (
                f"{provider.title} could not complete this just now. Nothing was changed; please "
                "try again in a few minutes, or use another way."
            )
            heading = None
        return _problem(
            request, provider, oidc.OidcError(message, reason=f"error={error}"), heading=heading
        )
    if not bound:
        return _problem(
            request,
            provider,
            oidc.OidcError(
                f"This answer from {provider.title} does not belong to a sign-in started in "
                "this browser in the last "
                f"{int(oidc.LOGIN_LIFETIME.total_seconds() // 60)} minutes. Nothing was "
                "changed; please start again.",
                reason="state cookie missing or different",
            ),
        )
    account = await auth.current_account(request)
    try:
        async with request.app.state.db.session() as session, session.begin():
            outcome = await oidc.complete_login(
                session,
                registry(request.app),
                request.app.state.keys,
                provider,
                state=state,
                code=query.get("code", ""),
                iss=query.get("iss"),
                account=account,
                redirect_uri=_redirect_uri(request, provider),
                now=now(),
            )
    except oidc.OidcError as exc:  # rolled back: nothing changed
        return _problem(request, provider, exc)
    if isinstance(outcome, oidc.Refused):
        return _problem(
            request,
            provider,
            outcome.error,
            retry=isinstance(outcome.error, oidc.OidcError),
        )
    target = request.cookies.get(NEXT_COOKIE)
    if outcome.action == "verified":
        location = safe_next(target) if target else "/account?done=verified"
    else:
        location = safe_next(target)
    response = RedirectResponse(location, status_code=303)
    _clear_cookies(response, request)
    if outcome.session_token is not None:
        auth.set_session_cookie(response, request, outcome.session_token)
    return response


routes: list[BaseRoute] = [
    Route("/sign-in/oidc/{provider:str}", start, methods=["GET"]),
    Route("/sign-in/oidc/{provider:str}/callback", callback, methods=["GET"]),
]
