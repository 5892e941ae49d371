"""Signing keys and personal access tokens, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEntry
from server.db import Database, create_engine
from server.errors import Forbidden, NotFound, ValidationFailed
from server.identity import jose, tokens
from server.identity.jose import InvalidToken, TokenExpired
from server.identity.keys import Keys
from server.identity.models import Account, ApiToken, SigningKey, TokenScope
from tests.identity.factories_tokens import (
    KEYS,
    b64url,
    hmac_signed,
    make_account,
    now,
    segments,
    unsigned,
)

DAY = dt.timedelta(days=1)
NOT_VALID = "This token is not valid (expired, revoked or malformed)."


async def _count(session: AsyncSession, model: type) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def _token(
    session: AsyncSession,
    account: Account,
    *,
    at: dt.datetime | None = None,
    scopes: list[str] | None = None,
    expires_in: dt.timedelta = 30 * DAY,
) -> tuple[ApiToken, str]:
    return await tokens.create_token(
        session,
        KEYS,
        account,
        name="My script",
        scopes=scopes or ["read"],
        expires_in=expires_in,
        now=at or now(),
    )


async def _sign_with_active_key(session: AsyncSession, claims: dict[str, Any]) -> str:
    key = await tokens.active_signing_key(session, KEYS)
    return jose.sign(claims, tokens._private_pem(KEYS, key), key.kid, key.algorithm)


async def _claims_for(session: AsyncSession, account: Account, **changes: Any) -> dict[str, Any]:
    """Valid claims for a real token row of ``account``, then ``changes``."""
    _, token = await _token(session, account)
    _, claims, _ = segments(token)
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def _refused(session: AsyncSession, token: str, at: dt.datetime | None = None) -> str:
    """Assert the token is refused as not valid (not as expired); return the logged reason."""
    with pytest.raises(InvalidToken) as refused:
        await tokens.authenticate_bearer(session, KEYS, token, now=at or now())
    assert type(refused.value) is InvalidToken
    assert refused.value.code == "INVALID_TOKEN" and refused.value.status_code == 401
    assert refused.value.message == NOT_VALID
    return refused.value.reason


# --- round trip --------------------------------------------------------------------------------


async def test_create_then_authenticate(session: AsyncSession) -> None:
    account = await make_account(session)
    row, token = await _token(session, account, scopes=["participate", "read"])
    assert row.account_id == account.id and row.name == "My script"
    assert row.scopes == ["read", "participate"]
    assert row.revoked_at is None and row.last_used_at is None

    found, scopes = await tokens.authenticate_bearer(session, KEYS, token, now=now())
    assert found.id == account.id
    assert scopes == frozenset({"read", "participate"})
    assert row.last_used_at is not None


async def test_token_claims_and_header(session: AsyncSession) -> None:
    account = await make_account(session)
    at = now()
    row, token = await _token(session, account, at=at, expires_in=7 * DAY)
    header, claims, _ = segments(token)
    key = await tokens.active_signing_key(session, KEYS)
    assert header == {"alg": "ES256", "kid": key.kid, "typ": "JWT"}
    assert claims == {
        "iss": "moot",
        "aud": "moot-api",
        "sub": str(account.id),
        "jti": str(row.jti),
        "scope": "read",
        "iat": int(at.timestamp()),
        "exp": int((at + 7 * DAY).timestamp()),
    }
    assert row.expires_at == dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
    # The JWT is never stored.
    stored = await session.get(ApiToken, row.id)
    assert stored is not None and token not in str(vars(stored))


async def test_creation_is_audited_without_personal_data(session: AsyncSession) -> None:
    account = await make_account(session)
    row, _ = await _token(session, account)
    entry = await session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "api_token.created", AuditEntry.subject_id == row.id
        )
    )
    assert entry is not None and entry.actor_account_id == account.id
    assert entry.subject_type == "api_token"
    assert entry.details["scopes"] == ["read"]
    assert "My script" not in str(entry.details)


async def test_moderate_scope_only_when_the_caller_allows_it(session: AsyncSession) -> None:
    account = await make_account(session)
    with pytest.raises(ValidationFailed) as refused:
        await _token(session, account, scopes=["moderate"])
    assert "moderate" in refused.value.errors["scopes"]

    _, token = await tokens.create_token(
        session,
        KEYS,
        account,
        name="Moderation bot",
        scopes=[TokenScope.MODERATE, TokenScope.READ],
        expires_in=DAY,
        now=now(),
        allowed_scopes=set(TokenScope),
    )
    _, scopes = await tokens.authenticate_bearer(session, KEYS, token, now=now())
    assert scopes == {"read", "moderate"}
    assert segments(token)[1]["scope"] == "read moderate"


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Give the token a name"),
        ({"name": "   "}, "name", "Give the token a name"),
        ({"name": "x" * 101}, "name", "100 characters"),
        ({"name": "line\nbreak"}, "name", "punctuation"),
        ({"scopes": []}, "scopes", "at least one scope"),
        ({"scopes": ["read", "admin"]}, "scopes", "Unknown scope: admin"),
        ({"scopes": ["moderate"]}, "scopes", "cannot grant the moderate scope"),
        ({"expires_in": DAY - dt.timedelta(seconds=1)}, "expires_in", "between 1 day and 1 year"),
        ({"expires_in": 366 * DAY}, "expires_in", "between 1 day and 1 year"),
        ({"expires_in": -DAY}, "expires_in", "between 1 day and 1 year"),
    ],
)
async def test_bad_input_writes_nothing(
    session: AsyncSession, changes: dict[str, Any], field: str, message: str
) -> None:
    account = await make_account(session)
    before = [await _count(session, m) for m in (ApiToken, SigningKey, AuditEntry)]
    arguments: dict[str, Any] = {
        "name": "A token",
        "scopes": ["read"],
        "expires_in": 30 * DAY,
        "now": now(),
    }
    arguments.update(changes)
    with pytest.raises(ValidationFailed) as refused:
        await tokens.create_token(session, KEYS, account, **arguments)
    assert list(refused.value.errors) == [field]
    assert message in refused.value.errors[field]
    assert refused.value.code == "INVALID_INPUT"
    assert [await _count(session, m) for m in (ApiToken, SigningKey, AuditEntry)] == before


async def test_every_bad_field_is_reported_at_once(session: AsyncSession) -> None:
    account = await make_account(session)
    with pytest.raises(ValidationFailed) as refused:
        await tokens.create_token(
            session, KEYS, account, name="", scopes=[], expires_in=dt.timedelta(0), now=now()
        )
    assert set(refused.value.errors) == {"name", "scopes", "expires_in"}


async def test_limits_are_inclusive(session: AsyncSession) -> None:
    account = await make_account(session)
    for expires_in in (DAY, 365 * DAY):
        row, _ = await tokens.create_token(
            session,
            KEYS,
            account,
            name="x" * 100,
            scopes=["read"],
            expires_in=expires_in,
            now=now(),
        )
        assert len(row.name) == 100


async def test_a_deleted_account_cannot_create_tokens(session: AsyncSession) -> None:
    account = await make_account(session)
    account.deleted_at = now()
    await session.flush()
    with pytest.raises(Forbidden):
        await _token(session, account)
    assert await _count(session, ApiToken) == 0


# --- refusals ----------------------------------------------------------------------------------


async def test_alg_none_is_refused(session: AsyncSession) -> None:
    account = await make_account(session)
    claims = await _claims_for(session, account)
    key = await tokens.active_signing_key(session, KEYS)
    for alg in ("none", "None", "NONE"):
        token = unsigned({"alg": alg, "kid": key.kid, "typ": "JWT"}, claims)
        await _refused(session, token)
        # With a non-empty "signature" too.
        await _refused(session, token + b64url(b"sig"))


async def test_hs256_signed_with_our_public_key_is_refused(session: AsyncSession) -> None:
    """The classic key-confusion attack: HMAC the token with our (public) verification key."""
    account = await make_account(session)
    claims = await _claims_for(session, account)
    key = await tokens.active_signing_key(session, KEYS)
    jwks = await tokens.jwks(session)
    published = next(k for k in jwks["keys"] if k["kid"] == key.kid)
    public_pem = (
        serialization.load_pem_private_key(tokens._private_pem(KEYS, key), password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    secrets = [
        public_pem,
        json.dumps(published).encode(),
        json.dumps(published, separators=(",", ":"), sort_keys=True).encode(),
        json.dumps(jwks).encode(),
    ]
    for secret in secrets:
        for alg in ("HS256", "HS384", "HS512"):
            token = hmac_signed({"alg": alg, "kid": key.kid, "typ": "JWT"}, claims, secret)
            assert await _refused(session, token) == "the header's alg does not match the key's"


async def test_expired_token_is_refused_with_the_expiry_message(session: AsyncSession) -> None:
    account = await make_account(session)
    issued = now() - 3 * DAY
    _, token = await _token(session, account, at=issued, expires_in=DAY)
    with pytest.raises(TokenExpired) as refused:
        await tokens.authenticate_bearer(session, KEYS, token, now=now())
    assert refused.value.code == "TOKEN_EXPIRED" and refused.value.status_code == 401
    assert refused.value.message == (
        "This token has expired. Create a new one in your account settings."
    )
    assert isinstance(refused.value, InvalidToken)


async def test_expiry_is_exact_even_within_the_clock_skew(session: AsyncSession) -> None:
    """The claim check tolerates a minute of skew; the row's expiry does not."""
    account = await make_account(session)
    at = now()
    row, token = await _token(session, account, at=at, expires_in=DAY)
    await tokens.authenticate_bearer(
        session, KEYS, token, now=row.expires_at - dt.timedelta(seconds=1)
    )
    with pytest.raises(TokenExpired):
        await tokens.authenticate_bearer(
            session, KEYS, token, now=row.expires_at + dt.timedelta(seconds=1)
        )


