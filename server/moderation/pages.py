"""Pages for moderation: reporting an idea or comment, the moderators' queue, and the review
page where a moderator hides, restores, warns or dismisses."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.errors import BadRequest, ValidationFailed
from server.identity import auth
from server.moderation import service
from server.moderation.service import Action
from server.web import now, render

ACTIONS = {a.value: a for a in Action}


def _subject_params(raw_type: str, raw_id: str) -> tuple[str, int]:
    if raw_type not in service.SUBJECT_TYPES or not raw_id.isdigit() or len(raw_id) > 18:
        raise BadRequest("Choose an idea or a comment to report.")
    return raw_type, int(raw_id)


def _with_notice(link: str, key: str) -> str:
    path, _, fragment = link.partition("#")
    return f"{path}?done={key}" + (f"#{fragment}" if fragment else "")


async def _report_form(
    request: Request,
    subject_type: str,
    subject_id: int,
    *,
    reason: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    async with request.app.state.db.session() as session:
        subject = await service.find_subject(session, subject_type, subject_id, public=True)
    context = {
        "subject_type": subject_type,
        "subject": subject,
        "link": service.subject_link(subject),
        "reason": reason,
        "errors": errors or {},
        "max_reason": service.MAX_REASON,
    }
    return render(request, "moderation/report.html", context, status=status)


async def report_page(request: Request) -> Response:
    await auth.require_account(request)
    subject_type, subject_id = _subject_params(
        request.query_params.get("subject_type", ""), request.query_params.get("subject_id", "")
    )
    return await _report_form(request, subject_type, subject_id)


async def report(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    subject_type, subject_id = _subject_params(
        str(form.get("subject_type", "")), str(form.get("subject_id", ""))
    )
    reason = str(form.get("reason", ""))
    try:
        async with request.app.state.db.session() as session, session.begin():
            created = await service.report(session, account, subject_type, subject_id, reason)
            subject = await service.find_subject(session, subject_type, subject_id, public=True)
    except ValidationFailed as exc:
        return await _report_form(
            request, subject_type, subject_id, reason=reason, errors=exc.errors, status=422
        )
    key = "reported" if created else "already-reported"
    return RedirectResponse(_with_notice(service.subject_link(subject), key), status_code=303)


async def queue_page(request: Request) -> Response:
    account = await auth.require_account(request)
    after = request.query_params.get("after")
    async with request.app.state.db.session() as session:
        await service.require_moderator(session, account)
        page = await service.queue(session, after=after)
    context = {"page": page, "after": after}
    if request.headers.get("HX-Request") and after:
        return render(request, "moderation/_rows.html", context)
    return render(request, "moderation/queue.html", context)


async def _review(
    request: Request,
    subject_type: str,
    subject_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        await service.require_moderator(session, account)
        item = await service.queue_item(session, subject_type, subject_id)
    context = {"item": item, "values": values or {}, "errors": errors or {}}
    return render(request, "moderation/review.html", context, status=status)


async def review_page(request: Request) -> Response:
    subject_type, subject_id = _subject_params(
        request.path_params["subject_type"], str(request.path_params["subject_id"])
    )
    return await _review(request, subject_type, subject_id)


async def act(request: Request) -> Response:
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    subject_type, subject_id = _subject_params(
        request.path_params["subject_type"], str(request.path_params["subject_id"])
    )
    action = ACTIONS.get(str(form.get("action", "")))
    if action is None:
        raise BadRequest("Choose what to do: hide, restore, warn or dismiss.")
    reason = str(form.get("reason", ""))
    try:
        async with request.app.state.db.session() as session, session.begin():
            await service.moderate(
                session, account, subject_type, subject_id, action, reason=reason, now=now()
            )
    except ValidationFailed as exc:
        message = exc.errors.get("reason") or exc.message
        return await _review(
            request,
            subject_type,
            subject_id,
            values={f"{action.value}-reason": reason},
            errors={f"{action.value}-reason": message},
            status=422,
        )
    return RedirectResponse("/moderation?done=moderation-done", status_code=303)


routes = [
    Route("/report", report_page, methods=["GET"]),
    Route("/report", report, methods=["POST"]),
    Route("/moderation", queue_page, methods=["GET"]),
    Route("/moderation/{subject_type:str}/{subject_id:id}", review_page, methods=["GET"]),
    Route("/moderation/{subject_type:str}/{subject_id:id}", act, methods=["POST"]),
]
