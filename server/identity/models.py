"""Accounts, the real people behind them, their verifications, sessions, roles and tokens.

A *person* is one verified human. An account gains a person the first time it is verified;
every verification of that account then points at the same person. Votes and endorsements key on
the person, never on an account or persona, so "one verified person, one vote" is a unique
constraint on (thing, person_id). When an account is deleted its person row stays (it holds no
personal data), so verifying again with the same identity finds the same person.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, CITEXT, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, CreatedAt


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class Person(CreatedAt, Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The stable, non-identifying key ballots are cast under (see the voting domain).
    voter_key: Mapped[uuid.UUID] = mapped_column(
        unique=True, server_default=text("gen_random_uuid()")
    )


class AccountKind(enum.StrEnum):
    FULL = "full"  # email (+ password or sign-in links)
    LIGHT = "light"  # verified at a venue or by a code, no email: micro-participation


class Account(CreatedAt, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "kind = 'light' OR deleted_at IS NOT NULL OR email IS NOT NULL",
            name="full_account_has_email",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AccountKind] = mapped_column(_enum(AccountKind, "account_kind"))
    email: Mapped[str | None] = mapped_column(CITEXT, unique=True)
    email_verified_at: Mapped[dt.datetime | None]
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # One account per real person: a person belongs to at most one live account.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), unique=True)
    # A light account is scoped to the call it was made for.
    light_call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    deleted_at: Mapped[dt.datetime | None]


class Session(CreatedAt, Base):
    """A browser sign-in. The cookie holds a random token; we keep only its SHA-256."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index(
            "ix_sessions_account_id_live", "account_id", postgresql_where=text("revoked_at IS NULL")
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    expires_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[dt.datetime | None]


class SignInLink(CreatedAt, Base):
    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class OutboxMessage(CreatedAt, Base):
    """Mail waiting to be sent, or kept for `moot outbox` when no SMTP server is configured."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None]


class ThrottleHit(Base):
    """Counters for rate limits, in PostgreSQL so that every app process shares them."""

    __tablename__ = "throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)


class Role(enum.StrEnum):
    MODERATOR = "moderator"
    COUNCILLOR = "councillor"
    ORGANISER = "organiser"
    ADMIN = "admin"


class RoleGrant(CreatedAt, Base):
    """A role beyond 'resident' (which everyone has), platform-wide or for a region/organiser."""

    __tablename__ = "role_grants"
    __table_args__ = (
        CheckConstraint(
            "NOT (region_id IS NOT NULL AND organiser_id IS NOT NULL)", name="one_scope"
        ),
        Index(
            "uq_role_grants_scope",
            "account_id",
            "role",
            text("coalesce(region_id, 0)"),
            text("coalesce(organiser_id, 0)"),
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"))
    organiser_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisers.id", ondelete="CASCADE")
    )
    granted_by: Mapped[int | None]


class Verification(CreatedAt, Base):
    """Which method verified which claims for which person, when, and until when.

    ``identity_key`` is a keyed hash (HMAC) of the real-world identity the method saw (the OIDC
    issuer and subject, the register row, the one-time code): never the raw value. It is unique,
    so one real-world identity verifies at most one person."""

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    method: Mapped[str] = mapped_column(String(40))
    identity_key: Mapped[str] = mapped_column(String(64), unique=True)
    claims: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    verified_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class VerificationConflict(CreatedAt, Base):
    """A second account presented an identity that already verifies someone: kept for a
    moderator, who may transfer the verification (and its person) to the new account."""

    __tablename__ = "verification_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_key: Mapped[str] = mapped_column(String(64), index=True)
    method: Mapped[str] = mapped_column(String(40))
    claims: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    claimant_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[int | None]
    resolution: Mapped[str | None] = mapped_column(String(20))


class Register(CreatedAt, Base):
    """An electoral or council register uploaded by an admin, kept only as keyed hashes."""

    __tablename__ = "registers"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[int | None]
    row_count: Mapped[int] = mapped_column(default=0)


class RegisterEntry(Base):
    __tablename__ = "register_entries"
    __table_args__ = (
        UniqueConstraint("register_id", "match_key"),
        Index("ix_register_entries_reference_key", "register_id", "reference_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id", ondelete="CASCADE"))
    # HMAC of normalised name + date of birth + postcode; and of the council reference, if any.
    match_key: Mapped[str] = mapped_column(String(64))
    reference_key: Mapped[str | None] = mapped_column(String(64))
    # Coarse, non-identifying claims computed at upload (postcode area, birth year).
    claims: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class VerificationCode(CreatedAt, Base):
    """A single-use code printed on a letter or handed out at a venue."""

    __tablename__ = "verification_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    claims: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    batch: Mapped[str] = mapped_column(String(80), default="")
    issued_by: Mapped[int | None]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class OidcLogin(CreatedAt, Base):
    """An OpenID Connect sign-in in flight: state and nonce are single-use (replay defence)."""

    __tablename__ = "oidc_logins"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    provider: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    used_at: Mapped[dt.datetime | None]


class SigningKey(CreatedAt, Base):
    """Our own JWT signing keys. The private key is encrypted with a key derived from SECRET_KEY;
    the newest active key signs, every unretired key verifies and is published as JWKS."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(10))
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    retired_at: Mapped[dt.datetime | None]


class TokenScope(enum.StrEnum):
    READ = "read"
    PARTICIPATE = "participate"
    MODERATE = "moderate"


class ApiToken(CreatedAt, Base):
    """A personal access token (a JWT we signed); revocable because each carries its jti."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[uuid.UUID] = mapped_column(unique=True, server_default=text("gen_random_uuid()"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
