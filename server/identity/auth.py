"""Who is asking: session cookies for the web, and CSRF protection for every form and htmx
request.

CSRF uses a signed double-submit token: a random ``moot_csrf`` cookie, and a token equal to its
HMAC under our secret, sent back as the ``csrf_token`` form field or the ``X-CSRF-Token`` header
(which htmx sends from ``hx-headers:inherited`` on <body>). A cross-site page can make the
browser send the cookie but cannot read it, so it cannot compute the token.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import Forbidden, MootError, NotAuthenticated, PayloadTooLarge
from server.identity import service
from server.identity.keys import Keys
from server.identity.models import Account

SESSION_COOKIE = "moot_session"
CSRF_COOKIE = "moot_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class CsrfFailed(Forbidden):
    code = "CSRF_FAILED"
    default_message = (
        "This form has expired or did not come from Moot. Go back, reload the page and try again."
    )


def is_local(conn: HTTPConnection) -> bool:
    host = conn.url.hostname or ""
    return host in LOCAL_HOSTS or host.endswith(".localhost")


def csrf_token(keys: Keys, cookie: str) -> str:
    return keys.sign("csrf", cookie)


def _valid(keys: Keys, cookie: str | None, token: str | None) -> bool:
    if not cookie or not token:
        return False
    return hmac.compare_digest(csrf_token(keys, cookie), token)


def header_token_valid(conn: HTTPConnection) -> bool:
    keys: Keys = conn.app.state.keys
    return _valid(keys, conn.cookies.get(CSRF_COOKIE), conn.headers.get(CSRF_HEADER))


async def read_form(request: Request, *, max_files: int = 0, max_fields: int = 50) -> FormData:
    """The only way handlers read a form: it checks the CSRF token first."""
    try:
        form = await request.form(max_files=max_files, max_fields=max_fields)
    except MootError:
        raise
    except Exception as exc:  # a malformed body
        raise CsrfFailed("The form could not be read. Please try again.") from exc
    if header_token_valid(request):
        return form
    token = form.get(CSRF_FIELD)
    if not _valid(
        request.app.state.keys,
        request.cookies.get(CSRF_COOKIE),
        token if isinstance(token, str) else None,
    ):
        await form.close()  # uploaded files must not outlive a refused request
        raise CsrfFailed
    return form


class CsrfMiddleware:
    """Gives every browser a CSRF cookie, exposes the matching token to templates, and refuses
    unsafe requests that can carry no token (forms are checked by :func:`read_form`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        keys: Keys = scope["app"].state.keys
        cookie = conn.cookies.get(CSRF_COOKIE)
        fresh = None
        if not cookie or len(cookie) < 20:
            cookie = fresh = secrets.token_urlsafe(24)
        scope.setdefault("state", {})["csrf_token"] = csrf_token(keys, cookie)

        if scope["method"] in UNSAFE and scope["path"] != "/graphql":
            origin = conn.headers.get("origin")
            if origin and origin not in {f"{conn.url.scheme}://{conn.url.netloc}"}:
                await self._refuse(scope, receive, send, "A request from another site was refused.")
                return
            content_type = conn.headers.get("content-type", "")
            is_form = content_type.startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            )
            if not is_form and not header_token_valid(conn):
                await self._refuse(scope, receive, send, None)
                return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and fresh:
                response = Response()
                response.set_cookie(
                    CSRF_COOKIE,
                    fresh,
                    httponly=True,
                    samesite="lax",
                    secure=not is_local(conn),
                    path="/",
                )
                message.setdefault("headers", []).append(
                    (b"set-cookie", response.headers["set-cookie"].encode("latin-1"))
                )
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, message: str | None
    ) -> None:
        from server.web import error_response

        request = Request(scope, receive)
        response = error_response(request, CsrfFailed(message))
        await response(scope, receive, send)


class BodyLimitMiddleware:
    """Refuses bodies over a limit before reading them whole (the register upload may be
    larger). A body with a false Content-Length is cut off as it streams."""

    def __init__(self, app: ASGIApp, *, default: int, larger: dict[str, int]) -> None:
        self.app = app
        self.default = default
        self.larger = larger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.default)
        length = HTTPConnection(scope).headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._too_large(scope, receive, send, limit)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(_limit_message(limit))
            return message

        await self.app(scope, limited_receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        from server.web import error_response

        response = error_response(Request(scope, receive), PayloadTooLarge(_limit_message(limit)))
        await response(scope, receive, send)


def _limit_message(limit: int) -> str:
    return f"That is too large to send: the limit is {limit // 1024:,} KB."


class AccountMiddleware:
    """Resolves the session cookie once per request so pages, the layout and handlers agree on
    who is signed in. Requests without the cookie, and static files, cost nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(("/static/", "/healthz")):
            await current_account(HTTPConnection(scope))
        await self.app(scope, receive, send)


async def current_account(conn: HTTPConnection) -> Account | None:
    """The signed-in account, looked up once per request."""
    state: dict[str, Any] = conn.scope.setdefault("state", {})
    if "account" in state:
        return state["account"]  # type: ignore[no-any-return]
    account = None
    token = conn.cookies.get(SESSION_COOKIE)
    if token:
        from server.web import now

        async with conn.app.state.db.session() as session:
            account = await service.account_for_session(session, token, now=now())
    state["account"] = account
    return account


async def require_account(conn: HTTPConnection) -> Account:
    account = await current_account(conn)
    if account is None:
        raise NotAuthenticated
    return account


def set_session_cookie(response: Response, conn: HTTPConnection, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(service.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=not is_local(conn),
        path="/",
    )


def clear_session_cookie(response: Response, conn: HTTPConnection) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=not is_local(conn), path="/"
    )
