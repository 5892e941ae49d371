"""What every verification method shares: turn a verified real-world identity into a
verification of one person, and keep one real identity to one account.

Each method (``oidc``, ``register``, ``codes``) is a plug-in that ends by calling :func:`attach`
with a :class:`VerifiedIdentity`; councils add their own the same way.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.errors import Conflict, NotFound
from server.identity.models import Account, Person, Verification, VerificationConflict

log = logging.getLogger(__name__)


class VerificationMethod(Protocol):
    """A way of proving who someone is. ``name`` is stored on each verification it makes and
    namespaces its identity keys."""

    name: str


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    method: str
    identity_key: str  # Keys.identity_key(method, raw identity): never the raw value
    claims: dict[str, Any] = field(default_factory=dict)
    expires_at: dt.datetime | None = None


class IdentityInUse(Conflict):
    code = "IDENTITY_IN_USE"
    default_message = (
        "These details already verify another account, so they cannot verify this one too. "
        "A moderator has been told; if the other account is an old one of yours, they can move "
        "the verification to this account."
    )


async def ensure_person(session: AsyncSession, account: Account) -> int:
    if account.person_id is None:
        person = Person()
        session.add(person)
        await session.flush()
        account.person_id = person.id
        await session.flush()
    return account.person_id


async def _owner_of(session: AsyncSession, person_id: int) -> Account | None:
    return await session.scalar(
        select(Account).where(Account.person_id == person_id, Account.deleted_at.is_(None))
    )


async def attach(
    session: AsyncSession, account: Account, identity: VerifiedIdentity, *, actor: int | None
) -> Verification | VerificationConflict:
    """Verify ``account`` with ``identity``.

    Returns the verification, or, when the identity already verifies another live account, the
    conflict recorded for moderators (nothing else is written: the caller shows
    :class:`IdentityInUse`'s message). An identity whose account was deleted is taken back by
    whoever presents it again, with the same person, so their old votes still count once."""
    existing = await session.scalar(
        select(Verification).where(Verification.identity_key == identity.identity_key)
    )
    if existing is not None and existing.person_id != account.person_id:
        owner = await _owner_of(session, existing.person_id)
        if owner is not None or account.person_id is not None:
            return await _record_conflict(session, account, identity)
        # A deleted account's person: the same human is back.
        account.person_id = existing.person_id
        await session.flush()
    person_id = await ensure_person(session, account)
    stmt = (
        insert(Verification)
        .values(
            person_id=person_id,
            method=identity.method,
            identity_key=identity.identity_key,
            claims=identity.claims,
            expires_at=identity.expires_at,
        )
        .on_conflict_do_update(
            index_elements=[Verification.identity_key],
            # Re-verifying refreshes what we know; only ever for the same person.
            set_={
                "claims": identity.claims,
                "expires_at": identity.expires_at,
                "revoked_at": None,
            },
            where=Verification.person_id == person_id,
        )
        .returning(Verification.id)
    )
    verification_id = await session.scalar(stmt)
    if verification_id is None:
        # Another account won a concurrent race for this identity.
        return await _record_conflict(session, account, identity)
    await audit.record(
        session,
        actor=actor,
        action="verification.added",
        subject_type="account",
        subject_id=account.id,
        method=identity.method,
        verification_id=verification_id,
    )
    verification = await session.get(Verification, verification_id, populate_existing=True)
    assert verification is not None
    return verification


async def _record_conflict(
    session: AsyncSession, account: Account, identity: VerifiedIdentity
) -> VerificationConflict:
    conflict = VerificationConflict(
        identity_key=identity.identity_key,
        method=identity.method,
        claims=identity.claims,
        claimant_account_id=account.id,
    )
    session.add(conflict)
    await session.flush()
    await audit.record(
        session,
        actor=account.id,
        action="verification.conflict",
        subject_type="account",
        subject_id=account.id,
        method=identity.method,
        conflict_id=conflict.id,
    )
    log.warning("identity already verifies another account (conflict %s)", conflict.id)
    return conflict


async def resolve_conflict(
    session: AsyncSession, conflict_id: int, *, moderator: int, transfer: bool
) -> VerificationConflict:
    """A moderator moves the verified person to the claimant, or dismisses the claim."""
    conflict = await session.get(VerificationConflict, conflict_id, with_for_update=True)
    if conflict is None:
        raise NotFound("There is no such verification conflict.")
    if conflict.resolved_at is not None:
        raise Conflict("This conflict has already been resolved.")
    if transfer:
        verification = await session.scalar(
            select(Verification).where(Verification.identity_key == conflict.identity_key)
        )
        claimant = await session.get(Account, conflict.claimant_account_id, with_for_update=True)
        if verification is None or claimant is None or claimant.deleted_at is not None:
            raise Conflict("The verification or the account has gone; dismiss this conflict.")
        if claimant.person_id not in (None, verification.person_id):
            raise Conflict(
                "The claimant is already verified as a different person; the two cannot be "
                "merged automatically."
            )
        previous = await _owner_of(session, verification.person_id)
        if previous is not None and previous.id != claimant.id:
            previous.person_id = None
            await session.flush()
        claimant.person_id = verification.person_id
        await session.flush()
        await audit.record(
            session,
            actor=moderator,
            action="verification.transferred",
            subject_type="account",
            subject_id=claimant.id,
            from_account=previous.id if previous else None,
            conflict_id=conflict.id,
        )
    else:
        await audit.record(
            session,
            actor=moderator,
            action="verification.conflict_dismissed",
            subject_type="account",
            subject_id=conflict.claimant_account_id,
            conflict_id=conflict.id,
        )
    await session.execute(
        update(VerificationConflict)
        .where(VerificationConflict.id == conflict.id)
        .values(
            resolved_at=dt.datetime.now(dt.UTC),
            resolved_by=moderator,
            resolution="transferred" if transfer else "dismissed",
        )
    )
    await session.refresh(conflict)
    return conflict


def is_live(now: Any) -> ColumnElement[bool]:
    """The rule for a verification that counts at ``now`` (a datetime or a bound parameter):
    not revoked, not expired. In table columns, so statements built once can use it too."""
    table = Verification.__table__.c
    return and_(table.revoked_at.is_(None), or_(table.expires_at.is_(None), table.expires_at > now))


async def live_verifications(
    session: AsyncSession, person_id: int, *, now: dt.datetime
) -> list[Verification]:
    rows = await session.scalars(
        select(Verification)
        .where(Verification.person_id == person_id, is_live(now))
        .order_by(Verification.verified_at)
    )
    return list(rows)
