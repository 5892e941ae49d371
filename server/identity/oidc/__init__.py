"""OpenID Connect: sign in and verify identities with an outside provider (the ``oidc``
verification method).

The authorization code flow with PKCE, for each provider configured in ``OIDC_PROVIDERS``:

1. :func:`start_login` stores an :class:`OidcLogin` with a random ``state`` and ``nonce`` (and
   the account that started it, if any) and returns the provider's authorization URL. The PKCE
   verifier is not stored: it is derived from the state under our secret (:func:`pkce_verifier`).
2. :func:`complete_login` takes the state back, single-use and within ten minutes, exchanges the
   code at the provider's token endpoint and verifies the ID token (signature with a key from the
   provider's JWKS, algorithm from our allow-list, issuer, audience, ``azp``, ``exp``, ``iat`` and
   the nonce). Then it verifies the signed-in account, or signs someone in: by the identity, by
   the provider's verified email, or by creating an account for that email.

Discovery documents and key sets are cached per :class:`Registry` (one per app, so per process)
and refreshed after a TTL; a token signed with an unknown ``kid`` makes the key set be fetched
again at once (key rotation), but never more often than every ``jwks_min_interval`` seconds, so
a flood of made-up ``kid``\\s cannot hammer the provider.

Nothing personal reaches the audit log: only provider names, account ids and reasons.

The parts: :mod:`.config` (``OIDC_PROVIDERS``), :mod:`.discovery` (discovery documents and key
sets, checked), :mod:`.registry` (the providers and their caches, and the HTTP calls),
:mod:`.claims` (provider claims to Moot claims), :mod:`.flow` (start and finish a login) and
:mod:`.errors`. Everything callers use is importable from ``server.identity.oidc``.
"""

from server.identity.oidc.claims import map_claims, verified_email
from server.identity.oidc.config import (
    AUTH_BASIC,
    AUTH_POST,
    CLAIM_KINDS,
    DEFAULT_CLAIMS,
    LOOPBACK_HOSTS,
    NEVER_MAPPED,
    TOKEN_AUTH_METHODS,
    Provider,
    check_url,
    parse_providers,
)
from server.identity.oidc.discovery import ALLOWED_ALGORITHMS, MAX_KEYS, Metadata
from server.identity.oidc.errors import OidcConfigError, OidcError, ProviderUnavailable
from server.identity.oidc.flow import (
    LOGIN_LIFETIME,
    METHOD,
    Completed,
    Refused,
    cancel_login,
    complete_login,
    pkce_challenge,
    pkce_verifier,
    start_login,
)
from server.identity.oidc.registry import (
    CLOCK_SKEW,
    DISCOVERY_TTL,
    HTTP_TIMEOUT,
    JWKS_MIN_INTERVAL,
    JWKS_TTL,
    MAX_ID_TOKEN_AGE,
    MAX_RESPONSE_BYTES,
    Registry,
)

__all__ = [
    "ALLOWED_ALGORITHMS",
    "AUTH_BASIC",
    "AUTH_POST",
    "CLAIM_KINDS",
    "CLOCK_SKEW",
    "DEFAULT_CLAIMS",
    "DISCOVERY_TTL",
    "HTTP_TIMEOUT",
    "JWKS_MIN_INTERVAL",
    "JWKS_TTL",
    "LOGIN_LIFETIME",
    "LOOPBACK_HOSTS",
    "MAX_ID_TOKEN_AGE",
    "MAX_KEYS",
    "MAX_RESPONSE_BYTES",
    "METHOD",
    "NEVER_MAPPED",
    "TOKEN_AUTH_METHODS",
    "Completed",
    "Metadata",
    "OidcConfigError",
    "OidcError",
    "Provider",
    "ProviderUnavailable",
    "Refused",
    "Registry",
    "cancel_login",
    "check_url",
    "complete_login",
    "map_claims",
    "parse_providers",
    "pkce_challenge",
    "pkce_verifier",
    "start_login",
    "verified_email",
]
