"""Personas: how a resident chooses to appear. The rules and the writes."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.identity.models import Account, Verification
from server.personas.models import Persona, PersonaKind

MAX_PERSONAS = 10
FORMER_NAME = "Former participant"
_COLOUR = re.compile(r"^#[0-9a-f]{6}$")
CHOOSABLE = (PersonaKind.RESIDENT, PersonaKind.ORGANISATION, PersonaKind.PSEUDONYM)


@dataclass(frozen=True, slots=True)
class PersonaInput:
    kind: PersonaKind
    display_name: str
    description: str = ""
    avatar_colour: str = "#0b4f6c"
    verification_id: int | None = None


async def _usable_verification(
    session: AsyncSession, account: Account, verification_id: int, *, now: dt.datetime
) -> Verification:
    verification = await session.get(Verification, verification_id)
    live = (
        verification is not None
        and account.person_id is not None
        and verification.person_id == account.person_id
        and verification.revoked_at is None
        and (verification.expires_at is None or verification.expires_at > now)
    )
    if not live:
        raise ValidationFailed("Choose one of your current verifications.", field="verification_id")
    assert verification is not None
    return verification


async def _validate(
    session: AsyncSession, account: Account, data: PersonaInput, *, now: dt.datetime
) -> None:
    errors: dict[str, str] = {}
    name = data.display_name.strip()
    if data.kind not in CHOOSABLE:
        errors["kind"] = "Choose resident, organisation or pseudonym."
    if not name:
        errors["display_name"] = "Give the persona a name people will see."
    elif len(name) > 80:
        errors["display_name"] = "Keep the name to 80 characters or fewer."
    elif name.casefold() == FORMER_NAME.casefold():
        errors["display_name"] = "That name is reserved."
    if len(data.description) > 500:
        errors["description"] = "Keep the description to 500 characters or fewer."
    if not _COLOUR.match(data.avatar_colour.lower()):
        errors["avatar_colour"] = "Choose a colour like #0b4f6c."
    if data.kind == PersonaKind.ORGANISATION and data.verification_id is None:
        errors["verification_id"] = (
            "To speak for an organisation, choose a verification of your membership of it."
        )
    if errors:
        raise ValidationFailed(errors=errors)
    if data.verification_id is not None:
        verification = await _usable_verification(session, account, data.verification_id, now=now)
        if data.kind == PersonaKind.ORGANISATION and not verification.claims.get("member_of"):
            raise ValidationFailed(
                "That verification does not show membership of an organisation.",
                field="verification_id",
            )


async def create_persona(
    session: AsyncSession, account: Account, data: PersonaInput, *, now: dt.datetime
) -> Persona:
    await _validate(session, account, data, now=now)
    count = await session.scalar(
        select(func.count())
        .select_from(Persona)
        .where(Persona.account_id == account.id, Persona.archived_at.is_(None))
    )
    if (count or 0) >= MAX_PERSONAS:
        raise Conflict(f"You can have up to {MAX_PERSONAS} personas. Archive one first.")
    persona = Persona(
        account_id=account.id,
        kind=data.kind,
        display_name=data.display_name.strip(),
        description=data.description.strip(),
        avatar_colour=data.avatar_colour.lower(),
        verification_id=data.verification_id,
    )
    session.add(persona)
    await session.flush()
    await audit.record(
        session,
        actor=account.id,
        action="persona.created",
        subject_type="persona",
        subject_id=persona.id,
        kind=data.kind.value,
        verification_id=data.verification_id,
    )
    return persona


async def own_persona(session: AsyncSession, account: Account, persona_id: int) -> Persona:
    persona = await session.get(Persona, persona_id, with_for_update=True)
    if persona is None or persona.account_id != account.id:
        raise NotFound("You have no such persona.")
    return persona


async def update_persona(
    session: AsyncSession,
    account: Account,
    persona_id: int,
    data: PersonaInput,
    *,
    now: dt.datetime,
) -> Persona:
    persona = await own_persona(session, account, persona_id)
    await _validate(session, account, data, now=now)
    if data.kind != persona.kind:
        raise ValidationFailed("A persona's kind cannot change; create a new one.", field="kind")
    link_changed = data.verification_id != persona.verification_id
    persona.display_name = data.display_name.strip()
    persona.description = data.description.strip()
    persona.avatar_colour = data.avatar_colour.lower()
    persona.verification_id = data.verification_id
    await session.flush()
    await audit.record(
        session,
        actor=account.id,
        action="persona.updated",
        subject_type="persona",
        subject_id=persona.id,
        verification_changed=link_changed,
        verification_id=data.verification_id,
    )
    return persona


async def archive_persona(
    session: AsyncSession, account: Account, persona_id: int, *, now: dt.datetime
) -> Persona:
    """Archived personas keep their contributions but cannot be used again."""
    persona = await own_persona(session, account, persona_id)
    if persona.archived_at is None:
        persona.archived_at = now
        await session.flush()
        await audit.record(
            session,
            actor=account.id,
            action="persona.archived",
            subject_type="persona",
            subject_id=persona.id,
        )
    return persona


async def personas_of(
    session: AsyncSession, account_id: int, *, include_archived: bool = False
) -> list[Persona]:
    query = select(Persona).where(Persona.account_id == account_id)
    if not include_archived:
        query = query.where(Persona.archived_at.is_(None))
    return list(await session.scalars(query.order_by(Persona.created_at, Persona.id)))


def require_usable(account: Account, owner_id: int | None, *, archived: bool) -> None:
    """The rule for the persona an action is taken as: the account's own and not archived
    (``owner_id`` None: no such persona)."""
    if owner_id is None or owner_id != account.id:
        raise Forbidden("You can only act as one of your own personas.")
    if archived:
        raise ValidationFailed("That persona is archived; choose another.", field="persona_id")


async def usable_persona(session: AsyncSession, account: Account, persona_id: int) -> Persona:
    """The persona an action is taken as (see :func:`require_usable`)."""
    persona = await session.get(Persona, persona_id)
    require_usable(
        account,
        persona.account_id if persona is not None else None,
        archived=persona is not None and persona.archived_at is not None,
    )
    assert persona is not None
    return persona


async def reveal_owner(
    session: AsyncSession, persona_id: int, *, moderator: int, reason: str
) -> int | None:
    """The account behind a persona, for moderators only (checked by the caller), always
    audited with the reason given."""
    if len(reason.strip()) < 10:
        raise ValidationFailed("Give a reason of at least 10 characters.", field="reason")
    persona = await session.get(Persona, persona_id)
    if persona is None:
        raise NotFound("There is no such persona.")
    await audit.record(
        session,
        actor=moderator,
        action="persona.owner_revealed",
        subject_type="persona",
        subject_id=persona.id,
        reason=reason.strip()[:500],
    )
    return persona.account_id
