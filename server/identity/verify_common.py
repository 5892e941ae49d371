"""Helpers of the verification pages (``verify_pages`` for residents, ``staff_verify_pages`` for
staff): the names of methods and claims, the notices shown after a redirect, reading forms (the
register-match form too), counting attempts against the limits, and locking the signed-in
account."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request

from server.errors import MootError, NotAuthenticated, ValidationFailed
from server.identity import registers, throttle
from server.identity.keys import Keys
from server.identity.models import Account
from server.identity.verification import IdentityInUse
from server.web import LONDON, now

WINDOW = dt.timedelta(minutes=15)

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


def request_keys(request: Request) -> Keys:
    keys: Keys = request.app.state.keys
    return keys


def london_today() -> dt.date:
    return now().astimezone(LONDON).date()


def notice_for(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


def form_text(form: FormData, name: str) -> str:
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


async def count_attempt(
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
    address_key = request_keys(request).sign("throttle-address", address)
    moment = now()
    async with request.app.state.db.session() as session, session.begin():
        if account_id is not None:
            await throttle.hit(
                session, f"{action}:u:{account_id}", limit=per_account, window=WINDOW, now=moment
            )
        await throttle.hit(
            session, f"{action}:a:{address_key}", limit=per_address, window=WINDOW, now=moment
        )


async def locked_account(session: AsyncSession, account: Account) -> Account:
    """The signed-in account, in this transaction and locked against concurrent changes."""
    fresh = await session.get(Account, account.id, with_for_update=True, populate_existing=True)
    if fresh is None or fresh.deleted_at is not None:
        raise NotAuthenticated
    return fresh


def error_for(exc: MootError, default_field: str) -> dict[str, str]:
    if isinstance(exc, ValidationFailed) and exc.errors:
        return dict(exc.errors)
    return {exc.field or default_field: exc.message}


# --- Reading the register form --------------------------------------------------------------

REGISTER_FIELDS = ("name", "postcode", "reference", "dob_day", "dob_month", "dob_year")


def register_values(form: FormData) -> dict[str, str]:
    return {name: form_text(form, name).strip()[:200] for name in REGISTER_FIELDS}


def match_details(values: dict[str, str]) -> registers.MatchDetails:
    return registers.MatchDetails(
        date_of_birth=registers.parse_date_parts(
            values["dob_day"], values["dob_month"], values["dob_year"]
        ),
        name=values["name"],
        postcode=values["postcode"],
        reference=values["reference"],
    )


def conflict_errors(field: str) -> dict[str, str]:
    return {field: IdentityInUse.default_message}
