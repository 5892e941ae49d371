"""Staff's verification tools: admins upload registers, moderators (and a call's organisers)
issue and withdraw one-time codes, and moderators settle verification conflicts. The forms work
like those of ``verify_pages``: without JavaScript, CSRF checked first (``auth.read_form``), bad
input re-rendered next to its field with a 4xx status."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server.calls import service as calls
from server.calls.models import Call
from server.errors import Conflict, Forbidden, MootError, NotFound, ValidationFailed
from server.identity import auth, codes, registers, service
from server.identity.models import Account, Role, VerificationConflict
from server.identity.verification import resolve_conflict
from server.identity.verify_common import (
    METHOD_NAMES,
    claim_lines,
    error_for,
    form_text,
    locked_account,
    notice_for,
    request_keys,
)
from server.web import now, render

MAX_CODE_DAYS = 365


async def _require_role(request: Request, role: Role) -> Account:
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        allowed = await service.has_role(session, account.id, role)
    if not allowed:
        raise Forbidden
    return account


async def _require_code_manager(request: Request) -> Account:
    account = await auth.require_account(request)
    async with request.app.state.db.session() as session:
        allowed = await codes.can_manage_codes(session, account.id)
    if not allowed:
        raise Forbidden
    return account


# --- Admin: registers -----------------------------------------------------------------------


async def _registers_page(
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    problems: list[str] | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    async with request.app.state.db.session() as session:
        summaries = await registers.list_registers(session)
    return render(
        request,
        "verify/registers.html",
        {
            "registers": summaries,
            "errors": errors or {},
            "problems": problems or [],
            "values": values or {},
            "notice": notice,
        },
        status=status,
    )


async def registers_page(request: Request) -> Response:
    await _require_role(request, Role.ADMIN)
    return await _registers_page(request)


async def upload_register(request: Request) -> Response:
    try:
        form = await auth.read_form(request, max_files=1)
    except MootError:
        # A refused form (bad CSRF token) may already hold the spooled file: close it.
        await request.close()
        raise
    try:
        admin = await _require_role(request, Role.ADMIN)
        values = {"slug": form_text(form, "slug").strip(), "name": form_text(form, "name").strip()}
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await _registers_page(
                request,
                errors={"file": "Choose the register’s CSV file."},
                values=values,
                status=422,
            )
        try:
            async with request.app.state.db.session() as session, session.begin():
                result = await registers.upload_register(
                    session,
                    request_keys(request),
                    slug=values["slug"],
                    name=values["name"],
                    source=upload.file,
                    uploaded_by=admin.id,
                    now=now(),
                )
        except registers.RegisterFileInvalid as exc:
            return await _registers_page(
                request, errors=exc.errors, problems=exc.problems, values=values, status=422
            )
        except ValidationFailed as exc:
            return await _registers_page(
                request, errors=error_for(exc, "file"), values=values, status=422
            )
    finally:
        await form.close()
    people = f"{result.rows:,} {'person' if result.rows == 1 else 'people'}"
    merged = (
        f" ({result.duplicates:,} repeated rows were counted once)" if result.duplicates else ""
    )
    verb = "Replaced" if result.replaced else "Uploaded"
    return await _registers_page(
        request, notice=f"{verb} “{result.register.name}”: {people}{merged}."
    )


# --- Moderation: codes ----------------------------------------------------------------------

_CODE_FORM_FIELDS = (
    "count",
    "label",
    "call",
    "valid_days",
    "attended",
    "postcode_area",
    "member_of",
)


async def _codes_page(
    request: Request,
    viewer: Account,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    moment = now()
    async with request.app.state.db.session() as session:
        issuable = await codes.issuable_calls(session, viewer.id, now=moment)
        any_call = await codes.can_issue(session, viewer.id, None)
        batches = await codes.list_batches(session, viewer.id)
    return render(
        request,
        "verify/codes.html",
        {
            "calls": issuable,
            "any_call": any_call,
            "batches": batches,
            "errors": errors or {},
            "values": values or {"count": "50", "valid_days": "30"},
            "notice": notice_for(request),
            "now": moment,
            "max_batch": codes.MAX_BATCH,
        },
        status=status,
    )


async def codes_page(request: Request) -> Response:
    viewer = await _require_code_manager(request)
    return await _codes_page(request, viewer)


def _whole_number(raw: str, low: int, high: int) -> int | None:
    try:
        number = int(raw.strip())
    except ValueError:
        return None
    return number if low <= number <= high else None


async def issue_codes(request: Request) -> Response:
    form = await auth.read_form(request)
    viewer = await _require_code_manager(request)
    values = {name: form_text(form, name).strip() for name in _CODE_FORM_FIELDS}
    errors: dict[str, str] = {}
    count = _whole_number(values["count"], 1, codes.MAX_BATCH)
    if count is None:
        errors["count"] = f"Enter a number of codes from 1 to {codes.MAX_BATCH}."
    days = _whole_number(values["valid_days"], 1, MAX_CODE_DAYS)
    if days is None:
        errors["valid_days"] = f"Enter a number of days from 1 to {MAX_CODE_DAYS}."
    area = values["postcode_area"].upper()
    if area and not (area.isascii() and area.isalpha() and len(area) <= 2):
        errors["postcode_area"] = "Enter the letters at the start of a postcode, like EX or TR."
    for name, label in (("attended", "venue or event"), ("member_of", "organisation")):
        if len(values[name]) > 200:
            errors[name] = f"Shorten the {label} to 200 characters or fewer."
    call: Call | None = None
    if values["call"]:
        try:
            call = await _call_by_slug(request, values["call"])
        except NotFound:
            errors["call"] = "Choose a call from the list."
    if errors or count is None or days is None:
        return await _codes_page(request, viewer, errors=errors, values=values, status=422)
    moment = now()
    claims = {
        "attended": values["attended"],
        "postcode_area": area,
        "member_of": values["member_of"],
    }
    try:
        async with request.app.state.db.session() as session, session.begin():
            issuer = await locked_account(session, viewer)
            batch = await codes.issue_codes(
                session,
                request_keys(request),
                issuer,
                count=count,
                label=values["label"],
                claims=claims,
                expires_at=moment + dt.timedelta(days=days),
                now=moment,
                call=call,
            )
    except ValidationFailed as exc:
        errors = error_for(exc, "label")
        if "expires_at" in errors:
            errors["valid_days"] = errors.pop("expires_at")
        if "claims" in errors:
            errors["attended"] = errors.pop("claims")
        return await _codes_page(request, viewer, errors=errors, values=values, status=422)
    return render(
        request,
        "verify/codes_issued.html",
        {"batch": batch, "claims": claim_lines(batch.claims)},
        # Shown once: keep the codes out of caches and the back/forward cache.
        headers={"Cache-Control": "no-store"},
    )


async def _call_by_slug(request: Request, slug: str) -> Call:
    async with request.app.state.db.session() as session:
        return await calls.get_call(session, slug)


async def revoke_codes(request: Request) -> Response:
    form = await auth.read_form(request)
    viewer = await _require_code_manager(request)
    batch, raw = form_text(form, "batch").strip(), form_text(form, "code").strip()[:40]
    try:
        async with request.app.state.db.session() as session, session.begin():
            actor = await locked_account(session, viewer)
            if batch:
                await codes.revoke_batch(session, actor, batch, now=now())
            else:
                await codes.revoke_code(session, request_keys(request), actor, raw, now=now())
    except (ValidationFailed, Conflict, NotFound) as exc:
        return await _codes_page(
            request,
            viewer,
            errors=error_for(exc, "code"),
            values={"count": "50", "valid_days": "30", "code": raw},
            status=exc.status_code,
        )
    done = "batch_revoked" if batch else "code_revoked"
    return RedirectResponse(f"/moderation/codes?done={done}", status_code=303)


# --- Moderation: conflicts ------------------------------------------------------------------


async def _conflicts_page(
    request: Request, *, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    async with request.app.state.db.session() as session:
        rows = list(
            await session.scalars(
                select(VerificationConflict)
                .where(VerificationConflict.resolved_at.is_(None))
                .order_by(VerificationConflict.created_at, VerificationConflict.id)
                .limit(200)
            )
        )
    return render(
        request,
        "verify/conflicts.html",
        {
            "conflicts": [(c, METHOD_NAMES.get(c.method, c.method)) for c in rows],
            "errors": errors or {},
            "notice": notice_for(request),
        },
        status=status,
    )


async def conflicts_page(request: Request) -> Response:
    await _require_role(request, Role.MODERATOR)
    return await _conflicts_page(request)


async def resolve(request: Request) -> Response:
    form = await auth.read_form(request)
    moderator = await _require_role(request, Role.MODERATOR)
    action = form_text(form, "action")
    conflict_id = _whole_number(form_text(form, "conflict_id"), 1, 2**31 - 1)
    if conflict_id is None or action not in {"transfer", "dismiss"}:
        return await _conflicts_page(
            request, errors={"conflicts": "Choose a conflict and what to do."}, status=422
        )
    try:
        async with request.app.state.db.session() as session, session.begin():
            await resolve_conflict(
                session, conflict_id, moderator=moderator.id, transfer=action == "transfer"
            )
    except (Conflict, NotFound) as exc:
        return await _conflicts_page(
            request, errors={"conflicts": exc.message}, status=exc.status_code
        )
    done = "transferred" if action == "transfer" else "dismissed"
    return RedirectResponse(f"/moderation/conflicts?done={done}", status_code=303)


routes: list[BaseRoute] = [
    Route("/admin/registers", registers_page, methods=["GET"]),
    Route("/admin/registers", upload_register, methods=["POST"]),
    Route("/moderation/codes", codes_page, methods=["GET"]),
    Route("/moderation/codes", issue_codes, methods=["POST"]),
    Route("/moderation/codes/revoke", revoke_codes, methods=["POST"]),
    Route("/moderation/conflicts", conflicts_page, methods=["GET"]),
    Route("/moderation/conflicts", resolve, methods=["POST"]),
]
