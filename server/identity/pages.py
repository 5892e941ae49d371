"""Sign up, sign in (password or emailed link), sign out, and the development outbox."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.errors import NotAuthenticated, NotFound, RateLimited, ValidationFailed
from server.identity import auth, mail, service, throttle
from server.identity.keys import Keys
from server.web import now, render

WINDOW = dt.timedelta(minutes=15)


def safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/account"


def base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


async def _throttle(
    request: Request, action: str, email: str, *, per_email: int, per_address: int
) -> None:
    """Count the attempt in its own transaction, so failures count too."""
    keys: Keys = request.app.state.keys
    address = request.client.host if request.client else "unknown"
    # Keyed hashes: the throttle table must hold no email or IP address.
    email_key = keys.sign("throttle-email", email.strip().lower())
    address_key = keys.sign("throttle-address", address)
    moment = now()
    async with request.app.state.db.session() as session, session.begin():
        await throttle.hit(
            session, f"{action}:e:{email_key}", limit=per_email, window=WINDOW, now=moment
        )
        await throttle.hit(
            session, f"{action}:a:{address_key}", limit=per_address, window=WINDOW, now=moment
        )


async def sign_in_page(request: Request) -> Response:
    if await auth.current_account(request):
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return render(
        request,
        "identity/sign_in.html",
        {"errors": {}, "email": "", "next": request.query_params.get("next")},
    )


async def sign_in(request: Request) -> Response:
    form = await auth.read_form(request)
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    target = request.query_params.get("next")
    context = {"email": email, "next": target}
    try:
        await _throttle(request, "sign-in", email, per_email=10, per_address=100)
        async with request.app.state.db.session() as session, session.begin():
            account = await service.authenticate(session, email=email, password=password)
            token = await service.start_session(session, account, now=now())
    except RateLimited as exc:
        return render(
            request,
            "identity/sign_in.html",
            {**context, "errors": {"email": exc.message}},
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except NotAuthenticated as exc:
        return render(
            request,
            "identity/sign_in.html",
            {**context, "errors": {"email": exc.message}},
            status=401,
        )
    response = RedirectResponse(safe_next(target), status_code=303)
    auth.set_session_cookie(response, request, token)
    return response


async def sign_up_page(request: Request) -> Response:
    return render(request, "identity/sign_up.html", {"errors": {}, "email": ""})


async def sign_up(request: Request) -> Response:
    form = await auth.read_form(request)
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    try:
        await _throttle(request, "sign-up", email, per_email=5, per_address=30)
        async with request.app.state.db.session() as session, session.begin():
            await service.sign_up(
                session, email=email, password=password, base_url=base_url(request), now=now()
            )
    except (ValidationFailed, RateLimited) as exc:
        errors = exc.errors if isinstance(exc, ValidationFailed) else {"email": exc.message}
        return render(
            request,
            "identity/sign_up.html",
            {"errors": errors, "email": email},
            status=exc.status_code,
        )
    return render(request, "identity/check_email.html", {"email": email.strip()})


async def request_link(request: Request) -> Response:
    form = await auth.read_form(request)
    email = str(form.get("link_email", ""))
    try:
        await _throttle(request, "link", email, per_email=5, per_address=30)
        async with request.app.state.db.session() as session, session.begin():
            await service.request_link(session, email=email, base_url=base_url(request), now=now())
    except (ValidationFailed, RateLimited) as exc:
        message = (
            exc.errors.get("email", exc.message)
            if isinstance(exc, ValidationFailed)
            else exc.message
        )
        return render(
            request,
            "identity/sign_in.html",
            {"errors": {"link_email": message}, "email": email, "next": None},
            status=exc.status_code,
        )
    return render(request, "identity/check_email.html", {"email": email.strip()})


async def link_page(request: Request) -> Response:
    return render(request, "identity/link.html", {"token": request.path_params["token"]})


async def use_link(request: Request) -> Response:
    await auth.read_form(request)
    async with request.app.state.db.session() as session, session.begin():
        account = await service.redeem_link(session, request.path_params["token"], now=now())
        token = await service.start_session(session, account, now=now())
    response = RedirectResponse("/account", status_code=303)
    auth.set_session_cookie(response, request, token)
    return response


async def sign_out(request: Request) -> Response:
    await auth.read_form(request)
    token = request.cookies.get(auth.SESSION_COOKIE)
    if token:
        async with request.app.state.db.session() as session, session.begin():
            await service.end_session(session, token, now=now())
    response = RedirectResponse("/", status_code=303)
    auth.clear_session_cookie(response, request)
    return response


async def sign_out_everywhere(request: Request) -> Response:
    await auth.read_form(request)
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session, session.begin():
        await service.end_all_sessions(session, account, now=now())
    response = RedirectResponse("/sign-in", status_code=303)
    auth.clear_session_cookie(response, request)
    return response


async def outbox(request: Request) -> Response:
    if request.app.state.settings.is_production:
        raise NotFound
    async with request.app.state.db.session() as session:
        messages = await mail.recent(session)
    return render(request, "identity/outbox.html", {"messages": messages})


routes = [
    Route("/sign-in", sign_in_page, methods=["GET"]),
    Route("/sign-in", sign_in, methods=["POST"]),
    Route("/sign-up", sign_up_page, methods=["GET"]),
    Route("/sign-up", sign_up, methods=["POST"]),
    Route("/sign-in/link", request_link, methods=["POST"]),
    Route("/sign-in/link/{token:str}", link_page, methods=["GET"]),
    Route("/sign-in/link/{token:str}", use_link, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
    Route("/sign-out/everywhere", sign_out_everywhere, methods=["POST"]),
    Route("/dev/outbox", outbox, methods=["GET"]),
]
