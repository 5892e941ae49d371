"""The one place that touches python-jose: sign and verify JSON Web Tokens (JWS compact form).

Everything else in Moot goes through this module, so the JWT library can be swapped by rewriting
this file alone. The rules it enforces whatever the caller asks:

* ``none`` and the HMAC algorithms (``HS*``) are never accepted, for signing or verifying. Asking
  for them is a programming error (``ValueError``), not a bad token.
* The algorithm used to verify comes from *our* key record (the JWK's ``alg``), never from the
  token. The token's header ``alg`` must equal it, and it must be in the caller's allow-list, so
  an attacker cannot pick the algorithm (no ``alg: none``, no RS/HS key confusion).
* The key is looked up by the header's ``kid`` in the keys the caller passes; an unknown or
  missing ``kid`` is refused. Keys embedded in the token (``jwk``, ``jku``, ``x5c``...) are ignored.
* ``exp`` is required; ``iss`` and ``aud`` must match exactly (``aud`` may be a list holding ours).
* Every failure raises :class:`InvalidToken` (or its subclass :class:`TokenExpired`), whose
  message never says more than "not valid" / "expired"; the precise cause is in ``reason`` for
  logs and tests. No python-jose exception escapes.

Supported: ES256 (our own keys) and RS256 (what most OpenID Connect providers publish).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk as _jose_jwk
from jose import jws as _jose_jws

from server.errors import NotAuthenticated

ES256 = "ES256"
RS256 = "RS256"
# Asymmetric signature algorithms we verify; everything else is refused.
SUPPORTED_ALGORITHMS: frozenset[str] = frozenset({ES256, RS256})
# Longest token we even try to parse: ours are well under 1 KB, ID tokens a few KB.
MAX_TOKEN_LENGTH = 8192
MIN_RSA_BITS = 2048

_SEGMENT = re.compile(r"^[A-Za-z0-9_-]*$")
# The members that define a public key (RFC 7638 §3.2), in the order the thumbprint needs.
_PUBLIC_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}


class InvalidToken(NotAuthenticated):
    """A bearer token (ours or a provider's) that we do not accept.

    ``message`` is safe to show to the client; ``reason`` says exactly why, for logs and tests."""

    code = "INVALID_TOKEN"
    default_message = "This token is not valid (expired, revoked or malformed)."

    def __init__(self, message: str | None = None, *, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


class TokenExpired(InvalidToken):
    """A token that was valid but whose ``exp`` has passed: worth telling the client apart, so it
    can ask for a new one rather than report an attack."""

    code = "TOKEN_EXPIRED"
    default_message = "This token has expired."

    def __init__(self, message: str | None = None, *, reason: str = "expired") -> None:
        super().__init__(message, reason=reason)


@dataclass(frozen=True, slots=True)
class KeyPair:
    kid: str
    algorithm: str
    private_pem: bytes  # PKCS#8, unencrypted: encrypt it before storing it anywhere
    public_jwk: dict[str, Any]


# --- algorithms ------------------------------------------------------------------------------


def _forbidden(algorithm: object) -> bool:
    if not isinstance(algorithm, str):
        return True
    upper = algorithm.strip().upper()
    return upper in ("", "NONE") or upper.startswith("HS")


def _check_algorithm(algorithm: str) -> str:
    if _forbidden(algorithm):
        raise ValueError(f"The JWT algorithm {algorithm!r} is never allowed (no 'none', no HS*).")
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ValueError(
            f"Unsupported JWT algorithm {algorithm!r}; "
            f"use one of {', '.join(sorted(SUPPORTED_ALGORITHMS))}."
        )
    return algorithm


def _check_allow_list(algorithms: Collection[str]) -> frozenset[str]:
    if isinstance(algorithms, str):
        raise ValueError("Pass the allowed algorithms as a collection, e.g. ('ES256',).")
    allowed = frozenset(algorithms)
    if not allowed:
        raise ValueError("The algorithm allow-list must not be empty.")
    for algorithm in allowed:
        _check_algorithm(algorithm)
    return allowed


# --- keys ------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, math.ceil(value.bit_length() / 8))
    return _b64url(value.to_bytes(size, "big"))


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public EC or RSA JWK: a stable, unique ``kid``."""
    members = _PUBLIC_MEMBERS.get(str(jwk.get("kty")))
    if members is None:
        raise ValueError(f"Cannot take the thumbprint of a {jwk.get('kty')!r} key.")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def _public_jwk_of(public_key: object, algorithm: str) -> dict[str, Any]:
    jwk: dict[str, Any]
    if algorithm == ES256:
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, ec.SECP256R1
        ):
            raise ValueError("ES256 needs an EC P-256 key.")
        numbers = public_key.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url_uint(numbers.x, 32),
            "y": _b64url_uint(numbers.y, 32),
        }
    elif algorithm == RS256:
        if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size < MIN_RSA_BITS:
            raise ValueError(f"RS256 needs an RSA key of at least {MIN_RSA_BITS} bits.")
        rsa_numbers = public_key.public_numbers()
        jwk = {"kty": "RSA", "n": _b64url_uint(rsa_numbers.n), "e": _b64url_uint(rsa_numbers.e)}
    else:  # pragma: no cover - _check_algorithm refuses everything else first
        raise ValueError(f"Unsupported JWT algorithm {algorithm!r}.")
    return {**jwk, "kid": thumbprint(jwk), "alg": algorithm, "use": "sig"}


