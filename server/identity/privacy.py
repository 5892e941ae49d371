"""A person's own data: download everything we hold about an account, or delete it.

Deleting removes personal data and unlinks the account from its verified person. Public
contributions stay under an anonymised "Former participant" persona (or are withdrawn when the
person asks); the person row and its verifications' keyed identity hashes stay, with no claims,
so votes stay counted once but cannot be linked to anyone, and the same human who verifies again
later is recognised and cannot vote twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.audit.models import AuditEntry
from server.identity.models import (
    Account,
    ApiToken,
    OidcLogin,
    OutboxMessage,
    RoleGrant,
    Session,
    SignInLink,
    Verification,
    VerificationConflict,
)
from server.personas.models import Persona, PersonaKind
from server.personas.service import FORMER_NAME


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


async def export_account(session: AsyncSession, account: Account) -> dict[str, Any]:
    personas = await session.scalars(select(Persona).where(Persona.account_id == account.id))
    verifications: list[Verification] = []
    if account.person_id is not None:
        verifications = list(
            await session.scalars(
                select(Verification).where(Verification.person_id == account.person_id)
            )
        )
    sessions = await session.scalars(select(Session).where(Session.account_id == account.id))
    roles = await session.scalars(select(RoleGrant).where(RoleGrant.account_id == account.id))
    tokens = await session.scalars(select(ApiToken).where(ApiToken.account_id == account.id))
    mails = await session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == account.email)
    )
    trail = await session.scalars(
        select(AuditEntry)
        .where(
            or_(
                AuditEntry.actor_account_id == account.id,
                (AuditEntry.subject_type == "account") & (AuditEntry.subject_id == account.id),
            )
        )
        .order_by(AuditEntry.id)
    )
    return {
        "format": "moot-account-export/1",
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "account": {
            "id": account.id,
            "kind": account.kind.value,
            "email": account.email,
            "email_verified_at": _iso(account.email_verified_at),
            "has_password": account.password_hash is not None,
            "created_at": _iso(account.created_at),
        },
        "personas": [
            {
                "id": p.id,
                "kind": p.kind.value,
                "display_name": p.display_name,
                "description": p.description,
                "avatar_colour": p.avatar_colour,
                "verification_id": p.verification_id,
                "archived_at": _iso(p.archived_at),
                "created_at": _iso(p.created_at),
            }
            for p in personas
        ],
        "verifications": [
            {
                "id": v.id,
                "method": v.method,
                "claims": v.claims,
                "verified_at": _iso(v.verified_at),
                "expires_at": _iso(v.expires_at),
                "revoked_at": _iso(v.revoked_at),
            }
            for v in verifications
        ],
        "sessions": [
            {
                "created_at": _iso(s.created_at),
                "last_seen_at": _iso(s.last_seen_at),
                "expires_at": _iso(s.expires_at),
                "revoked_at": _iso(s.revoked_at),
            }
            for s in sessions
        ],
        "roles": [
            {
                "role": r.role.value,
                "region_id": r.region_id,
                "organiser_id": r.organiser_id,
                "granted_at": _iso(r.created_at),
            }
            for r in roles
        ],
        "api_tokens": [
            {
                "name": t.name,
                "scopes": t.scopes,
                "created_at": _iso(t.created_at),
                "expires_at": _iso(t.expires_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in tokens
        ],
        "emails": [
            {"subject": m.subject, "body": m.body, "created_at": _iso(m.created_at)} for m in mails
        ],
        "audit_log": [
            {
                "at": _iso(e.at),
                "action": e.action,
                "subject_type": e.subject_type,
                "subject_id": e.subject_id,
                "details": e.details,
            }
            for e in trail
        ],
    }


async def delete_account(
    session: AsyncSession, account: Account, *, remove_contributions: bool, now: dt.datetime
) -> None:
    """Remove the account's personal data in one transaction."""
    email = account.email
    account_id = account.id
    if email:
        await session.execute(delete(OutboxMessage).where(OutboxMessage.to_address == email))
    for statement in (
        delete(Session).where(Session.account_id == account_id),
        delete(SignInLink).where(SignInLink.account_id == account_id),
        delete(ApiToken).where(ApiToken.account_id == account_id),
        delete(OidcLogin).where(OidcLogin.account_id == account_id),
        delete(RoleGrant).where(RoleGrant.account_id == account_id),
        delete(VerificationConflict).where(VerificationConflict.claimant_account_id == account_id),
    ):
        await session.execute(statement)
    if account.person_id is not None:
        # Keep the keyed identity hashes (one person, one vote) but nothing about the person.
        await session.execute(
            update(Verification)
            .where(Verification.person_id == account.person_id)
            .values(claims={})
        )
    await session.execute(
        update(Persona)
        .where(Persona.account_id == account_id)
        .values(
            account_id=None,
            kind=PersonaKind.FORMER,
            display_name=FORMER_NAME,
            description="",
            avatar_colour="#505a5f",
            verification_id=None,
            archived_at=now,
        )
    )
    # Withdrawing contributions themselves belongs to the domains that own them (ideas,
    # comments): they hide content whose persona is FORMER when asked to.
    account.email = None
    account.password_hash = None
    account.email_verified_at = None
    account.person_id = None
    account.light_call_id = None
    account.deleted_at = now
    await session.flush()
    await audit.record(
        session,
        actor=account_id,
        action="account.deleted",
        subject_type="account",
        subject_id=account_id,
        contributions="removed" if remove_contributions else "kept",
    )
