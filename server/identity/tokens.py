"""Our JWT signing keys and the personal access tokens signed with them.

Signing keys live in ``signing_keys``. Their private halves are encrypted at rest with Fernet,
under a key derived (HKDF-SHA256) from ``Keys.secret`` and a purpose label; the public halves are
plain JWKs, published by :func:`jwks`. The newest unretired key signs; every unretired key
verifies, so :func:`rotate_signing_key` never breaks tokens already handed out, and
:func:`retire_signing_key` is how a key (and every token it signed) stops being accepted.

A personal access token is a JWT we sign (ES256) plus an ``api_tokens`` row keyed by its ``jti``:
the signature proves we issued it, the row makes it revocable. The JWT itself is shown once, at
creation, and never stored.

Errors: every refused bearer token raises :class:`~server.identity.jose.InvalidToken` (401, code
``INVALID_TOKEN``) with one non-revealing message, except a genuine token past its expiry, which
raises its subclass :class:`~server.identity.jose.TokenExpired` (401, code ``TOKEN_EXPIRED``) so
that clients know to make a new one.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import uuid
from collections.abc import Collection
from typing import Any

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken as FernetInvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.errors import Forbidden, NotFound, ValidationFailed
from server.identity import jose
from server.identity.jose import InvalidToken, TokenExpired
from server.identity.keys import Keys
from server.identity.models import Account, ApiToken, SigningKey, TokenScope

log = logging.getLogger(__name__)

__all__ = [
    "AUDIENCE",
    "ISSUER",
    "SIGNING_ALGORITHM",
    "InvalidToken",
    "TokenExpired",
    "active_signing_key",
    "authenticate_bearer",
    "create_token",
    "jwks",
    "list_tokens",
    "retire_signing_key",
    "revoke_token",
    "rotate_signing_key",
]

ISSUER = "moot"
AUDIENCE = "moot-api"
SIGNING_ALGORITHM = jose.ES256

MIN_LIFETIME = dt.timedelta(days=1)
MAX_LIFETIME = dt.timedelta(days=365)
MAX_NAME_LENGTH = 100
# Scopes an account gets unless the caller says it may have more (``moderate`` needs a role).
DEFAULT_ALLOWED_SCOPES: frozenset[str] = frozenset({TokenScope.READ, TokenScope.PARTICIPATE})
# Tolerated clock skew between our own app processes (on exp, nbf and iat).
CLOCK_SKEW = dt.timedelta(seconds=60)
# last_used_at is written at most this often per token, to keep reads from becoming writes.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)

EXPIRED_MESSAGE = "This token has expired. Create a new one in your account settings."

# Serialises creating and rotating keys across app processes (pg_advisory_xact_lock key).
_SIGNING_KEY_LOCK = 0x6D6F6F74_6B657973  # "mootkeys"
_FERNET_INFO = b"moot/signing-keys/fernet/v1"


# --- signing keys ----------------------------------------------------------------------------


def _fernet(keys: Keys) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_FERNET_INFO).derive(
        keys.secret
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _private_pem(keys: Keys, key: SigningKey) -> bytes:
    """The decrypted private key. ``FernetInvalidToken`` when ``Keys.secret`` has changed."""
    return _fernet(keys).decrypt(key.private_key)


def _can_sign(keys: Keys, key: SigningKey) -> bool:
    try:
        _private_pem(keys, key)
    except FernetInvalidToken:
        return False
    return True


async def _newest_unretired(session: AsyncSession) -> SigningKey | None:
    return await session.scalar(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.id.desc())
        .limit(1)
    )


async def _lock_signing_keys(session: AsyncSession) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(_SIGNING_KEY_LOCK)))


async def _create_signing_key(
    session: AsyncSession, keys: Keys, *, actor: int | None, reason: str
) -> SigningKey:
    pair = jose.generate_key_pair()
    key = SigningKey(
        kid=pair.kid,
        algorithm=pair.algorithm,
        private_key=_fernet(keys).encrypt(pair.private_pem),
        public_jwk=pair.public_jwk,
    )
    session.add(key)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="signing_key.created",
        subject_type="signing_key",
        subject_id=key.id,
        kid=key.kid,
        algorithm=key.algorithm,
        reason=reason,
    )
    return key


async def active_signing_key(session: AsyncSession, keys: Keys) -> SigningKey:
    """The key new tokens are signed with: the newest unretired one, created if there is none.

    If the newest key cannot be decrypted (``Keys.secret`` was changed), a new key is made: old
    tokens keep verifying with the old key's public half until it is retired."""
    key = await _newest_unretired(session)
    if key is not None and _can_sign(keys, key):
        return key
    await _lock_signing_keys(session)  # another process may be making one right now
    key = await _newest_unretired(session)
    if key is not None and _can_sign(keys, key):
        return key
    if key is not None:
        log.warning(
            "Signing key %s cannot be decrypted with this secret; making a new one.", key.kid
        )
    return await _create_signing_key(
        session, keys, actor=None, reason="secret changed" if key else "first key"
    )


