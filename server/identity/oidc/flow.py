"""The authorization code flow with PKCE: :func:`start_login` and :func:`complete_login` (see
the package's docstring), and what a completed login does: verify the signed-in account, or sign
someone in by the identity, by the provider's verified email, or by creating an account for
that email. Nothing personal reaches the audit log: only provider names, account ids and
reasons."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.errors import MootError
from server.identity import service
from server.identity.keys import Keys
from server.identity.models import Account, AccountKind, OidcLogin, Verification
from server.identity.oidc.claims import map_claims, verified_email
from server.identity.oidc.config import Provider
from server.identity.oidc.errors import ERROR_CODE, OidcError, refused
from server.identity.oidc.registry import Registry
from server.identity.verification import IdentityInUse, VerifiedIdentity, attach

log = logging.getLogger(__name__)

METHOD = "oidc"
# How long someone has between leaving for the provider and coming back.
LOGIN_LIFETIME = dt.timedelta(minutes=10)


def pkce_verifier(keys: Keys, state: str) -> str:
    """The PKCE code verifier of a login: derived from its state, so nothing more is stored.
    64 hex characters, within RFC 7636's 43 to 128 unreserved characters."""
    return keys.sign("oidc-pkce", state)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


async def start_login(
    session: AsyncSession,
    registry: Registry,
    keys: Keys,
    provider: Provider,
    *,
    account: Account | None,
    redirect_uri: str,
    now: dt.datetime,
) -> tuple[str, str]:
    """Record a login in flight and return (the provider's authorization URL, the state)."""
    metadata = await registry.metadata(provider)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    session.add(
        OidcLogin(
            state=state,
            nonce=nonce,
            provider=provider.name,
            account_id=account.id if account is not None else None,
            created_at=now,
        )
    )
    await session.flush()
    url = _with_query(
        metadata.authorization_endpoint,
        {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": provider.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(pkce_verifier(keys, state)),
            "code_challenge_method": "S256",
        },
    )
    return url, state


@dataclass(frozen=True, slots=True)
class Completed:
    action: Literal["signed_in", "verified"]
    account_id: int
    session_token: str | None  # a new session for the cookie, when someone signed in


@dataclass(frozen=True, slots=True)
class Refused:
    """The login was used up but did not work; what was written (the login marked used, the
    audit entry, a conflict for moderators) is meant to be committed."""

    error: MootError


def _expired(provider: Provider) -> OidcError:
    return OidcError(
        f"This sign-in with {provider.title} has expired or has already been used: it must be "
        f"finished within {int(LOGIN_LIFETIME.total_seconds() // 60)} minutes, once. Nothing "
        "was changed; please start again.",
        reason="unknown, used or expired state",
    )


async def _claim_login(
    session: AsyncSession,
    provider: Provider,
    state: str,
    *,
    account: Account | None,
    now: dt.datetime,
) -> OidcLogin:
    login = (
        await session.scalar(select(OidcLogin).where(OidcLogin.state == state).with_for_update())
        if 0 < len(state) <= 64
        else None
    )
    if (
        login is None
        or login.provider != provider.name
        or login.used_at is not None
        or login.created_at <= now - LOGIN_LIFETIME
    ):
        raise _expired(provider)
    if login.account_id != (account.id if account is not None else None):
        raise OidcError(
            "You signed in or out while this was in progress. Nothing was changed; please "
            "start again.",
            reason="the signed-in account changed",
        )
    login.used_at = now
    await session.flush()
    return login


async def cancel_login(
    session: AsyncSession, provider: Provider, state: str, *, error: str, now: dt.datetime
) -> None:
    """The provider sent the person back with ``error=``: use the login up, note why."""
    login = (
        await session.scalar(
            select(OidcLogin)
            .where(
                OidcLogin.state == state,
                OidcLogin.provider == provider.name,
                OidcLogin.used_at.is_(None),
            )
            .with_for_update()
        )
        if 0 < len(state) <= 64
        else None
    )
    if login is None:
        return
    login.used_at = now
    await audit.record(
        session,
        actor=login.account_id,
        action="oidc.cancelled",
        subject_type="oidc_login",
        subject_id=login.id,
        provider=provider.name,
        error=error if ERROR_CODE.match(error) else "other",
    )


async def _owner_of_identity(session: AsyncSession, identity_key: str) -> Account | None:
    return await session.scalar(
        select(Account)
        .join(Verification, Verification.person_id == Account.person_id)
        .where(Verification.identity_key == identity_key, Account.deleted_at.is_(None))
    )