async def test_revoked_token_is_refused(session: AsyncSession) -> None:
    account = await make_account(session)
    row, token = await _token(session, account)
    await tokens.authenticate_bearer(session, KEYS, token, now=now())
    revoked = await tokens.revoke_token(session, account, row.id, now=now())
    assert revoked.revoked_at is not None
    assert await _refused(session, token) == "revoked"


async def test_a_deleted_accounts_token_is_refused(session: AsyncSession) -> None:
    account = await make_account(session)
    _, token = await _token(session, account)
    account.deleted_at = now()
    account.email = None
    await session.flush()
    assert await _refused(session, token) == "the account is deleted"


async def test_unknown_kid_is_refused(session: AsyncSession) -> None:
    account = await make_account(session)
    claims = await _claims_for(session, account)
    stranger = jose.generate_key_pair()
    token = jose.sign(claims, stranger.private_pem, stranger.kid, "ES256")
    assert await _refused(session, token) == "unknown key (kid)"


async def test_a_stranger_key_under_our_kid_is_refused(session: AsyncSession) -> None:
    account = await make_account(session)
    claims = await _claims_for(session, account)
    key = await tokens.active_signing_key(session, KEYS)
    stranger = jose.generate_key_pair()
    token = jose.sign(claims, stranger.private_pem, key.kid, "ES256")
    assert await _refused(session, token) == "bad signature"


