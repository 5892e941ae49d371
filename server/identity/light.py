"""Micro-participation: take part in one call with a verification alone, no email needed.

At a venue someone types a one-time code (or matches the register) on their phone and gets a
*light* account: no email or password, scoped to that call (``light_call_id``), signed in by an
ordinary session cookie. Other domains ask :func:`light_scope_allows` before letting it support,
vote or comment.

Later, a full account can *claim* the light account and keep what it did: its personas (and so
its ideas and comments) move over, and so does its verified person (and so its votes) when the
full account has none yet. The light account is then deleted and signed out everywhere.

How a full account proves it holds the light account: the browser that joined keeps the light
session's token in a second cookie (see ``verify_pages``). Signing in to a full account on that
browser replaces the session cookie but not that one, and the claim works only while that light
session is still live, so signing the light account out also gives up the claim.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.calls.models import Call
from server.errors import Conflict, Forbidden
from server.identity import codes, registers, service
from server.identity.keys import Keys
from server.identity.models import (
    Account,
    AccountKind,
    Verification,
    VerificationConflict,
)
from server.identity.verification import IdentityInUse, attach
from server.personas.models import Persona

log = logging.getLogger(__name__)


class CallClosed(Conflict):
    code = "CALL_CLOSED"
    default_message = "This call has closed, so you can no longer join it."


class CannotCombine(Conflict):
    code = "CANNOT_COMBINE"
    default_message = (
        "Your account and the one you used at the venue are verified as two different people, "
        "so they cannot be combined. If both are you, ask a moderator for help."
    )


@dataclass(frozen=True, slots=True)
class LightJoin:
    account: Account
    session_token: str  # the cookie value; only its hash is stored


@dataclass(frozen=True, slots=True)
class ClaimResult:
    light_account_id: int
    personas_moved: int
    person_moved: bool


async def light_scope_allows(account: Account, call_id: int) -> bool:
    """May ``account`` support, vote or comment in ``call_id``? Full accounts may anywhere;
    a light account only in the call it was made for."""
    if account.deleted_at is not None:
        return False
    if account.kind == AccountKind.FULL:
        return True
    return account.light_call_id is not None and account.light_call_id == call_id


def check_joinable(call: Call, *, now: dt.datetime) -> None:
    if call.closes_at <= now:
        raise CallClosed


async def create_light_account(session: AsyncSession, call: Call, *, now: dt.datetime) -> Account:
    check_joinable(call, now=now)
    account = Account(kind=AccountKind.LIGHT, light_call_id=call.id)
    session.add(account)
    await session.flush()
    await audit.record(
        session,
        actor=account.id,
        action="account.created",
        subject_type="account",
        subject_id=account.id,
        kind=AccountKind.LIGHT.value,
        call_id=call.id,
    )
    return account


async def _finish(
    session: AsyncSession,
    account: Account,
    result: Verification | VerificationConflict,
    *,
    now: dt.datetime,
) -> LightJoin:
    if isinstance(result, VerificationConflict):
        # No account of theirs to keep the conflict for: raising rolls the new account back.
        log.warning("a light join presented an identity that verifies another account")
        raise IdentityInUse(
            "These details already verify another Moot account. Sign in to that account to "
            "take part; if you cannot, create an account and verify it, and a moderator can "
            "move the verification to it."
        )
    token = await service.start_session(session, account, now=now)
    return LightJoin(account=account, session_token=token)


async def join_with_code(
    session: AsyncSession, keys: Keys, call: Call, raw_code: str, *, now: dt.datetime
) -> LightJoin:
    """A new light account for ``call``, verified by a one-time code, and a session for it.
    A bad code raises (see :mod:`codes`) and writes nothing."""
    # A savepoint: when the code is refused, the new account goes too, whatever the caller does.
    async with session.begin_nested():
        account = await create_light_account(session, call, now=now)
        result = await codes.redeem_code(session, keys, account, raw_code, now=now, call_id=call.id)
        return await _finish(session, account, result, now=now)


async def join_with_register(
    session: AsyncSession,
    keys: Keys,
    call: Call,
    details: registers.MatchDetails,
    *,
    today: dt.date,
    now: dt.datetime,
) -> LightJoin:
    """A new light account for ``call``, verified from the register, and a session for it."""
    check_joinable(call, now=now)
    # Check the details before making anything, so a typo costs no account.
    identity = await registers.find_identity(session, keys, details, today=today)
    async with session.begin_nested():
        account = await create_light_account(session, call, now=now)
        result = await attach(session, account, identity, actor=account.id)
        return await _finish(session, account, result, now=now)


async def light_account_for_token(
    session: AsyncSession, token: str, *, now: dt.datetime
) -> Account | None:
    """The live light account whose live session ``token`` is, if any."""
    account = await service.account_for_session(session, token, now=now)
    if account is None or account.kind != AccountKind.LIGHT:
        return None
    return account


@dataclass(frozen=True, slots=True)
class LightSummary:
    account: Account
    call: Call | None
    personas: int


async def describe(session: AsyncSession, light: Account) -> LightSummary:
    call = await session.get(Call, light.light_call_id) if light.light_call_id else None
    personas = await session.scalar(
        select(func.count()).select_from(Persona).where(Persona.account_id == light.id)
    )
    return LightSummary(account=light, call=call, personas=personas or 0)


async def claim_light_account(
    session: AsyncSession, full: Account, light: Account, *, now: dt.datetime
) -> ClaimResult:
    """``full`` takes over what ``light`` did: its personas, and its verified person when
    ``full`` has none. Refuses when both are verified as different people. ``light`` is then
    deleted and its sessions ended. The caller has established that ``full`` holds ``light``."""
    first, second = sorted((full.id, light.id))
    # Lock both, always in the same order, so two claims cannot interleave.
    locked = {
        a.id: a
        for a in [
            await session.get(Account, first, with_for_update=True, populate_existing=True),
            await session.get(Account, second, with_for_update=True, populate_existing=True),
        ]
        if a is not None
    }
    full_row, light_row = locked.get(full.id), locked.get(light.id)
    if full_row is None or full_row.deleted_at is not None or full_row.kind != AccountKind.FULL:
        raise Forbidden("Only a full account can keep what a venue account did.")
    if light_row is None or light_row.deleted_at is not None or light_row.kind != AccountKind.LIGHT:
        raise Conflict("That venue account has already been combined or deleted.")
    if (
        light_row.person_id is not None
        and full_row.person_id is not None
        and light_row.person_id != full_row.person_id
    ):
        raise CannotCombine
    moved = await session.execute(
        update(Persona).where(Persona.account_id == light_row.id).values(account_id=full_row.id)
    )
    personas_moved: int = moved.rowcount or 0  # type: ignore[attr-defined]
    person_moved = False
    if light_row.person_id is not None and full_row.person_id is None:
        person_id = light_row.person_id
        # accounts.person_id is unique: free it before giving it to the full account.
        light_row.person_id = None
        await session.flush()
        full_row.person_id = person_id
        person_moved = True
    light_row.deleted_at = now
    light_row.light_call_id = None
    await session.flush()
    await service.revoke_sessions(session, light_row.id, now=now)
    await audit.record(
        session,
        actor=full_row.id,
        action="account.light_claimed",
        subject_type="account",
        subject_id=light_row.id,
        into_account=full_row.id,
        personas_moved=personas_moved,
        person_moved=person_moved,
    )
    return ClaimResult(
        light_account_id=light_row.id, personas_moved=personas_moved, person_moved=person_moved
    )
