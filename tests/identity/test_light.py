"""Micro-participation: light accounts made by a code or the register, their scope, and a full
account keeping what one did."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEntry
from server.errors import Conflict, Forbidden
from server.identity import codes, light, registers, service
from server.identity.models import Account, AccountKind, Role, Session, Verification
from server.identity.verification import IdentityInUse
from server.personas import service as personas
from server.personas.models import Persona, PersonaKind
from tests.factories import make_account, make_call
from tests.identity.factories_verify import ALICE, KEYS, details, now, today, upload

DAY = dt.timedelta(days=1)


async def _codes(session: AsyncSession, count: int = 2, call: object = None) -> list[str]:
    moderator = await make_account(session, role=Role.MODERATOR)
    batch = await codes.issue_codes(
        session,
        KEYS,
        moderator,
        count=count,
        label=f"venue {codes.new_code()}",
        claims={"attended": "Beehive Centre"},
        expires_at=now() + 7 * DAY,
        now=now(),
        call=call,  # type: ignore[arg-type]
    )
    return batch.codes


async def _persona(session: AsyncSession, account: Account, name: str) -> Persona:
    return await personas.create_persona(
        session,
        account,
        personas.PersonaInput(kind=PersonaKind.PSEUDONYM, display_name=name),
        now=now(),
    )


async def test_a_code_makes_a_light_account_with_a_session(session: AsyncSession) -> None:
    call = await make_call(session)
    [code, _] = await _codes(session, call=call)
    joined = await light.join_with_code(session, KEYS, call, code.lower(), now=now())
    account = joined.account
    assert account.kind == AccountKind.LIGHT
    assert account.email is None and account.password_hash is None
    assert account.light_call_id == call.id and account.person_id is not None
    found = await service.account_for_session(session, joined.session_token, now=now())
    assert found is not None and found.id == account.id
    verification = await session.scalar(
        select(Verification).where(Verification.person_id == account.person_id)
    )
    assert verification is not None and verification.claims == {"attended": "Beehive Centre"}
    assert await light.light_account_for_token(session, joined.session_token, now=now()) is not None


async def test_the_register_makes_a_light_account_too(session: AsyncSession) -> None:
    call = await make_call(session)
    await upload(session, [ALICE])
    joined = await light.join_with_register(
        session, KEYS, call, details(ALICE), today=today(), now=now()
    )
    assert joined.account.kind == AccountKind.LIGHT and joined.account.person_id is not None
    # The same resident again, on another phone: refused, and no second account is made.
    accounts = await session.scalar(select(func.count()).select_from(Account))
    with pytest.raises(IdentityInUse):
        await light.join_with_register(
            session, KEYS, call, details(ALICE), today=today(), now=now()
        )
    assert await session.scalar(select(func.count()).select_from(Account)) == accounts
    with pytest.raises(registers.NoMatch):
        await light.join_with_register(
            session, KEYS, call, details(ALICE, name="Someone Else"), today=today(), now=now()
        )
    assert await session.scalar(select(func.count()).select_from(Account)) == accounts


async def test_light_scope_is_the_call_it_was_made_for(session: AsyncSession) -> None:
    call, other = await make_call(session), await make_call(session)
    [code, _] = await _codes(session)
    joined = await light.join_with_code(session, KEYS, call, code, now=now())
    assert await light.light_scope_allows(joined.account, call.id)
    assert not await light.light_scope_allows(joined.account, other.id)
    full = await make_account(session)
    assert await light.light_scope_allows(full, other.id)
    joined.account.deleted_at = now()
    assert not await light.light_scope_allows(joined.account, call.id)


async def test_a_bad_code_or_a_closed_call_makes_nothing(session: AsyncSession) -> None:
    call = await make_call(session)
    closed = await make_call(session, opens=-10 * DAY, closes=-DAY)
    other_call = await make_call(session)
    [code] = await _codes(session, count=1, call=other_call)
    before = await session.scalar(select(func.count()).select_from(Account))
    with pytest.raises(codes.CodeNotRecognised):
        await light.join_with_code(session, KEYS, call, "ABCD-EFGH-JK", now=now())
    with pytest.raises(codes.CodeForAnotherCall):
        await light.join_with_code(session, KEYS, call, code, now=now())
    with pytest.raises(light.CallClosed):
        await light.join_with_code(session, KEYS, closed, code, now=now())
    assert await session.scalar(select(func.count()).select_from(Account)) == before


async def test_a_full_account_keeps_what_a_light_one_did(session: AsyncSession) -> None:
    call = await make_call(session)
    [code, _] = await _codes(session, call=call)
    joined = await light.join_with_code(session, KEYS, call, code, now=now())
    venue = joined.account
    p1 = await _persona(session, venue, "Beehive Bee")
    p2 = await _persona(session, venue, "Second Voice")
    person = venue.person_id
    full = await make_account(session)
    await service.start_session(session, full, now=now())

    result = await light.claim_light_account(session, full, venue, now=now())
    assert (result.personas_moved, result.person_moved) == (2, True)
    for persona in (p1, p2):
        await session.refresh(persona)
        assert persona.account_id == full.id
    assert full.person_id == person
    assert venue.person_id is None and venue.deleted_at is not None
    live = await session.scalar(
        select(func.count())
        .select_from(Session)
        .where(Session.account_id == venue.id, Session.revoked_at.is_(None))
    )
    assert live == 0
    assert await service.account_for_session(session, joined.session_token, now=now()) is None
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "account.light_claimed")
    )
    assert entry is not None and entry.actor_account_id == full.id
    assert entry.subject_id == venue.id and entry.details["personas_moved"] == 2
    # Only once.
    with pytest.raises(Conflict):
        await light.claim_light_account(session, full, venue, now=now())


async def test_claiming_keeps_the_full_accounts_own_person(session: AsyncSession) -> None:
    """A verified full account, and a light account that was never verified (made directly)."""
    call = await make_call(session)
    [code] = await _codes(session, count=1)
    full = await make_account(session)
    await codes.redeem_code(session, KEYS, full, code, now=now())
    own_person = full.person_id
    venue = await light.create_light_account(session, call, now=now())
    await _persona(session, venue, "Quiet One")
    result = await light.claim_light_account(session, full, venue, now=now())
    assert (result.personas_moved, result.person_moved) == (1, False)
    assert full.person_id == own_person


async def test_two_different_verified_people_cannot_be_combined(session: AsyncSession) -> None:
    call = await make_call(session)
    [first, second] = await _codes(session, call=call)
    joined = await light.join_with_code(session, KEYS, call, first, now=now())
    await _persona(session, joined.account, "Venue Voice")
    full = await make_account(session)
    await codes.redeem_code(session, KEYS, full, second, now=now())
    with pytest.raises(light.CannotCombine, match="two different people"):
        await light.claim_light_account(session, full, joined.account, now=now())


async def test_only_a_full_account_can_claim(session: AsyncSession) -> None:
    call = await make_call(session)
    [first, second] = await _codes(session, call=call)
    one = await light.join_with_code(session, KEYS, call, first, now=now())
    two = await light.join_with_code(session, KEYS, call, second, now=now())
    with pytest.raises(Forbidden):
        await light.claim_light_account(session, two.account, one.account, now=now())
