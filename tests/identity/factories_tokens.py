"""Private helpers for the token tests: bare accounts and hand-built (forged) JWTs.

The proper account factory lives elsewhere; these build the minimum the token code needs."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.identity.keys import Keys
from server.identity.models import Account, AccountKind

KEYS = Keys(secret=b"test-secret-key-for-tokens", identity_pepper=b"test-pepper")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def make_account(session: AsyncSession) -> Account:
    account = Account(kind=AccountKind.FULL, email=f"token-{uuid.uuid4().hex[:12]}@example.test")
    session.add(account)
    await session.flush()
    return account


def b64url(data: bytes | str | dict[str, Any]) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, separators=(",", ":"))
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """An ``alg: none`` style token: header and payload, and an empty signature."""
    return f"{b64url(header)}.{b64url(claims)}."


def hmac_signed(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """A token MACed with ``secret`` by hand (the HS256 key-confusion attack)."""
    signing_input = f"{b64url(header)}.{b64url(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"