async def complete_login(
    session: AsyncSession,
    registry: Registry,
    keys: Keys,
    provider: Provider,
    *,
    state: str,
    code: str,
    iss: str | None,
    account: Account | None,
    redirect_uri: str,
    now: dt.datetime,
) -> Completed | Refused:
    """Finish a login, in the caller's transaction.

    Raises :class:`OidcError` when nothing was changed (unknown, used or expired state; the
    signed-in account changed): roll back. Returns :class:`Refused` when the login was used up
    but the provider's answer was refused, and :class:`Completed` otherwise: commit both."""
    login = await _claim_login(session, provider, state, account=account, now=now)
    actor = account.id if account is not None else None
    try:
        metadata = await registry.metadata(provider)
        if (iss is not None and iss != provider.issuer) or (iss is None and metadata.iss_parameter):
            # RFC 9207: the answer must come from the provider we sent the person to.
            raise refused(provider, "the authorization response names another issuer")
        if not code or len(code) > 2048:
            raise refused(provider, "no code")
        answer = await registry.exchange_code(
            provider,
            metadata,
            code=code,
            verifier=pkce_verifier(keys, state),
            redirect_uri=redirect_uri,
        )
        claims = await registry.verify_id_token(
            provider, metadata, answer["id_token"], nonce=login.nonce, now=now
        )
        if provider.userinfo:
            extra = await registry.userinfo(
                provider, metadata, answer.get("access_token"), sub=claims["sub"]
            )
            claims = {**extra, **claims}
    except OidcError as exc:
        log.warning("OIDC login with %s refused: %s", provider.name, exc.reason)
        await audit.record(
            session,
            actor=actor,
            action="oidc.refused",
            subject_type="oidc_login",
            subject_id=login.id,
            provider=provider.name,
            reason=exc.reason,
        )
        return Refused(exc)

    identity = VerifiedIdentity(
        method=METHOD,
        identity_key=keys.identity_key(METHOD, f"{provider.issuer}|{claims['sub']}"),
        claims=map_claims(provider, claims, today=now.date()),
    )
    if account is not None:
        return await _verify(session, provider, account, identity)
    return await _sign_in(session, provider, login, identity, claims, now=now)


async def _verify(
    session: AsyncSession, provider: Provider, account: Account, identity: VerifiedIdentity
) -> Completed | Refused:
    target = await session.get(Account, account.id, with_for_update=True)
    if target is None or target.deleted_at is not None:
        return Refused(OidcError("Your account has been deleted.", reason="account deleted"))
    result = await attach(session, target, identity, actor=target.id)
    if not isinstance(result, Verification):
        return Refused(IdentityInUse())
    return Completed("verified", target.id, None)


async def _sign_in(
    session: AsyncSession,
    provider: Provider,
    login: OidcLogin,
    identity: VerifiedIdentity,
    claims: Mapping[str, Any],
    *,
    now: dt.datetime,
) -> Completed | Refused:
    account = await _owner_of_identity(session, identity.identity_key)
    how = "identity"
    if account is None:
        email = verified_email(claims)
        if email is None:
            await audit.record(
                session,
                actor=None,
                action="oidc.refused",
                subject_type="oidc_login",
                subject_id=login.id,
                provider=provider.name,
                reason="no verified email for a new sign-in",
            )
            return Refused(
                OidcError(
                    f"{provider.title} did not share a confirmed email address with us, so we "
                    "cannot find or create your Moot account. Please sign up first, then verify "
                    f"your identity with {provider.title} from your account page.",
                    reason="no verified email",
                )
            )
        account = await service.find_by_email(session, email)
        if account is not None:
            how = "email"
            if account.email_verified_at is None:
                # The provider has proved the address. A password set by whoever signed up
                # unconfirmed (perhaps not the owner) must not survive that.
                account.email_verified_at = now
                account.password_hash = None
                await audit.record(
                    session,
                    actor=account.id,
                    action="account.email_confirmed",
                    subject_type="account",
                    subject_id=account.id,
                    method=METHOD,
                    provider=provider.name,
                )
        else:
            how = "new_account"
            account = Account(kind=AccountKind.FULL, email=email, email_verified_at=now)
            session.add(account)
            await session.flush()
            await audit.record(
                session,
                actor=account.id,
                action="account.created",
                subject_type="account",
                subject_id=account.id,
                by=METHOD,
                provider=provider.name,
            )
    result = await attach(session, account, identity, actor=account.id)
    if not isinstance(result, Verification):
        return Refused(IdentityInUse())
    token = await service.start_session(session, account, now=now)
    await audit.record(
        session,
        actor=account.id,
        action="account.signed_in",
        subject_type="account",
        subject_id=account.id,
        method=METHOD,
        provider=provider.name,
        found_by=how,
    )
    return Completed("signed_in", account.id, token)
