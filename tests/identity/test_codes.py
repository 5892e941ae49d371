"""One-time codes: issuing, who may, single use under concurrency, refusals and revoking."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEntry
from server.db import Database, create_engine
from server.errors import Forbidden, MootError, NotFound, ValidationFailed
from server.identity import codes, service
from server.identity.models import Account, Person, Role, Verification, VerificationCode
from tests.factories import make_account, make_call, make_organiser, make_region
from tests.identity.factories_verify import KEYS, now

DAY = dt.timedelta(days=1)


async def _issue(
    session: AsyncSession,
    issuer: Account,
    *,
    count: int = 3,
    label: str = "Honiton library, 12 March",
    claims: dict[str, object] | None = None,
    expires_at: dt.datetime | None = None,
    call: object = None,
) -> codes.IssuedBatch:
    return await codes.issue_codes(
        session,
        KEYS,
        issuer,
        count=count,
        label=label,
        claims=claims if claims is not None else {"attended": "Honiton library"},
        expires_at=expires_at or now() + 30 * DAY,
        now=now(),
        call=call,  # type: ignore[arg-type]
    )


async def _counts(session: AsyncSession) -> tuple[int | None, ...]:
    return (
        await session.scalar(select(func.count()).select_from(Verification)),
        await session.scalar(select(func.count()).select_from(Person)),
        await session.scalar(select(func.count()).select_from(AuditEntry)),
        await session.scalar(
            select(func.count())
            .select_from(VerificationCode)
            .where(VerificationCode.used_at.is_not(None))
        ),
    )


def test_codes_are_friendly_and_normalise() -> None:
    code = codes.new_code()
    assert len(code) == 10 and set(code) <= set(codes.ALPHABET)
    assert not set("01ILOU") & set(codes.ALPHABET)
    shown = codes.format_code(code)
    assert len(shown) == 12 and shown[4] == shown[9] == "-"
    assert codes.normalise_code(shown) == code
    assert codes.normalise_code(f"  {shown.lower().replace('-', ' ')} ") == code
    assert codes.normalise_code(shown.replace("-", "–")) == code
    for bad in ("", "ABCD-EFGH", "ABCD-EFGH-JKL", "ABCD-EFGH-J0", "ABCD-EFGH-JI"):
        assert codes.normalise_code(bad) is None
    assert len({codes.new_code() for _ in range(200)}) == 200


async def test_issue_keeps_only_hashes_and_a_code_verifies(session: AsyncSession) -> None:
    moderator = await make_account(session, role=Role.MODERATOR)
    call = await make_call(session)
    batch = await _issue(
        session,
        moderator,
        count=5,
        claims={"attended": "Honiton library", "postcode_area": "EX", "member_of": ""},
        call=call,
    )
    assert len(batch.codes) == len(set(batch.codes)) == 5
    assert batch.claims == {"attended": "Honiton library", "postcode_area": "EX"}
    rows = list(await session.scalars(select(VerificationCode)))
    stored = " ".join(f"{r.code_hash} {r.claims} {r.batch}" for r in rows).upper()
    for code in batch.codes:
        assert code not in stored and code.replace("-", "") not in stored
    assert {r.call_id for r in rows} == {call.id} and {r.issued_by for r in rows} == {moderator.id}

    resident = await make_account(session)
    verification = await codes.redeem_code(
        session, KEYS, resident, batch.codes[2].lower().replace("-", " "), now=now()
    )
    assert isinstance(verification, Verification)
    assert verification.method == "code"
    assert verification.claims == batch.claims
    typed = codes.normalise_code(batch.codes[2])
    assert typed is not None
    used = next(r for r in rows if r.code_hash == codes.code_hash(KEYS, typed))
    assert verification.identity_key == codes.code_identity_key(KEYS, used.id)
    assert resident.person_id == verification.person_id
    actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert [a for a in actions if a.startswith(("code", "verification"))] == [
        "codes.issued",
        "code.redeemed",
        "verification.added",
    ]


async def test_a_lifetime_makes_the_verification_expire(session: AsyncSession) -> None:
    moderator = await make_account(session, role=Role.MODERATOR)
    batch = await _issue(session, moderator, count=1)
    resident = await make_account(session)
    moment = now()
    verification = await codes.redeem_code(
        session, KEYS, resident, batch.codes[0], now=moment, lifetime=90 * DAY
    )
    assert isinstance(verification, Verification)
    assert verification.expires_at == moment + 90 * DAY


async def test_refusals_are_distinct_and_change_nothing(session: AsyncSession) -> None:
    moderator = await make_account(session, role=Role.MODERATOR)
    call, other_call = await make_call(session), await make_call(session)
    live = await _issue(session, moderator, count=2, label="live", call=call)
    expired = await _issue(session, moderator, count=1, label="old")
    revoked = await _issue(session, moderator, count=1, label="withdrawn")
    await codes.revoke_batch(session, moderator, "withdrawn", now=now())
    first = await make_account(session)
    await codes.redeem_code(session, KEYS, first, live.codes[0], now=now())
    # Let the "old" batch run out.
    later = now() + 31 * DAY

    resident = await make_account(session)
    before = await _counts(session)
    cases: list[tuple[str, type[MootError], str, dt.datetime, int | None]] = [
        ("ABCD-EFGH", codes.CodeMalformed, "has 10 letters and numbers", now(), None),
        ("ABCD-EFGH-JK", codes.CodeNotRecognised, "do not recognise", now(), None),
        (live.codes[0], codes.CodeAlreadyUsed, "already been used", now(), None),
        (expired.codes[0], codes.CodeExpired, "has expired", later, None),
        (revoked.codes[0], codes.CodeRevoked, "withdrawn", now(), None),
        (live.codes[1], codes.CodeForAnotherCall, "different call", now(), other_call.id),
    ]
    messages = set()
    for code, error, words, moment, call_id in cases:
        with pytest.raises(error) as caught:
            await codes.redeem_code(session, KEYS, resident, code, now=moment, call_id=call_id)
        assert words in caught.value.message
        assert caught.value.field == "code"
        messages.add(caught.value.message)
    assert len(messages) == len(cases)
    assert await _counts(session) == before
    assert resident.person_id is None
    # The code for this call still works here.
    assert isinstance(
        await codes.redeem_code(session, KEYS, resident, live.codes[1], now=now(), call_id=call.id),
        Verification,
    )


async def test_only_permitted_roles_can_issue(session: AsyncSession) -> None:
    region = await make_region(session)
    organiser = await make_organiser(session, region)
    call = await make_call(session, organiser=organiser)
    elsewhere = await make_call(session)
    nobody = await make_account(session)
    councillor = await make_account(session, role=Role.COUNCILLOR)
    organiser_member = await make_account(session)
    await service.grant_role(
        session, organiser_member, Role.ORGANISER, actor=None, organiser_id=organiser.id
    )
    regional = await make_account(session)
    await service.grant_role(session, regional, Role.MODERATOR, actor=None, region_id=region.id)
    admin = await make_account(session, role=Role.ADMIN)
    moderator = await make_account(session, role=Role.MODERATOR)

    allowed = {
        (nobody.id, None): False,
        (nobody.id, call.id): False,
        (councillor.id, call.id): False,
        (organiser_member.id, call.id): True,
        (organiser_member.id, elsewhere.id): False,
        (organiser_member.id, None): False,
        (regional.id, call.id): True,
        (regional.id, None): False,
        (admin.id, None): True,
        (moderator.id, elsewhere.id): True,
    }
    accounts = {a.id: a for a in (nobody, councillor, organiser_member, regional, admin, moderator)}
    calls = {call.id: call, elsewhere.id: elsewhere, None: None}
    for n, ((account_id, call_id), ok) in enumerate(allowed.items()):
        attempt = _issue(session, accounts[account_id], label=f"batch {n}", call=calls[call_id])
        if ok:
            assert len((await attempt).codes) == 3
        else:
            with pytest.raises(Forbidden):
                await attempt
    assert await codes.can_manage_codes(session, organiser_member.id)
    assert not await codes.can_manage_codes(session, councillor.id)
    assert [c.id for c in await codes.issuable_calls(session, organiser_member.id, now=now())] == [
        call.id
    ]


async def test_batch_limits_and_unique_labels(session: AsyncSession) -> None:
    moderator = await make_account(session, role=Role.MODERATOR)
    for count in (0, codes.MAX_BATCH + 1):
        with pytest.raises(ValidationFailed) as caught:
            await _issue(session, moderator, count=count)
        assert "count" in caught.value.errors
    assert len((await _issue(session, moderator, count=codes.MAX_BATCH)).codes) == 500
    with pytest.raises(ValidationFailed, match="already a batch with this label"):
        await _issue(session, moderator)
    with pytest.raises(ValidationFailed) as caught:
        await _issue(session, moderator, label="past", expires_at=now() - DAY)
    assert "expires_at" in caught.value.errors
    with pytest.raises(ValidationFailed):
        await _issue(session, moderator, label="odd claim", claims={"Bad Name": "x"})


async def test_revoking_one_code_or_a_batch(session: AsyncSession) -> None:
    moderator = await make_account(session, role=Role.MODERATOR)
    batch = await _issue(session, moderator, count=4)
    resident = await make_account(session)
    await codes.redeem_code(session, KEYS, resident, batch.codes[0], now=now())

    await codes.revoke_code(session, KEYS, moderator, batch.codes[1].lower(), now=now())
    with pytest.raises(codes.CodeRevoked, match="already been withdrawn"):
        await codes.revoke_code(session, KEYS, moderator, batch.codes[1], now=now())
    with pytest.raises(codes.CodeAlreadyUsed):
        await codes.revoke_code(session, KEYS, moderator, batch.codes[0], now=now())
    # Two unused codes are left to withdraw; the used one keeps its verification.
    assert await codes.revoke_batch(session, moderator, batch.label, now=now()) == 2
    other = await make_account(session)
    for code in batch.codes[1:]:
        with pytest.raises(codes.CodeRevoked):
            await codes.redeem_code(session, KEYS, other, code, now=now())
    assert await session.scalar(select(func.count()).select_from(Verification)) == 1
    with pytest.raises(NotFound):
        await codes.revoke_batch(session, moderator, "no such batch", now=now())
    with pytest.raises(Forbidden):
        await codes.revoke_batch(session, resident, batch.label, now=now())
    summary = (await codes.list_batches(session, moderator.id))[0]
    assert (summary.label, summary.issued, summary.used, summary.revoked) == (
        batch.label,
        4,
        1,
        3,
    )
    assert await codes.list_batches(session, resident.id) == []
    actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions.count("code.revoked") == 1 and actions.count("codes.batch_revoked") == 1


async def test_two_concurrent_redemptions_of_one_code_exactly_one_succeeds(
    fresh_database: Callable[[], Awaitable[str]],
) -> None:
    database = Database(create_engine(await fresh_database(), pool_size=4))
    try:
        async with database.session() as s, s.begin():
            moderator = await make_account(s, role=Role.MODERATOR)
            first, second = await make_account(s), await make_account(s)
            batch = await _issue(s, moderator, count=1, label="race")
            ids = (first.id, second.id)
        both_in = asyncio.Barrier(2)

        async def redeem(account_id: int) -> str:
            async with database.session() as s, s.begin():
                account = await s.get(Account, account_id)
                assert account is not None
                await both_in.wait()
                try:
                    await codes.redeem_code(s, KEYS, account, batch.codes[0], now=now())
                except codes.CodeAlreadyUsed:
                    return "refused"
                # Hold the row lock a moment: the other redemption must wait, then see it used.
                await asyncio.sleep(0.2)
                return "verified"

        results = await asyncio.gather(redeem(ids[0]), redeem(ids[1]))
        assert sorted(results) == ["refused", "verified"]
        async with database.session() as s:
            assert await s.scalar(select(func.count()).select_from(Verification)) == 1
            code = await s.scalar(select(VerificationCode))
            assert code is not None and code.used_at is not None
            winner = ids[results.index("verified")]
            owners = list(await s.scalars(select(Account.id).where(Account.person_id.is_not(None))))
            assert owners == [winner]
            redeemed = await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "code.redeemed")
            )
            assert redeemed == 1
    finally:
        await database.dispose()
