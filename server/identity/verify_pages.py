"""Pages for verifying identities (register match, one-time codes), micro-participation and
moderators' verification tools.

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

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server.calls import service as calls
from server.calls.models import Call
from server.errors import (
    Conflict,
    Forbidden,
    MootError,
    NotAuthenticated,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from server.identity import auth, codes, light, registers, service, throttle
from server.identity.keys import Keys
from server.identity.models import (
    Account,
    AccountKind,
    Role,
    Verification,
    VerificationConflict,
)
from server.identity.verification import IdentityInUse, live_verifications, resolve_conflict
from server.web import LONDON, now, render

LIGHT_COOKIE = "moot_light"
WINDOW = dt.timedelta(minutes=15)
MAX_CODE_DAYS = 365

METHOD_NAMES = {
    "register": "Council register",
    "code": "One-time code",
    "oidc": "Sign-in provider",
}
CLAIM_NAMES = {
    "postcode_area": "Postcode area",
    "birth_year": "Year of birth",
    "over_16": "Aged 16 or over",
    "register": "Register",
    "attended": "Attended",
    "member_of": "Member of",
}
NOTICES = {
    "register": "You are verified: we found you on the register.",
    "code": "Your code worked: you are verified.",
    "claimed": "Done: what you did at the venue is now part of this account.",
    "batch_revoked": "The unused codes in that batch have been withdrawn.",
    "code_revoked": "That code has been withdrawn.",
    "transferred": "The verification has been moved to the new account.",
    "dismissed": "The conflict has been dismissed; nothing was moved.",
}


# --- Shared helpers -------------------------------------------------------------------------


def _keys(request: Request) -> Keys:
    keys: Keys = request.app.state.keys
    return keys


def _today() -> dt.date:
    return now().astimezone(LONDON).date()


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def claim_lines(claims: dict[str, Any]) -> list[str]:
    """What a verification shows, in words."""
    lines = []
    for name, value in claims.items():
        if isinstance(value, bool):
            value = "yes" if value else "no"
        lines.append(f"{CLAIM_NAMES.get(name, name.replace('_', ' ').capitalize())}: {value}")
    return lines


async def _throttle(
    request: Request,
    action: str,
    account_id: int | None,
    *,
    per_account: int,
    per_address: int,
) -> None:
    """Count the attempt in its own transaction, so failed attempts count too. The address is
    kept only as a keyed hash. Venues put many people behind one address: its limit is high."""
    address = request.client.host if request.client else "unknown"
    address_key = _keys(request).sign("throttle-address", address)
    moment = now()
    async with request.app.state.db.session() as session, session.begin():
        if account_id is not None:
            await throttle.hit(
                session, f"{action}:u:{account_id}", limit=per_account, window=WINDOW, now=moment
            )
        await throttle.hit(
            session, f"{action}:a:{address_key}", limit=per_address, window=WINDOW, now=moment
        )


async def _locked(session: AsyncSession, account: Account) -> Account:
    """The signed-in account, in this transaction and locked against concurrent changes."""
    fresh = await session.get(Account, account.id, with_for_update=True, populate_existing=True)
    if fresh is None or fresh.deleted_at is not None:
        raise NotAuthenticated
    return fresh


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


def _error_for(exc: MootError, default_field: str) -> dict[str, str]:
    if isinstance(exc, ValidationFailed) and exc.errors:
        return dict(exc.errors)
    return {exc.field or default_field: exc.message}


# --- Reading the register form --------------------------------------------------------------

_REGISTER_FIELDS = ("name", "postcode", "reference", "dob_day", "dob_month", "dob_year")


def _register_values(form: FormData) -> dict[str, str]:
    return {name: _text(form, name).strip()[:200] for name in _REGISTER_FIELDS}


def _match_details(values: dict[str, str]) -> registers.MatchDetails:
    return registers.MatchDetails(
        date_of_birth=registers.parse_date_parts(
            values["dob_day"], values["dob_month"], values["dob_year"]
        ),
        name=values["name"],
        postcode=values["postcode"],
        reference=values["reference"],
    )


def _conflict_errors(field: str) -> dict[str, str]:
    return {field: IdentityInUse.default_message}


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
            "notice": _notice(request),
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
    values = _register_values(form)

    def again(errors: dict[str, str], status: int, **extra: str) -> Response:
        return render(
            request,
            "verify/register.html",
            {"errors": errors, "values": values, "have_registers": True},
            status=status,
            headers=extra or None,
        )

    try:
        await _throttle(request, "register-match", viewer.id, per_account=10, per_address=100)
        async with request.app.state.db.session() as session, session.begin():
            account = await _locked(session, viewer)
            result = await registers.match_register(
                session, _keys(request), account, _match_details(values), today=_today()
            )
    except RateLimited as exc:
        return again({"name": exc.message}, 429, **{"Retry-After": str(exc.retry_after)})
    except ValidationFailed as exc:
        return again(_error_for(exc, "name"), exc.status_code)
    if isinstance(result, VerificationConflict):
        # The conflict is committed for moderators; the person sees why nothing happened.
        return again(_conflict_errors("name"), IdentityInUse.status_code)
    return RedirectResponse("/account/verify?done=register", status_code=303)


# --- One-time codes -------------------------------------------------------------------------


async def code_page(request: Request) -> Response:
    await auth.require_account(request)
    return render(request, "verify/code.html", {"errors": {}, "code": ""})


async def code_redeem(request: Request) -> Response:
    form = await auth.read_form(request)
    viewer = await auth.require_account(request)
    raw = _text(form, "code").strip()[:40]
    try:
        await _throttle(request, "code-redeem", viewer.id, per_account=10, per_address=300)
        async with request.app.state.db.session() as session, session.begin():
            account = await _locked(session, viewer)
            result = await codes.redeem_code(session, _keys(request), account, raw, now=now())
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
            {"errors": _error_for(exc, "code"), "code": raw},
            status=exc.status_code,
        )
    if isinstance(result, VerificationConflict):
        return render(
            request,
            "verify/code.html",
            {"errors": _conflict_errors("code"), "code": raw},
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
        await _throttle(
            request,
            action,
            viewer.id if viewer and self_join else None,
            per_account=10,
            per_address=per_address,
        )
        async with request.app.state.db.session() as session, session.begin():
            light.check_joinable(call, now=now())
            if viewer is not None and self_join:
                result = await as_self(session, await _locked(session, viewer))
                if isinstance(result, VerificationConflict):
                    context["errors"] = _conflict_errors(error_field)
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
        context["errors"] = _error_for(exc, error_field)
        return render(request, "verify/join.html", context, status=exc.status_code)
    if context["errors"]:
        return render(request, "verify/join.html", context, status=IdentityInUse.status_code)
    return _joined(request, call, joined)


async def join_code(request: Request) -> Response:
    form = await auth.read_form(request)
    call = await _call(request)
    raw = _text(form, "code").strip()[:40]
    context = {**await _join_context(request, call), "code": raw}
    keys, moment = _keys(request), now()

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
    values = _register_values(form)
    details = _match_details(values)
    context = {**await _join_context(request, call), "values": values}
    keys, moment, today = _keys(request), now(), _today()

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
            full = await _locked(session, viewer)
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
        values = {"slug": _text(form, "slug").strip(), "name": _text(form, "name").strip()}
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
                    _keys(request),
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
                request, errors=_error_for(exc, "file"), values=values, status=422
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
            "notice": _notice(request),
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
    values = {name: _text(form, name).strip() for name in _CODE_FORM_FIELDS}
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
            issuer = await _locked(session, viewer)
            batch = await codes.issue_codes(
                session,
                _keys(request),
                issuer,
                count=count,
                label=values["label"],
                claims=claims,
                expires_at=moment + dt.timedelta(days=days),
                now=moment,
                call=call,
            )
    except ValidationFailed as exc:
        errors = _error_for(exc, "label")
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
    batch, raw = _text(form, "batch").strip(), _text(form, "code").strip()[:40]
    try:
        async with request.app.state.db.session() as session, session.begin():
            actor = await _locked(session, viewer)
            if batch:
                await codes.revoke_batch(session, actor, batch, now=now())
            else:
                await codes.revoke_code(session, _keys(request), actor, raw, now=now())
    except (ValidationFailed, Conflict, NotFound) as exc:
        return await _codes_page(
            request,
            viewer,
            errors=_error_for(exc, "code"),
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
            "notice": _notice(request),
        },
        status=status,
    )


async def conflicts_page(request: Request) -> Response:
    await _require_role(request, Role.MODERATOR)
    return await _conflicts_page(request)


async def resolve(request: Request) -> Response:
    form = await auth.read_form(request)
    moderator = await _require_role(request, Role.MODERATOR)
    action = _text(form, "action")
    conflict_id = _whole_number(_text(form, "conflict_id"), 1, 2**31 - 1)
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
    Route("/admin/registers", registers_page, methods=["GET"]),
    Route("/admin/registers", upload_register, methods=["POST"]),
    Route("/moderation/codes", codes_page, methods=["GET"]),
    Route("/moderation/codes", issue_codes, methods=["POST"]),
    Route("/moderation/codes/revoke", revoke_codes, methods=["POST"]),
    Route("/moderation/conflicts", conflicts_page, methods=["GET"]),
    Route("/moderation/conflicts", resolve, methods=["POST"]),
]