async def test_tampered_payload_is_refused(session: AsyncSession) -> None:
    account = await make_account(session)
    other = await make_account(session)
    _, token = await _token(session, account)
    header, _, signature = token.split(".")
    _, claims, _ = segments(token)
    for changes in ({"sub": str(other.id)}, {"scope": "read participate moderate"}):
        forged = b64url({**claims, **changes})
        assert await _refused(session, f"{header}.{forged}.{signature}") == "bad signature"


async def test_wrong_audience_is_refused(session: AsyncSession) -> None:
    account = await make_account(session)
    for aud in ("moot-web", ["other"], None):
        token = await _sign_with_active_key(session, await _claims_for(session, account, aud=aud))
        assert await _refused(session, token) == "wrong audience"


async def test_wrong_issuer_is_refused(session: AsyncSession) -> None:
    account = await make_account(session)
    for iss in ("https://accounts.example", "Moot", None):
        token = await _sign_with_active_key(session, await _claims_for(session, account, iss=iss))
        assert await _refused(session, token) == "wrong issuer"


async def test_a_correctly_signed_token_without_a_row_is_refused(session: AsyncSession) -> None:
    account = await make_account(session)
    for changes in ({"jti": str(uuid.uuid4())}, {"jti": "not-a-uuid"}, {"jti": None}):
        token = await _sign_with_active_key(session, await _claims_for(session, account, **changes))
        await _refused(session, token)


