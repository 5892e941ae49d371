"""One-time codes: printed on a letter or handed out at a venue, each verifies one person once.

A code is ten characters from an alphabet without look-alikes (no 0/O, 1/I/L, U/V), shown as
``ABCD-EFGH-JK``. Codes are shown once, when issued; we keep only a keyed hash, so a lost list
cannot be recovered from the database, only revoked (a batch at a time, or one code typed in).
Redeeming locks the code's row, so two people racing with one code cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.calls.models import Call
from server.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.identity import service
from server.identity.keys import Keys
from server.identity.models import (
    Account,
    Role,
    Verification,
    VerificationCode,
    VerificationConflict,
)
from server.identity.verification import VerifiedIdentity, attach

METHOD = "code"
ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
LENGTH = 10
MAX_BATCH = 500
MAX_LABEL = 80
_CLAIM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_.]+")


# --- The codes themselves ------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def format_code(code: str) -> str:
    """``ABCDEFGHJK`` as ``ABCD-EFGH-JK``: easier to read aloud and to type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(raw: str) -> str | None:
    """What someone typed, without case, spaces or dashes; None if it cannot be a code."""
    code = _SEPARATORS.sub("", raw).upper()
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def code_hash(keys: Keys, code: str) -> str:
    return keys.identity_key("code", code)


def code_identity_key(keys: Keys, code_id: int) -> str:
    return keys.identity_key("code-identity", str(code_id))


# --- Refusals: each says what went wrong and what to do --------------------------------------


class _CodeInvalid(ValidationFailed):
    """Bad input, shown next to the code field."""

    def __init__(self, message: str | None = None, *, field: str = "code") -> None:
        super().__init__(message or self.default_message, field=field)


class CodeMalformed(_CodeInvalid):
    default_message = (
        "A code has 10 letters and numbers, like ABCD-EFGH-JK. Check you copied all of it."
    )


class CodeNotRecognised(_CodeInvalid):
    default_message = (
        "We do not recognise that code. Check you typed it exactly as printed; letters O, I, L "
        "and U are never used."
    )


class CodeAlreadyUsed(Conflict):
    code = "CODE_USED"
    default_message = "That code has already been used. Each code works only once."


class CodeExpired(Conflict):
    code = "CODE_EXPIRED"
    default_message = "That code has expired. Ask the organisers for a new one."


class CodeRevoked(Conflict):
    code = "CODE_REVOKED"
    default_message = (
        "That code has been withdrawn by the organisers, so it no longer works. Ask them for "
        "a new one."
    )


class CodeForAnotherCall(Conflict):
    code = "CODE_OTHER_CALL"
    default_message = "That code is for a different call, so it cannot be used here."


# --- Who may issue ------------------------------------------------------------------------


async def can_issue(session: AsyncSession, account_id: int, call: Call | None) -> bool:
    """Moderators (platform-wide, or for the call's region), admins, and organisers of the
    call. Codes for no call in particular need a platform-wide moderator or an admin."""
    if call is None:
        return await service.has_role(session, account_id, Role.MODERATOR)
    if await service.has_role(session, account_id, Role.MODERATOR, region_id=call.region_id):
        return True
    return await service.has_role(
        session, account_id, Role.ORGANISER, organiser_id=call.organiser_id
    )


async def can_manage_codes(session: AsyncSession, account_id: int) -> bool:
    """May open the codes page at all (what they may do there is checked per call)."""
    roles = {grant.role for grant in await service.roles_of(session, account_id)}
    return bool(roles & {Role.MODERATOR, Role.ORGANISER, Role.ADMIN})


async def issuable_calls(session: AsyncSession, account_id: int, *, now: dt.datetime) -> list[Call]:
    """Calls not yet closed that ``account_id`` may issue codes for."""
    calls = await session.scalars(
        select(Call).where(Call.closes_at > now).order_by(Call.opens_at, Call.id)
    )
    return [call for call in calls if await can_issue(session, account_id, call)]


