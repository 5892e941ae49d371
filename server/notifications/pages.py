"""Pages for notifications: the list, marking read (forms enhanced with htmx), the email digest
setting, and the unread count the layout's navigation loads."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from server.errors import ValidationFailed
from server.identity import auth
from server.identity.models import Account
from server.notifications import service
from server.notifications.models import Digest
from server.web import now, render

DIGESTS = [
    (Digest.OFF.value, "Never", "See notifications here only."),
    (Digest.DAILY.value, "Daily", "One email a day when something has happened."),
    (Digest.WEEKLY.value, "Weekly", "One email a week when something has happened."),
]


async def _context(request: Request, account: Account) -> dict[str, Any]:
    after = request.query_params.get("after")
    unread_only = request.query_params.get("show") == "unread"
    async with request.app.state.db.session() as session:
        page = await service.list_notifications(
            session, account.id, after=after, unread_only=unread_only
        )
        unread = await service.unread_count(session, account.id)
        digest = await service.digest_setting(session, account.id)
    return {
        "page": page,
        "after": after,
        "unread_only": unread_only,
        "unread_notifications": unread,
        "digest": digest.value,
        "digests": DIGESTS,
        "errors": {},
    }


async def list_page(request: Request) -> Response:
    account = await auth.require_account(request)
    context = await _context(request, account)
    if request.headers.get("HX-Request") and context["after"]:
        return render(request, "notifications/_rows.html", context)
    return render(request, "notifications/list.html", context)


async def read_all(request: Request) -> Response:
    await auth.read_form(request)
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session, session.begin():
        await service.mark_read(session, account.id, now=now())
    if request.headers.get("HX-Request"):
        context = await _context(request, account)
        return render(request, "notifications/_section.html", {**context, "swapped_all": True})
    return RedirectResponse("/notifications?done=notifications-read", status_code=303)


async def read_one(request: Request) -> Response:
    await auth.read_form(request)
    account = await auth.require_account(request)
    notification_id = request.path_params["id"]
    async with request.app.state.db.session() as session, session.begin():
        await service.mark_read(session, account.id, now=now(), ids=[notification_id])
        notification = await service.get_notification(session, account.id, notification_id)
    if request.headers.get("HX-Request"):
        # htmx swaps just this notification, now shown as read.
        return render(request, "notifications/_item.html", {"n": notification, "swapped": True})
    return RedirectResponse("/notifications?done=notification-read", status_code=303)


async def save_settings(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    try:
        digest = service.parse_digest(str(form.get("email_digest", "")))
    except ValidationFailed as exc:
        context = await _context(request, account)
        context["errors"] = exc.errors
        return render(request, "notifications/list.html", context, status=422)
    async with request.app.state.db.session() as session, session.begin():
        await service.set_digest(session, account.id, digest)
    return RedirectResponse("/notifications?done=digest-saved#settings", status_code=303)


async def unread_fragment(request: Request) -> Response:
    """The "(N unread)" part of the navigation link, loaded by htmx on every page."""
    account = await auth.current_account(request)
    if account is None:
        return HTMLResponse("<span></span>")
    async with request.app.state.db.session() as session:
        unread = await service.unread_count(session, account.id)
    return render(request, "notifications/_count.html", {"unread_notifications": unread})


routes = [
    Route("/notifications", list_page, methods=["GET"]),
    Route("/notifications/read", read_all, methods=["POST"]),
    Route("/notifications/{id:id}/read", read_one, methods=["POST"]),
    Route("/notifications/settings", save_settings, methods=["POST"]),
    Route("/notifications/unread", unread_fragment, methods=["GET"]),
]