async def rotate_signing_key(session: AsyncSession, keys: Keys, *, actor: int | None) -> SigningKey:
    """Make a new key the signer. Older keys keep verifying until :func:`retire_signing_key`."""
    await _lock_signing_keys(session)
    return await _create_signing_key(session, keys, actor=actor, reason="rotation")


async def retire_signing_key(
    session: AsyncSession, kid: str, *, actor: int | None, now: dt.datetime | None = None
) -> SigningKey:
    """Stop accepting (and publishing) a key: every token it signed is refused from now on.

    Retiring the current signer is allowed (say, after a leak): the next token made gets a new
    key. Retiring a retired key changes nothing."""
    key = await session.scalar(select(SigningKey).where(SigningKey.kid == kid))
    if key is None:
        raise NotFound("We could not find that signing key.", field="kid")
    if key.retired_at is None:
        key.retired_at = now or dt.datetime.now(dt.UTC)
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="signing_key.retired",
            subject_type="signing_key",
            subject_id=key.id,
            kid=key.kid,
        )
    return key


async def jwks(session: AsyncSession) -> dict[str, list[dict[str, Any]]]:
    """The public JWK set of every unretired key, for ``/.well-known/jwks.json``."""
    rows = await session.scalars(
        select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.id)
    )
    return {"keys": [dict(row.public_jwk) for row in rows]}


# --- personal access tokens ------------------------------------------------------------------


def _validate(
    *,
    name: str,
    scopes: Collection[str],
    expires_in: dt.timedelta,
    allowed_scopes: Collection[str],
) -> tuple[str, list[str]]:
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = "Give the token a name, so you can tell your tokens apart."
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = f"Keep the name to {MAX_NAME_LENGTH} characters or fewer."
    elif not name.isprintable():
        errors["name"] = "Use letters, digits, spaces and punctuation only."

    known = {s.value for s in TokenScope}
    requested = set(scopes) if not isinstance(scopes, str) else {scopes}
    unknown = sorted(requested - known)
    not_allowed = sorted((requested & known) - set(allowed_scopes))
    if not requested:
        errors["scopes"] = "Choose at least one scope."
    elif unknown:
        errors["scopes"] = f"Unknown scope: {', '.join(unknown)}."
    elif not_allowed:
        errors["scopes"] = f"Your account cannot grant the {', '.join(not_allowed)} scope."

    if not MIN_LIFETIME <= expires_in <= MAX_LIFETIME:
        errors["expires_in"] = "Choose an expiry between 1 day and 1 year."

    if errors:
        raise ValidationFailed(errors=errors)
    return name, [s.value for s in TokenScope if s.value in requested]


async def create_token(
    session: AsyncSession,
    keys: Keys,
    account: Account,
    *,
    name: str,
    scopes: Collection[str],
    expires_in: dt.timedelta,
    now: dt.datetime,
    allowed_scopes: Collection[str] = DEFAULT_ALLOWED_SCOPES,
) -> tuple[ApiToken, str]:
    """Create a personal access token; returns its row and the JWT (shown to the user once).

    ``allowed_scopes`` is what this account may grant: pass ``TokenScope.MODERATE`` in it only
    when the account holds a moderating role. Raises :class:`ValidationFailed` (nothing written)
    on a bad name, scopes or expiry, and :class:`Forbidden` for a deleted account."""
    if now.tzinfo is None:
        raise ValueError("Pass an aware datetime as now.")
    if account.deleted_at is not None:
        raise Forbidden("A deleted account cannot create tokens.")
    name, scope_list = _validate(
        name=name, scopes=scopes, expires_in=expires_in, allowed_scopes=allowed_scopes
    )
    issued = int(now.timestamp())
    expires = int((now + expires_in).timestamp())
    signing_key = await active_signing_key(session, keys)
    row = ApiToken(
        jti=uuid.uuid4(),
        account_id=account.id,
        name=name,
        scopes=scope_list,
        # Whole seconds, the same instant as the exp claim.
        expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
    )
    session.add(row)
    await session.flush()
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(account.id),
        "jti": str(row.jti),
        "scope": " ".join(scope_list),
        "iat": issued,
        "exp": expires,
    }
    token = jose.sign(
        claims, _private_pem(keys, signing_key), signing_key.kid, signing_key.algorithm
    )
    await audit.record(
        session,
        actor=account.id,
        action="api_token.created",
        subject_type="api_token",
        subject_id=row.id,
        scopes=scope_list,
        expires_at=row.expires_at.isoformat(),
        kid=signing_key.kid,
    )
    return row, token


