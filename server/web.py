"""Shared page machinery: templates, their filters, and the one error handler for pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from server import humanize
from server.errors import (
    Conflict,
    MootError,
    NotAuthenticated,
    NotFound,
    RateLimited,
    ServiceUnavailable,
)
from server.markdown import render_markdown
from server.settings import Settings

log = logging.getLogger(__name__)

LONDON = ZoneInfo("Europe/London")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@cache
def asset_version(static_dir: Path, path: str) -> str:
    """A short content hash for cache-busting, computed once per file per process."""
    return hashlib.sha256((static_dir / path).read_bytes()).hexdigest()[:12]


def build_templates(settings: Settings) -> Environment:
    env = Environment(
        loader=FileSystemLoader(settings.web_dir / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=not settings.is_production,
    )
    static_dir = settings.web_dir / "static"

    def local(value: dt.datetime) -> dt.datetime:
        return value.astimezone(LONDON)

    env.filters["markdown"] = render_markdown
    env.filters["long_date"] = lambda v: humanize.long_date(local(v))
    env.filters["short_date"] = lambda v: humanize.short_date(local(v))
    env.filters["iso"] = lambda v: v.astimezone(dt.UTC).isoformat()
    env.globals["relative"] = lambda v: humanize.relative(v, now())
    env.globals["static"] = lambda path: f"/static/{path}?v={asset_version(static_dir, path)}"
    env.globals["htmx_version"] = json.loads((static_dir / "vendor/htmx/VERSION.json").read_text())[
        "version"
    ]
    return env


# Fixed messages after a redirect: `?done=<key>` names one; the query never carries the text.
NOTICES = {
    "persona-created": "Your new persona is ready to use.",
    "persona-updated": "Your persona has been updated.",
    "persona-archived": "The persona is archived. What it posted stays, under its name.",
    "deleted": "Your account has been deleted. Thank you for taking part.",
    "token-created": "Your token is ready. Copy it now: it will not be shown again.",
    "token-revoked": "The token has been revoked. Tools using it stop working at once.",
    "signed-out-everywhere": "You have been signed out on every device.",
    "reported": "Thank you. The moderators will look at your report.",
    "already-reported": "You have already reported this. The moderators will look at it.",
    "moderation-done": "Done: the item's open reports are resolved.",
    "outcome-recorded": "The outcome is recorded, and the idea's followers have been told.",
    "notifications-read": "All your notifications are marked read.",
    "notification-read": "The notification is marked read.",
    "digest-saved": "Your email digest setting is saved.",
    "idea-published": "Your idea is published. Thank you for sharing it.",
    "idea-draft-saved": "Your draft is saved. Only you can see it until you publish it.",
    "idea-updated": "Your changes are saved. Earlier versions stay in the idea's history.",
    "endorsed": "You endorse this idea.",
    "endorsement-withdrawn": "Your endorsement has been withdrawn.",
    "following": "You are following this idea.",
    "unfollowed": "You are no longer following this idea.",
    "verified": "Thank you: your identity is verified.",
    "call-saved": "The call has been saved.",
}


def _oidc_providers(request: Request) -> list[Any]:
    registry = getattr(request.app.state, "oidc", None)
    return list(registry.providers.values()) if registry is not None else []


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    env: Environment = request.app.state.templates
    state = request.scope.get("state", {})
    ctx = {
        "request": request,
        "htmx": request.headers.get("HX-Request") == "true",
        "viewer": state.get("account"),
        "csrf_token": state.get("csrf_token", ""),
        "dev": not request.app.state.settings.is_production,
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "oidc_providers": _oidc_providers(request),
        **(context or {}),
    }
    body = env.get_template(template).render(ctx)
    return HTMLResponse(body, status_code=status, headers=headers)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request: Request, error: MootError) -> Response:
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    if _wants_json(request):
        payload = {"error": {"code": error.code, "message": error.message}}
        return JSONResponse(payload, status_code=error.status_code, headers=headers)
    return render(
        request, "error.html", {"error": error}, status=error.status_code, headers=headers
    )


async def handle_moot_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MootError)
    if isinstance(exc, NotAuthenticated) and request.method == "GET" and not _wants_json(request):
        # A page that needs a signed-in person: sign in, then come back here.
        return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)
    return error_response(request, exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(request, NotFound())
    error = MootError(exc.detail if isinstance(exc.detail, str) else None)
    error.status_code = exc.status_code
    error.code = "HTTP_ERROR"
    return error_response(request, error)


async def handle_database_down(request: Request, exc: Exception) -> Response:
    log.error("database unavailable: %s", type(exc).__name__)
    return error_response(request, ServiceUnavailable())


async def handle_integrity_error(request: Request, exc: Exception) -> Response:
    # Services check the rules first; reaching here means a concurrent request won the race
    # for the same unique row, and the database's constraint kept the data whole.
    log.info("constraint refused a write on %s", request.url.path)
    return error_response(request, Conflict())


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, MootError())


EXCEPTION_HANDLERS: dict[Any, Any] = {
    MootError: handle_moot_error,
    HTTPException: handle_http_exception,
    OperationalError: handle_database_down,
    InterfaceError: handle_database_down,
    OSError: handle_database_down,
    TimeoutError: handle_database_down,
    IntegrityError: handle_integrity_error,
    Exception: handle_unexpected,
}
