"""The providers configured in ``OIDC_PROVIDERS``: parsed and checked once, at start-up
(:func:`parse_providers`), so a bad setting stops the app with a message naming the entry and key
at fault (never echoing a secret)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from server.identity.oidc.errors import OidcConfigError

AUTH_BASIC = "client_secret_basic"
AUTH_POST = "client_secret_post"
TOKEN_AUTH_METHODS = (AUTH_BASIC, AUTH_POST)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# How a provider's claim becomes Moot verification claims (never the raw value):
#   postcode  -> postcode_area ("EX" for EX14 1AB)
#   birthdate -> birth_year and over_16 (from YYYY-MM-DD, or birth_year alone from YYYY)
#   member_of -> member_of (a short organisation name, copied)
CLAIM_KINDS = frozenset({"postcode", "birthdate", "member_of"})
DEFAULT_CLAIMS: Mapping[str, str] = {
    "address.postal_code": "postcode",
    "postal_code": "postcode",
    "birthdate": "birthdate",
}
# Identifiers and personal details that are never verification claims.
NEVER_MAPPED = frozenset(
    {"sub", "iss", "aud", "azp", "nonce", "email", "email_verified", "phone_number", "name"}
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$")  # RFC 6749 §3.3 scope-token
_CLAIM_PATH = re.compile(r"^[^\s.][^\s]{0,199}$")
_KNOWN_KEYS = frozenset(
    {
        "name",
        "title",
        "issuer",
        "client_id",
        "client_secret",
        "scopes",
        "claims",
        "token_auth",
        "userinfo",
    }
)
_REQUIRED_KEYS = ("name", "title", "issuer", "client_id", "client_secret")


@dataclass(frozen=True, slots=True)
class Provider:
    name: str  # in URLs and stored on each login: [a-z0-9_-], at most 40
    title: str  # shown to people: "GOV.UK One Login"
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ()
    claims: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_CLAIMS))
    token_auth: str | None = None  # None: what the provider supports, basic first
    userinfo: bool = False

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"

    @property
    def scope(self) -> str:
        return " ".join(dict.fromkeys(("openid", "email", *self.scopes)))


def check_url(url: object, where: str, *, base: bool = False) -> str:
    """An https URL, or http on this machine (tests, local development)."""
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise OidcConfigError(f"{where} must be a URL such as https://login.example.org")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise OidcConfigError(f"{where} is not a valid URL: {url!r}") from None
    if not host or parts.username is not None or parts.password is not None:
        raise OidcConfigError(f"{where} must be a URL with a host and no user name: {url!r}")
    if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        raise OidcConfigError(
            f"{where} must use https:// (plain http is only allowed for 127.0.0.1 and "
            f"localhost): {url!r}"
        )
    if parts.fragment or (base and parts.query):
        raise OidcConfigError(f"{where} must not have a query or fragment: {url!r}")
    return url


def _string(entry: Mapping[str, Any], key: str, where: str, *, limit: int = 500) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise OidcConfigError(f"{where}.{key} must be a non-empty string (at most {limit})")
    return value


def _parse_claims(raw: object, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise OidcConfigError(
            f"{where}.claims must be an object mapping provider claims to kinds, like "
            f'{{"address.postal_code": "postcode"}}'
        )
    claims = dict(DEFAULT_CLAIMS)
    for path, kind in raw.items():
        if not isinstance(path, str) or not _CLAIM_PATH.match(path) or ".." in path:
            raise OidcConfigError(f"{where}.claims has a bad claim name: {path!r}")
        if path.split(".")[0] in NEVER_MAPPED:
            raise OidcConfigError(
                f"{where}.claims[{path!r}]: {path.split('.')[0]!r} is never a verification claim"
            )
        if kind is None:  # null switches a default off
            claims.pop(path, None)
        elif kind in CLAIM_KINDS:
            claims[path] = kind
        else:
            raise OidcConfigError(
                f"{where}.claims[{path!r}] must be one of {', '.join(sorted(CLAIM_KINDS))} "
                f"or null, not {kind!r}"
            )
    return claims


def _parse_provider(entry: object, where: str) -> Provider:
    if not isinstance(entry, dict):
        raise OidcConfigError(f"{where} must be an object with name, title, issuer, ...")
    unknown = sorted(set(entry) - _KNOWN_KEYS)
    if unknown:
        raise OidcConfigError(
            f"{where} has an unknown key {unknown[0]!r}; the keys are "
            f"{', '.join(sorted(_KNOWN_KEYS))}"
        )
    for key in _REQUIRED_KEYS:
        if key not in entry:
            raise OidcConfigError(f"{where} is missing the key {key!r}")
    name = _string(entry, "name", where, limit=40)
    if not _NAME.match(name):
        raise OidcConfigError(
            f"{where}.name must be lower-case letters, digits, '-' or '_', like \"govuk\": {name!r}"
        )
    where = f'{where} ("{name}")'
    scopes = entry.get("scopes", [])
    if not isinstance(scopes, list) or not all(
        isinstance(s, str) and _SCOPE.match(s) for s in scopes
    ):
        raise OidcConfigError(f'{where}.scopes must be a list of scopes, like ["profile"]')
    token_auth = entry.get("token_auth")
    if token_auth is not None and token_auth not in TOKEN_AUTH_METHODS:
        raise OidcConfigError(f"{where}.token_auth must be one of {', '.join(TOKEN_AUTH_METHODS)}")
    userinfo = entry.get("userinfo", False)
    if not isinstance(userinfo, bool):
        raise OidcConfigError(f"{where}.userinfo must be true or false")
    return Provider(
        name=name,
        title=_string(entry, "title", where, limit=80).strip(),
        issuer=check_url(_string(entry, "issuer", where), f"{where}.issuer", base=True),
        client_id=_string(entry, "client_id", where),
        client_secret=_string(entry, "client_secret", where, limit=2000),
        scopes=tuple(scopes),
        claims=_parse_claims(entry["claims"], where) if "claims" in entry else dict(DEFAULT_CLAIMS),
        token_auth=token_auth,
        userinfo=userinfo,
    )


def parse_providers(raw: str | None) -> dict[str, Provider]:
    """The providers in ``OIDC_PROVIDERS`` (a JSON list), by name. Raises
    :class:`OidcConfigError` naming the entry and key at fault (never echoing a secret)."""
    if raw is None or not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise OidcConfigError(f"OIDC_PROVIDERS is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise OidcConfigError(
            'OIDC_PROVIDERS must be a JSON list of providers, like [{"name": "govuk", ...}]'
        )
    providers: dict[str, Provider] = {}
    for index, entry in enumerate(data):
        provider = _parse_provider(entry, f"OIDC_PROVIDERS[{index}]")
        if provider.name in providers:
            raise OidcConfigError(f"OIDC_PROVIDERS[{index}].name {provider.name!r} is used twice")
        providers[provider.name] = provider
    return providers