async def test_sub_must_match_the_rows_account(session: AsyncSession) -> None:
    account = await make_account(session)
    other = await make_account(session)
    token = await _sign_with_active_key(
        session, await _claims_for(session, account, sub=str(other.id))
    )
    assert await _refused(session, token) == "the sub claim does not match the token's account"


@pytest.mark.parametrize(
    "token", ["", "Bearer x", "a.b.c", "a.b.c.d.e", "x" * 20_000, "e30.e30.e30", "..."]
)
async def test_garbage_is_refused(session: AsyncSession, token: str) -> None:
    await _refused(session, token)


# --- signing keys ------------------------------------------------------------------------------


async def test_one_active_key_is_created_then_reused(session: AsyncSession) -> None:
    assert await tokens.jwks(session) == {"keys": []}
    first = await tokens.active_signing_key(session, KEYS)
    again = await tokens.active_signing_key(session, KEYS)
    assert first.id == again.id and first.algorithm == "ES256"
    assert await _count(session, SigningKey) == 1
    published = (await tokens.jwks(session))["keys"]
    assert published == [first.public_jwk]
    assert set(published[0]) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert published[0]["use"] == "sig" and published[0]["kid"] == first.kid


async def test_private_key_is_not_stored_in_plaintext(session: AsyncSession) -> None:
    key = await tokens.active_signing_key(session, KEYS)
    stored = await session.scalar(
        select(SigningKey.private_key)
        .where(SigningKey.id == key.id)
        .execution_options(populate_existing=True)
    )
    assert stored is not None
    assert b"BEGIN" not in stored and b"PRIVATE" not in stored
    pem = tokens._private_pem(KEYS, key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert pem not in stored
    # Another secret cannot read it.
    other = Keys(secret=b"another-secret", identity_pepper=KEYS.identity_pepper)
    assert not tokens._can_sign(other, key)


async def test_rotation_keeps_old_tokens_and_signs_with_the_new_key(
    session: AsyncSession,
) -> None:
    account = await make_account(session)
    _, old_token = await _token(session, account)
    old = await tokens.active_signing_key(session, KEYS)

    new = await tokens.rotate_signing_key(session, KEYS, actor=account.id)
    assert new.kid != old.kid
    assert (await tokens.active_signing_key(session, KEYS)).id == new.id

    _, new_token = await _token(session, account)
    assert jose.peek_header(new_token)["kid"] == new.kid
    assert jose.peek_header(old_token)["kid"] == old.kid
    for token in (old_token, new_token):
        found, _ = await tokens.authenticate_bearer(session, KEYS, token, now=now())
        assert found.id == account.id
    assert [k["kid"] for k in (await tokens.jwks(session))["keys"]] == [old.kid, new.kid]
    audited = await session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "signing_key.created", AuditEntry.subject_id == new.id
        )
    )
    assert audited is not None and audited.actor_account_id == account.id
    assert audited.details["reason"] == "rotation"


async def test_retiring_a_key_refuses_its_tokens_and_unpublishes_it(
    session: AsyncSession,
) -> None:
    account = await make_account(session)
    _, old_token = await _token(session, account)
    old = await tokens.active_signing_key(session, KEYS)
    new = await tokens.rotate_signing_key(session, KEYS, actor=None)
    _, new_token = await _token(session, account)

    retired = await tokens.retire_signing_key(session, old.kid, actor=account.id)
    assert retired.retired_at is not None
    assert [k["kid"] for k in (await tokens.jwks(session))["keys"]] == [new.kid]
    assert await _refused(session, old_token) == "unknown key (kid)"
    found, _ = await tokens.authenticate_bearer(session, KEYS, new_token, now=now())
    assert found.id == account.id

    # Retiring again changes nothing and is not audited twice.
    await tokens.retire_signing_key(session, old.kid, actor=account.id)
    audited = await _count_audit(session, "signing_key.retired", old.id)
    assert audited == 1
    with pytest.raises(NotFound):
        await tokens.retire_signing_key(session, "no-such-kid", actor=None)


