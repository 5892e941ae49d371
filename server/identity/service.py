"""Accounts and signing in: the rules and the writes.

Answers never reveal whether an email has an account: sign-up and sign-in links always say
"check your email", and what arrives in that inbox differs instead."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.errors import NotAuthenticated, ValidationFailed
from server.identity import mail, passwords
from server.identity.models import Account, AccountKind, Role, RoleGrant, Session, SignInLink

SESSION_LIFETIME = dt.timedelta(days=30)
LINK_LIFETIME = dt.timedelta(minutes=30)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def normalise_email(raw: str) -> str:
    email = raw.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailed("Enter an email address like name@example.com.", field="email")
    local, domain = email.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


async def find_by_email(session: AsyncSession, email: str) -> Account | None:
    return await session.scalar(
        select(Account).where(Account.email == email, Account.deleted_at.is_(None))
    )


async def _send_link(
    session: AsyncSession,
    account: Account,
    *,
    base_url: str,
    now: dt.datetime,
    subject: str,
    intro: str,
) -> None:
    token = secrets.token_urlsafe(32)
    session.add(
        SignInLink(
            token_hash=token_hash(token), account_id=account.id, expires_at=now + LINK_LIFETIME
        )
    )
    assert account.email is not None
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    await mail.queue(
        session,
        to=account.email,
        subject=subject,
        body=f"{intro}\n\n{base_url.rstrip('/')}/sign-in/link/{token}\n\n"
        f"The link works once and expires in {minutes} minutes. If you did not ask for it, "
        "you can ignore this email.\n",
    )


async def sign_up(
    session: AsyncSession, *, email: str, password: str, base_url: str, now: dt.datetime
) -> None:
    """Create an account waiting for email confirmation, or, when the email already has one,
    send that inbox a sign-in link instead. The caller shows the same message either way."""
    address = normalise_email(email)
    if problem := passwords.password_problem(password):
        raise ValidationFailed(problem, field="password")
    existing = await find_by_email(session, address)
    if existing is not None:
        await _send_link(
            session,
            existing,
            base_url=base_url,
            now=now,
            subject="You already have a Moot account",
            intro="Someone (probably you) tried to sign up with this email, which already has "
            "an account. Use this link to sign in:",
        )
        return
    account = Account(
        kind=AccountKind.FULL, email=address, password_hash=passwords.hash_password(password)
    )
    session.add(account)
    await session.flush()
    await audit.record(
        session,
        actor=account.id,
        action="account.created",
        subject_type="account",
        subject_id=account.id,
    )
    await _send_link(
        session,
        account,
        base_url=base_url,
        now=now,
        subject="Confirm your email for Moot",
        intro="Welcome to Moot. Confirm your email address and sign in with this link:",
    )


async def request_link(
    session: AsyncSession, *, email: str, base_url: str, now: dt.datetime
) -> None:
    address = normalise_email(email)
    account = await find_by_email(session, address)
    if account is not None and account.kind == AccountKind.FULL:
        await _send_link(
            session,
            account,
            base_url=base_url,
            now=now,
            subject="Your Moot sign-in link",
            intro="Use this link to sign in to Moot:",
        )


async def redeem_link(session: AsyncSession, token: str, *, now: dt.datetime) -> Account:
    link = await session.scalar(
        select(SignInLink).where(SignInLink.token_hash == token_hash(token)).with_for_update()
    )
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise NotAuthenticated(
            "This sign-in link has expired or has already been used. Ask for a new one."
        )
    account = await session.get(Account, link.account_id)
    if account is None or account.deleted_at is not None:
        raise NotAuthenticated("This sign-in link is no longer valid.")
    link.used_at = now
    if account.email_verified_at is None:
        account.email_verified_at = now
    await session.flush()
    return account


async def authenticate(session: AsyncSession, *, email: str, password: str) -> Account:
    wrong = NotAuthenticated("The email address or password is not right.")
    try:
        address = normalise_email(email)
    except ValidationFailed:
        raise wrong from None
    account = await find_by_email(session, address)
    stored = account.password_hash if account is not None else None
    if not passwords.verify_password(stored, password) or account is None:
        raise wrong
    if account.email_verified_at is None:
        raise NotAuthenticated(
            "Please confirm your email address first, with the link we sent you. "
            "You can ask for a new link below."
        )
    if stored and passwords.needs_rehash(stored):
        account.password_hash = passwords.hash_password(password)
    return account


async def start_session(session: AsyncSession, account: Account, *, now: dt.datetime) -> str:
    """Returns the cookie value; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    session.add(
        Session(
            token_hash=token_hash(token),
            account_id=account.id,
            expires_at=now + SESSION_LIFETIME,
            last_seen_at=now,
        )
    )
    await session.flush()
    return token