_KEY_AND_TOKEN = (
    select(SigningKey.public_jwk, ApiToken, Account)
    .select_from(SigningKey)
    .outerjoin(ApiToken, ApiToken.jti == bindparam("jti"))
    .outerjoin(Account, Account.id == ApiToken.account_id)
    .where(SigningKey.kid == bindparam("kid"), SigningKey.retired_at.is_(None))
)


async def authenticate_bearer(
    session: AsyncSession, keys: Keys, token: str, *, now: dt.datetime
) -> tuple[Account, frozenset[str]]:
    """The account and scopes of a personal access token, or :class:`InvalidToken`.

    Checks our signature (ES256, an unretired key of ours), issuer, audience and expiry, then
    that the token's row exists, is not revoked or expired, and that its account is not deleted.
    Records ``last_used_at`` (at most once a minute) in the caller's session, which the caller
    commits. ``keys`` is not needed to verify (public keys are in the database); it is taken so
    the signature stays the same should verification ever need a secret.

    Scopes say what the token may be used for; they do not grant roles, so callers must still
    check the account's roles (a ``moderate`` token of someone no longer a moderator is not a
    moderator's token)."""
    del keys
    kid = jose.peek_header(token).get("kid")
    jti: uuid.UUID | None
    try:
        jti = uuid.UUID(str(jose.peek_claims(token).get("jti")))
    except (ValueError, InvalidToken):
        jti = None  # verify() or the check after it says what is wrong
    # One query for the key to verify with and the token's row: the token is looked up by its
    # unverified jti, but nothing found is used until the signature has been checked.
    found = (
        await session.execute(
            _KEY_AND_TOKEN, {"kid": kid if isinstance(kid, str) else "", "jti": jti}
        )
    ).one_or_none()
    trusted: dict[str, dict[str, Any]] = {}
    if found is not None and isinstance(kid, str):
        trusted[kid] = found.public_jwk
    try:
        claims = jose.verify(
            token,
            trusted,
            algorithms=(SIGNING_ALGORITHM,),
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=CLOCK_SKEW,
            now=now,
            require=("jti", "sub", "iat"),
        )
    except TokenExpired as exc:
        raise TokenExpired(EXPIRED_MESSAGE, reason=exc.reason) from None
    if jti is None:
        raise InvalidToken(reason="the jti claim is not a UUID")
    assert found is not None  # verify() found the key
    row, account = found.ApiToken, found.Account
    if row is None or account is None:
        raise InvalidToken(reason="no such token")
    if claims["sub"] != str(account.id):
        raise InvalidToken(reason="the sub claim does not match the token's account")
    if row.revoked_at is not None:
        raise InvalidToken(reason="revoked")
    if account.deleted_at is not None:
        raise InvalidToken(reason="the account is deleted")
    if now >= row.expires_at:
        raise TokenExpired(EXPIRED_MESSAGE, reason="the token's row has expired")

    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        await session.flush()
    return account, frozenset(row.scopes)


async def revoke_token(
    session: AsyncSession, account: Account, token_id: int, *, now: dt.datetime
) -> ApiToken:
    """Revoke one of ``account``'s own tokens. Someone else's token is :class:`NotFound` (as if it
    did not exist: we do not confirm other people's token ids). Revoking twice changes nothing."""
    row = await session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.account_id == account.id)
    )
    if row is None:
        raise NotFound("We could not find that token.")
    if row.revoked_at is None:
        row.revoked_at = now
        await session.flush()
        await audit.record(
            session,
            actor=account.id,
            action="api_token.revoked",
            subject_type="api_token",
            subject_id=row.id,
        )
    return row


async def list_tokens(session: AsyncSession, account: Account) -> list[ApiToken]:
    """All of ``account``'s tokens, newest first, revoked and expired ones included (the caller
    shows their state from ``revoked_at`` and ``expires_at``)."""
    rows = await session.scalars(
        select(ApiToken)
        .where(ApiToken.account_id == account.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(rows)