# --- Issuing and revoking -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedBatch:
    label: str
    call: Call | None
    codes: list[str]  # formatted, shown once and never again
    expires_at: dt.datetime
    claims: dict[str, Any]


def check_claims(claims: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, value in claims.items():
        if not _CLAIM_NAME.match(name):
            raise ValidationFailed(f"“{name}” is not a usable claim name.", field="claims")
        if isinstance(value, str):
            value = " ".join(value.split())
            if not value:
                continue
            if len(value) > 200:
                raise ValidationFailed(
                    f"The {name.replace('_', ' ')} is too long (200 characters at most).",
                    field="claims",
                )
        elif not isinstance(value, bool | int):
            raise ValidationFailed(f"The claim {name} must be text, a number or yes/no.")
        clean[name] = value
    return clean


async def issue_codes(
    session: AsyncSession,
    keys: Keys,
    issuer: Account,
    *,
    count: int,
    label: str,
    claims: dict[str, Any],
    expires_at: dt.datetime,
    now: dt.datetime,
    call: Call | None = None,
) -> IssuedBatch:
    """Make ``count`` codes under a new batch ``label``. The codes are in the result only."""
    if not await can_issue(session, issuer.id, call):
        raise Forbidden("You cannot issue codes for that call.")
    label = " ".join(label.split())
    errors: dict[str, str] = {}
    if not 1 <= count <= MAX_BATCH:
        errors["count"] = f"Enter a number of codes from 1 to {MAX_BATCH}."
    if not label or len(label) > MAX_LABEL:
        errors["label"] = f"Enter a label for this batch (up to {MAX_LABEL} characters)."
    elif await session.scalar(select(VerificationCode.id).where(VerificationCode.batch == label)):
        errors["label"] = "There is already a batch with this label. Choose another label."
    if expires_at <= now:
        errors["expires_at"] = "The codes must expire in the future."
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    clean = check_claims(claims)
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(new_code())
    await session.execute(
        insert(VerificationCode),
        [
            {
                "code_hash": code_hash(keys, code),
                "claims": clean,
                "call_id": call.id if call else None,
                "batch": label,
                "issued_by": issuer.id,
                "expires_at": expires_at,
            }
            for code in codes
        ],
    )
    await audit.record(
        session,
        actor=issuer.id,
        action="codes.issued",
        subject_type="call" if call else "platform",
        subject_id=call.id if call else None,
        batch=label,
        count=count,
        claims=sorted(clean),
        expires_at=expires_at.isoformat(),
    )
    return IssuedBatch(
        label=label,
        call=call,
        codes=sorted(format_code(code) for code in codes),
        expires_at=expires_at,
        claims=clean,
    )


async def _call_of(session: AsyncSession, call_id: int | None) -> Call | None:
    return await session.get(Call, call_id) if call_id is not None else None


async def revoke_code(
    session: AsyncSession, keys: Keys, actor: Account, raw: str, *, now: dt.datetime
) -> VerificationCode:
    """Withdraw one unused code (typed in: we cannot list codes, only their hashes)."""
    code = normalise_code(raw)
    if code is None:
        raise CodeMalformed(field="code")
    row = await session.scalar(
        select(VerificationCode)
        .where(VerificationCode.code_hash == code_hash(keys, code))
        .with_for_update()
    )
    if row is None:
        raise CodeNotRecognised(field="code")
    if not await can_issue(session, actor.id, await _call_of(session, row.call_id)):
        raise Forbidden("You cannot withdraw codes for that call.")
    if row.used_at is not None:
        raise CodeAlreadyUsed(
            "That code has already been used, so withdrawing it would change nothing.",
            field="code",
        )
    if row.revoked_at is not None:
        raise CodeRevoked("That code has already been withdrawn.", field="code")
    row.revoked_at = now
    await session.flush()
    await audit.record(
        session,
        actor=actor.id,
        action="code.revoked",
        subject_type="verification_code",
        subject_id=row.id,
        batch=row.batch,
    )
    return row


async def revoke_batch(
    session: AsyncSession, actor: Account, label: str, *, now: dt.datetime
) -> int:
    """Withdraw every unused code of a batch; returns how many were withdrawn."""
    call_ids = set(
        await session.scalars(
            select(VerificationCode.call_id).where(VerificationCode.batch == label).distinct()
        )
    )
    if not call_ids:
        raise NotFound("There is no batch with that label.")
    for call_id in call_ids:
        if not await can_issue(session, actor.id, await _call_of(session, call_id)):
            raise Forbidden("You cannot withdraw codes for that call.")
    result = await session.execute(
        update(VerificationCode)
        .where(
            VerificationCode.batch == label,
            VerificationCode.used_at.is_(None),
            VerificationCode.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    revoked: int = result.rowcount or 0  # type: ignore[attr-defined]
    await audit.record(
        session,
        actor=actor.id,
        action="codes.batch_revoked",
        subject_type="call",
        subject_id=next(iter(call_ids)),
        batch=label,
        count=revoked,
    )
    return revoked


@dataclass(frozen=True, slots=True)
class BatchSummary:
    label: str
    call_id: int | None
    call_title: str | None
    issued: int
    used: int
    revoked: int
    expires_at: dt.datetime
    created_at: dt.datetime


async def list_batches(
    session: AsyncSession, account_id: int, *, limit: int = 100
) -> list[BatchSummary]:
    """The batches ``account_id`` may manage, newest first, with how many codes were used."""
    rows = await session.execute(
        select(
            VerificationCode.batch,
            VerificationCode.call_id,
            Call.title,
            func.count(),
            func.count(VerificationCode.used_at),
            func.count(VerificationCode.revoked_at),
            func.max(VerificationCode.expires_at),
            func.min(VerificationCode.created_at),
        )
        .outerjoin(Call, Call.id == VerificationCode.call_id)
        .group_by(VerificationCode.batch, VerificationCode.call_id, Call.title)
        .order_by(func.min(VerificationCode.created_at).desc())
        .limit(limit)
    )
    summaries = [BatchSummary(*row) for row in rows]
    may: dict[int | None, bool] = {}
    for summary in summaries:
        if summary.call_id not in may:
            call = await _call_of(session, summary.call_id)
            may[summary.call_id] = await can_issue(session, account_id, call)
    return [summary for summary in summaries if may[summary.call_id]]


# --- Redeeming ----------------------------------------------------------------------------


async def redeem_code(
    session: AsyncSession,
    keys: Keys,
    account: Account,
    raw: str,
    *,
    now: dt.datetime,
    call_id: int | None = None,
    lifetime: dt.timedelta | None = None,
) -> Verification | VerificationConflict:
    """Use a code to verify ``account``. With ``call_id`` (joining a call), a code made for
    another call is refused. Wrong, used, expired and withdrawn codes raise distinct errors and
    write nothing.

    The row is locked (``FOR UPDATE``): a concurrent redemption of the same code waits for this
    transaction, then sees the code used."""
    code = normalise_code(raw)
    if code is None:
        raise CodeMalformed(field="code")
    row = await session.scalar(
        select(VerificationCode)
        .where(VerificationCode.code_hash == code_hash(keys, code))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise CodeNotRecognised(field="code")
    if row.revoked_at is not None:
        raise CodeRevoked(field="code")
    if row.used_at is not None:
        raise CodeAlreadyUsed(field="code")
    if row.expires_at <= now:
        raise CodeExpired(field="code")
    if call_id is not None and row.call_id not in (None, call_id):
        raise CodeForAnotherCall(field="code")
    row.used_at = now
    await session.flush()
    await audit.record(
        session,
        actor=account.id,
        action="code.redeemed",
        subject_type="verification_code",
        subject_id=row.id,
        batch=row.batch,
        call_id=row.call_id,
    )
    identity = VerifiedIdentity(
        method=METHOD,
        identity_key=code_identity_key(keys, row.id),
        claims=dict(row.claims),
        expires_at=now + lifetime if lifetime is not None else None,
    )
    return await attach(session, account, identity, actor=account.id)
