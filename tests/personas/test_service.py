from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEntry
from server.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.identity.keys import Keys
from server.identity.verification import VerifiedIdentity, attach
from server.personas import service
from server.personas.models import Persona, PersonaKind
from server.personas.service import PersonaInput
from tests.factories import make_account, now

KEYS = Keys(secret=b"s" * 32, identity_pepper=b"p" * 32)


async def _verify(session: AsyncSession, account, **claims):
    identity = VerifiedIdentity(
        method="code",
        identity_key=KEYS.identity_key("t", repr(claims) + str(account.id)),
        claims=claims,
    )
    return await attach(session, account, identity, actor=account.id)


async def test_create_resident_and_pseudonym(session: AsyncSession) -> None:
    account = await make_account(session)
    jane = await service.create_persona(
        session,
        account,
        PersonaInput(PersonaKind.RESIDENT, " Jane, resident of Honiton "),
        now=now(),
    )
    await service.create_persona(
        session, account, PersonaInput(PersonaKind.PSEUDONYM, "Otter"), now=now()
    )
    assert jane.display_name == "Jane, resident of Honiton"
    assert [p.display_name for p in await service.personas_of(session, account.id)] == [
        "Jane, resident of Honiton",
        "Otter",
    ]
    actions = await session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_type == "persona")
    )
    assert list(actions) == ["persona.created", "persona.created"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (PersonaInput(PersonaKind.RESIDENT, "  "), "display_name"),
        (PersonaInput(PersonaKind.RESIDENT, "x" * 81), "display_name"),
        (PersonaInput(PersonaKind.RESIDENT, "Jane", avatar_colour="red"), "avatar_colour"),
        (PersonaInput(PersonaKind.FORMER, "Sneaky"), "kind"),
        (PersonaInput(PersonaKind.PSEUDONYM, "Former participant"), "display_name"),
        (PersonaInput(PersonaKind.ORGANISATION, "Traders"), "verification_id"),
    ],
)
async def test_bad_persona_input_changes_nothing(
    session: AsyncSession, data: PersonaInput, field: str
) -> None:
    account = await make_account(session)
    with pytest.raises(ValidationFailed) as caught:
        await service.create_persona(session, account, data, now=now())
    assert field in caught.value.errors
    assert await session.scalar(select(func.count()).select_from(Persona)) == 0


async def test_organisation_persona_needs_a_membership_verification(session: AsyncSession) -> None:
    account = await make_account(session)
    area = await _verify(session, account, postcode_area="EX")
    with pytest.raises(ValidationFailed, match="membership"):
        await service.create_persona(
            session,
            account,
            PersonaInput(PersonaKind.ORGANISATION, "Traders", verification_id=area.id),
            now=now(),
        )
    member = await _verify(session, account, member_of="honiton-traders")
    persona = await service.create_persona(
        session,
        account,
        PersonaInput(PersonaKind.ORGANISATION, "Honiton Traders", verification_id=member.id),
        now=now(),
    )
    assert persona.verification_id == member.id


async def test_someone_elses_verification_cannot_be_used(session: AsyncSession) -> None:
    owner, other = await make_account(session), await make_account(session)
    member = await _verify(session, owner, member_of="club")
    with pytest.raises(ValidationFailed, match="your current verifications"):
        await service.create_persona(
            session,
            other,
            PersonaInput(PersonaKind.ORGANISATION, "Club", verification_id=member.id),
            now=now(),
        )


async def test_database_refuses_an_unverified_organisation_persona(session: AsyncSession) -> None:
    account = await make_account(session)
    session.add(Persona(account_id=account.id, kind=PersonaKind.ORGANISATION, display_name="X"))
    with pytest.raises(IntegrityError, match="ck_personas_organisation_verified"):
        await session.flush()


async def test_archive_and_only_own_personas_are_usable(session: AsyncSession) -> None:
    account, other = await make_account(session), await make_account(session)
    persona = await service.create_persona(
        session, account, PersonaInput(PersonaKind.PSEUDONYM, "Kestrel"), now=now()
    )
    with pytest.raises(Forbidden):
        await service.usable_persona(session, other, persona.id)
    with pytest.raises(NotFound):
        await service.archive_persona(session, other, persona.id, now=now())
    await service.archive_persona(session, account, persona.id, now=now())
    with pytest.raises(ValidationFailed, match="archived"):
        await service.usable_persona(session, account, persona.id)
    assert await service.personas_of(session, account.id) == []
    assert len(await service.personas_of(session, account.id, include_archived=True)) == 1


async def test_persona_limit(session: AsyncSession) -> None:
    account = await make_account(session)
    for i in range(service.MAX_PERSONAS):
        await service.create_persona(
            session, account, PersonaInput(PersonaKind.PSEUDONYM, f"P{i}"), now=now()
        )
    with pytest.raises(Conflict, match="up to 10"):
        await service.create_persona(
            session, account, PersonaInput(PersonaKind.PSEUDONYM, "One more"), now=now()
        )


async def test_revealing_the_owner_is_audited_with_a_reason(session: AsyncSession) -> None:
    account, moderator = await make_account(session), await make_account(session)
    persona = await service.create_persona(
        session, account, PersonaInput(PersonaKind.PSEUDONYM, "Heron"), now=now()
    )
    with pytest.raises(ValidationFailed):
        await service.reveal_owner(session, persona.id, moderator=moderator.id, reason="why")
    owner = await service.reveal_owner(
        session, persona.id, moderator=moderator.id, reason="Report #12: repeated abuse"
    )
    assert owner == account.id
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "persona.owner_revealed")
    )
    assert entry is not None and entry.actor_account_id == moderator.id
    assert entry.details["reason"] == "Report #12: repeated abuse"


async def test_reveal_page_is_for_moderators_and_audited(client, session: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    from server.identity.models import Role
    from tests.factories import csrf_token, sign_in

    owner = await make_account(session, email="owner@example.org")
    persona = await service.create_persona(
        session, owner, PersonaInput(PersonaKind.PSEUDONYM, "Badger"), now=now()
    )
    resident = await make_account(session)
    await sign_in(client, session, resident)
    assert (await client.get(f"/moderation/personas/{persona.id}/owner")).status_code == 403
    moderator = await make_account(session, role=Role.MODERATOR)
    await sign_in(client, session, moderator)
    token = await csrf_token(client)
    short = await client.post(
        f"/moderation/personas/{persona.id}/owner", data={"csrf_token": token, "reason": "x"}
    )
    assert short.status_code == 422 and "owner@example.org" not in short.text
    shown = await client.post(
        f"/moderation/personas/{persona.id}/owner",
        data={"csrf_token": token, "reason": "Report 7: threats in comments"},
    )
    assert shown.status_code == 200 and "owner@example.org" in shown.text
    entries = list(
        await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "persona.owner_revealed")
        )
    )
    assert [e.actor_account_id for e in entries] == [moderator.id]


async def test_the_audit_log_is_append_only(session: AsyncSession) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    account = await make_account(session)
    await service.create_persona(
        session, account, PersonaInput(PersonaKind.PSEUDONYM, "Wren"), now=now()
    )
    for statement in (
        "UPDATE audit_log SET action = 'tampered'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        nested = await session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text(statement))
        await nested.rollback()
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) >= 2