def _load_private_key(private_pem: bytes, algorithm: str) -> Any:
    try:
        key = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("The private key is not an unencrypted PEM key.") from exc
    if algorithm == ES256 and not (
        isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    ):
        raise ValueError("ES256 needs an EC P-256 private key.")
    if algorithm == RS256 and not (
        isinstance(key, rsa.RSAPrivateKey) and key.key_size >= MIN_RSA_BITS
    ):
        raise ValueError(f"RS256 needs an RSA private key of at least {MIN_RSA_BITS} bits.")
    return key


def public_jwk(private_pem: bytes, algorithm: str) -> dict[str, Any]:
    """The public JWK (with ``kid``, ``alg`` and ``use``) of a PEM private key."""
    _check_algorithm(algorithm)
    return _public_jwk_of(_load_private_key(private_pem, algorithm).public_key(), algorithm)


def generate_key_pair() -> KeyPair:
    """A fresh EC P-256 key for ES256. Its ``kid`` is the RFC 7638 thumbprint of the public key."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    private_pem = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    jwk = _public_jwk_of(private_key.public_key(), ES256)
    return KeyPair(kid=jwk["kid"], algorithm=ES256, private_pem=private_pem, public_jwk=jwk)


# --- signing ---------------------------------------------------------------------------------


def sign(claims: Mapping[str, Any], private_pem: bytes, kid: str, algorithm: str) -> str:
    """A compact JWS of ``claims``, with ``kid`` in its header. Errors are ``ValueError``s: they
    are our own mistakes, never the client's."""
    _check_algorithm(algorithm)
    if not kid:
        raise ValueError("A token must name its signing key (kid).")
    key = _load_private_key(private_pem, algorithm)
    try:
        payload = json.dumps(dict(claims), separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The claims cannot be encoded as JSON: {exc}") from exc
    try:
        token = _jose_jws.sign(
            payload, _jose_jwk.construct(key, algorithm), headers={"kid": kid}, algorithm=algorithm
        )
    except Exception as exc:  # python-jose raises several unrelated types
        raise ValueError(f"Could not sign the token: {exc}") from None
    return str(token)


# --- verifying -------------------------------------------------------------------------------


def _segments(token: object) -> list[str]:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken(reason="not a token of a sensible length")
    parts = token.split(".")
    # Exactly three non-empty base64url segments (the signature may not be empty either: that is
    # what an unsigned 'alg: none' token looks like). Five segments would be a JWE: refused.
    if len(parts) != 3 or not all(parts) or not all(_SEGMENT.match(p) for p in parts):
        raise InvalidToken(reason="not a compact JWS (three base64url segments)")
    return parts


def _b64_json(segment: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidToken(reason=f"the {what} is not base64url-encoded JSON") from None
    if not isinstance(data, dict):
        raise InvalidToken(reason=f"the {what} is not a JSON object")
    return data


def peek_header(token: str) -> dict[str, Any]:
    """The token's header, NOT verified: only for choosing which key to verify it with."""
    header = _b64_json(_segments(token)[0], "header")
    if "crit" in header:  # RFC 7515 §4.1.11: we understand no extensions, so must refuse
        raise InvalidToken(reason="the header has critical extensions")
    return header


@functools.lru_cache(maxsize=64)
def _constructed(algorithm: str, public: tuple[tuple[str, str], ...]) -> Any:
    """Reading a public key costs more than checking a signature with it, and every API request
    with a token needs one of our few keys: each is read once. Failures are not cached."""
    return _jose_jwk.construct(dict(public), algorithm)


def peek_claims(token: str) -> dict[str, Any]:
    """The token's claims, NOT verified: only for looking up the rows needed to verify it and
    check it in one query. Nothing may be trusted before :func:`verify` has passed."""
    return _b64_json(_segments(token)[1], "payload")


def _verification_key(jwk: Mapping[str, Any], algorithm: str) -> Any:
    """A python-jose key holding only the public members of ``jwk``, checked against the
    algorithm our record says it is for."""
    if jwk.get("use", "sig") != "sig":
        raise InvalidToken(reason="the key is not a signing key")
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        raise InvalidToken(reason="the key may not be used to verify")
    kty = {ES256: "EC", RS256: "RSA"}[algorithm]
    if jwk.get("kty") != kty:
        raise InvalidToken(reason=f"{algorithm} needs a {kty} key")
    if algorithm == ES256 and jwk.get("crv") != "P-256":
        raise InvalidToken(reason="ES256 needs a P-256 key")
    try:
        public = {m: jwk[m] for m in _PUBLIC_MEMBERS[kty]}
        if not all(isinstance(v, str) for v in public.values()):
            raise InvalidToken(reason="the key's members are not strings")
        key = _constructed(algorithm, tuple(sorted(public.items())))
    except InvalidToken:
        raise
    except Exception:  # python-jose raises several unrelated types for bad keys
        raise InvalidToken(reason="the key cannot be read") from None
    if algorithm == RS256 and getattr(key.prepared_key, "key_size", 0) < MIN_RSA_BITS:
        raise InvalidToken(reason=f"RSA keys must have at least {MIN_RSA_BITS} bits")
    return key


@functools.lru_cache(maxsize=4096)
def _checked_payload(token: str, jwk: str, algorithm: str) -> bytes:
    """The payload of ``token`` once its signature is checked with ``jwk`` (as JSON). A client
    sends the same token with every request: each distinct token and key is checked once per
    process (an exact match of both, so a retired or changed key is never skipped); a bad
    signature is not cached and fails every time."""
    key = _verification_key(json.loads(jwk), algorithm)
    try:
        return bytes(_jose_jws.verify(token, key, algorithms=[algorithm], verify=True))
    except Exception:  # JWSError, JWKError and friends: never let them escape
        raise InvalidToken(reason="bad signature") from None


def _numeric(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(reason=f"the {name} claim is not a number")
    try:
        number = float(value)
    except OverflowError:  # a huge integer
        raise InvalidToken(reason=f"the {name} claim is out of range") from None
    if not math.isfinite(number):
        raise InvalidToken(reason=f"the {name} claim is out of range")
    return number


def _check_claims(
    claims: Mapping[str, Any],
    *,
    audience: str,
    issuer: str,
    now: dt.datetime,
    leeway: float,
    require: Collection[str],
) -> None:
    for name in ("exp", *require):
        if name not in claims:
            raise InvalidToken(reason=f"the {name} claim is missing")
    at = now.timestamp()
    # RFC 7519 §4.1.4: valid only *before* exp.
    exp = _numeric(claims, "exp")
    if exp is None:
        raise InvalidToken(reason="the exp claim is missing")
    if at >= exp + leeway:
        # Checked first so that a genuine but stale token always reads "expired".
        raise TokenExpired(reason="the exp claim has passed")
    nbf = _numeric(claims, "nbf")
    if nbf is not None and at + leeway < nbf:
        raise InvalidToken(reason="the token is not valid yet (nbf)")
    iat = _numeric(claims, "iat")
    if iat is not None and at + leeway < iat:
        raise InvalidToken(reason="the token was issued in the future (iat)")
    if claims.get("iss") != issuer:
        raise InvalidToken(reason="wrong issuer")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences or not all(isinstance(a, str) for a in audiences):
        raise InvalidToken(reason="wrong audience")


def verify(
    token: str,
    keys: Mapping[str, Mapping[str, Any]],
    *,
    algorithms: Collection[str],
    audience: str,
    issuer: str,
    leeway: dt.timedelta | float = 0,
    now: dt.datetime | None = None,
    require: Collection[str] = (),
) -> dict[str, Any]:
    """Verify ``token`` and return its claims.

    ``keys`` maps each ``kid`` we trust to its public JWK, whose ``alg`` decides how the token
    is verified. ``algorithms`` is the caller's allow-list (``ValueError`` if it holds ``none``,
    an ``HS*`` algorithm or anything unsupported). ``leeway`` allows for clock skew on ``exp``,
    ``nbf`` and ``iat``; ``now`` defaults to the current time; ``require`` names claims that must
    be present besides ``exp``. Raises :class:`InvalidToken` or :class:`TokenExpired`."""
    allowed = _check_allow_list(algorithms)
    seconds = leeway.total_seconds() if isinstance(leeway, dt.timedelta) else float(leeway)
    if seconds < 0:
        raise ValueError("The leeway cannot be negative.")
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("Pass an aware datetime as now.")

    header = peek_header(token)
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken(reason="the header names no key (kid)")
    jwk = keys.get(kid)
    if jwk is None:
        raise InvalidToken(reason="unknown key (kid)")
    algorithm = jwk.get("alg")
    if not isinstance(algorithm, str) or _forbidden(algorithm) or algorithm not in allowed:
        raise InvalidToken(reason="the key's algorithm is not allowed here")
    if header.get("alg") != algorithm:
        raise InvalidToken(reason="the header's alg does not match the key's")
    payload = _checked_payload(token, json.dumps(jwk, sort_keys=True), algorithm)
    try:
        claims = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidToken(reason="the payload is not JSON") from None
    if not isinstance(claims, dict):
        raise InvalidToken(reason="the payload is not a JSON object")
    _check_claims(
        claims, audience=audience, issuer=issuer, now=now, leeway=seconds, require=require
    )
    return cast(dict[str, Any], claims)