async def account_for_session(
    session: AsyncSession, token: str, *, now: dt.datetime
) -> Account | None:
    row = await session.execute(
        select(Account, Session)
        .join(Session, Session.account_id == Account.id)
        .where(
            Session.token_hash == token_hash(token),
            Session.revoked_at.is_(None),
            Session.expires_at > now,
            Account.deleted_at.is_(None),
        )
    )
    found = row.first()
    return found[0] if found else None


async def end_session(session: AsyncSession, token: str, *, now: dt.datetime) -> None:
    await session.execute(
        update(Session)
        .where(Session.token_hash == token_hash(token), Session.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_sessions(session: AsyncSession, account_id: int, *, now: dt.datetime) -> int:
    """End every live session of an account at once (no audit entry: callers record why)."""
    result = await session.execute(
        update(Session)
        .where(Session.account_id == account_id, Session.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def end_all_sessions(session: AsyncSession, account: Account, *, now: dt.datetime) -> int:
    ended = await revoke_sessions(session, account.id, now=now)
    await audit.record(
        session,
        actor=account.id,
        action="account.signed_out_everywhere",
        subject_type="account",
        subject_id=account.id,
    )
    return ended


async def grant_role(
    session: AsyncSession,
    account: Account,
    role: Role,
    *,
    actor: int | None,
    region_id: int | None = None,
    organiser_id: int | None = None,
) -> RoleGrant:
    grant = RoleGrant(
        account_id=account.id,
        role=role,
        region_id=region_id,
        organiser_id=organiser_id,
        granted_by=actor,
    )
    session.add(grant)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="role.granted",
        subject_type="account",
        subject_id=account.id,
        role=role.value,
        region_id=region_id,
        organiser_id=organiser_id,
    )
    return grant


async def roles_of(session: AsyncSession, account_id: int) -> list[RoleGrant]:
    return list(await session.scalars(select(RoleGrant).where(RoleGrant.account_id == account_id)))


async def has_role(
    session: AsyncSession,
    account_id: int,
    role: Role,
    *,
    region_id: int | None = None,
    organiser_id: int | None = None,
) -> bool:
    """Admins can do everything; a platform-wide grant covers every region and organiser."""
    for grant in await roles_of(session, account_id):
        if grant.role == Role.ADMIN and grant.region_id is None and grant.organiser_id is None:
            return True
        if grant.role != role:
            continue
        if grant.region_id is None and grant.organiser_id is None:
            return True
        if region_id is not None and grant.region_id == region_id:
            return True
        if organiser_id is not None and grant.organiser_id == organiser_id:
            return True
    return False


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    role: Role | None,
    password: str | None,
    now: dt.datetime,
) -> Account:
    """For operators (`moot users create`): a confirmed account, optionally with a role."""
    address = normalise_email(email)
    account = await find_by_email(session, address)
    if account is None:
        if password is not None and (problem := passwords.password_problem(password)):
            raise ValidationFailed(problem, field="password")
        account = Account(
            kind=AccountKind.FULL,
            email=address,
            email_verified_at=now,
            password_hash=passwords.hash_password(password) if password else None,
        )
        session.add(account)
        await session.flush()
        await audit.record(
            session,
            actor=None,
            action="account.created",
            subject_type="account",
            subject_id=account.id,
            by="cli",
        )
    if role is not None and not await has_role(session, account.id, role):
        await grant_role(session, account, role, actor=None)
    return account