async def test_retiring_the_signer_makes_a_new_one(session: AsyncSession) -> None:
    account = await make_account(session)
    key = await tokens.active_signing_key(session, KEYS)
    await tokens.retire_signing_key(session, key.kid, actor=None)
    _, token = await _token(session, account)
    assert jose.peek_header(token)["kid"] != key.kid
    await tokens.authenticate_bearer(session, KEYS, token, now=now())


async def test_a_changed_secret_gets_a_new_signer_and_old_tokens_still_verify(
    session: AsyncSession,
) -> None:
    account = await make_account(session)
    _, old_token = await _token(session, account)
    old = await tokens.active_signing_key(session, KEYS)
    rotated = Keys(secret=b"the-new-secret", identity_pepper=KEYS.identity_pepper)
    new = await tokens.active_signing_key(session, rotated)
    assert new.kid != old.kid
    assert (await tokens.active_signing_key(session, rotated)).id == new.id
    await tokens.authenticate_bearer(session, rotated, old_token, now=now())


async def test_concurrent_first_use_makes_one_key(
    fresh_database: Callable[[], Awaitable[str]],
) -> None:
    """Two app processes signing their first token at once agree on a single key."""
    database = Database(create_engine(await fresh_database(), pool_size=4))
    try:

        async def first_key() -> str:
            async with database.session() as s, s.begin():
                key = await tokens.active_signing_key(s, KEYS)
                await asyncio.sleep(0.05)  # hold the transaction open while the other waits
                return key.kid

        kids = await asyncio.gather(*(first_key() for _ in range(4)))
        assert len(set(kids)) == 1
        async with database.session() as s:
            assert await _count(s, SigningKey) == 1
    finally:
        await database.dispose()


async def _count_audit(session: AsyncSession, action: str, subject_id: int) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.subject_id == subject_id)
        )
        or 0
    )


# --- revoking, listing, last use ---------------------------------------------------------------


async def test_only_the_owner_can_revoke(session: AsyncSession) -> None:
    owner = await make_account(session)
    other = await make_account(session)
    row, token = await _token(session, owner)
    with pytest.raises(NotFound):
        await tokens.revoke_token(session, other, row.id, now=now())
    with pytest.raises(NotFound):
        await tokens.revoke_token(session, owner, row.id + 10_000, now=now())
    await tokens.authenticate_bearer(session, KEYS, token, now=now())

    await tokens.revoke_token(session, owner, row.id, now=now())
    await tokens.revoke_token(session, owner, row.id, now=now())  # idempotent
    assert await _count_audit(session, "api_token.revoked", row.id) == 1
    entry = await session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "api_token.revoked", AuditEntry.subject_id == row.id
        )
    )
    assert entry is not None and entry.actor_account_id == owner.id


async def test_list_tokens_shows_only_mine_newest_first(session: AsyncSession) -> None:
    me = await make_account(session)
    other = await make_account(session)
    first, _ = await _token(session, me)
    second, _ = await _token(session, me)
    await _token(session, other)
    await tokens.revoke_token(session, me, first.id, now=now())
    listed = await tokens.list_tokens(session, me)
    assert [t.id for t in listed] == [second.id, first.id]
    assert listed[1].revoked_at is not None
    assert await tokens.list_tokens(session, await make_account(session)) == []


async def test_last_used_is_written_at_most_once_a_minute(session: AsyncSession) -> None:
    account = await make_account(session)
    at = now()
    row, token = await _token(session, account, at=at)
    await tokens.authenticate_bearer(session, KEYS, token, now=at)
    assert row.last_used_at == at
    await tokens.authenticate_bearer(session, KEYS, token, now=at + dt.timedelta(seconds=59))
    assert row.last_used_at == at
    later = at + dt.timedelta(seconds=61)
    await tokens.authenticate_bearer(session, KEYS, token, now=later)
    assert row.last_used_at == later
    stored = await session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == row.id))
    assert stored == later
