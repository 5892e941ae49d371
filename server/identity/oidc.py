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
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.errors import MootError, ValidationFailed
from server.identity import jose, service
from server.identity.keys import Keys
from server.identity.models import Account, AccountKind, OidcLogin, Verification
from server.identity.verification import IdentityInUse, VerifiedIdentity, attach
from server.settings import Settings, SettingsError

log = logging.getLogger(__name__)

METHOD = "oidc"
# How long someone has between leaving for the provider and coming back.
LOGIN_LIFETIME = dt.timedelta(minutes=10)
# Signature algorithms we accept from providers, best first. Never none, never HS*.
ALLOWED_ALGORITHMS: tuple[str, ...] = (jose.RS256, jose.ES256)
# Clock skew allowed on exp/iat, and how old an ID token fresh from the token endpoint may be.
CLOCK_SKEW = dt.timedelta(seconds=60)
MAX_ID_TOKEN_AGE = dt.timedelta(minutes=10)
HTTP_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
MAX_RESPONSE_BYTES = 256 * 1024
MAX_KEYS = 50
DISCOVERY_TTL = 3600.0
JWKS_TTL = 3600.0
JWKS_MIN_INTERVAL = 60.0
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
_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")
_POSTCODE_AREA = re.compile(r"^([A-Z]{1,2})[0-9]")
_BIRTHDATE = re.compile(r"^(\d{4})(?:-(\d{2})-(\d{2}))?$")
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


# --- errors ----------------------------------------------------------------------------------


class OidcConfigError(SettingsError):
    """OIDC_PROVIDERS holds something Moot cannot use; the message names the bad key."""


class OidcError(MootError):
    """A sign-in or verification with a provider that did not work. ``message`` is for the
    person; ``reason`` (never personal data) is for logs and the audit log."""

    status_code = 400
    code = "OIDC_FAILED"
    default_message = "Signing in with that provider did not work. Nothing was changed."

    def __init__(self, message: str | None = None, *, reason: str = "failed") -> None:
        super().__init__(message)
        self.reason = reason


class ProviderUnavailable(OidcError):
    status_code = 503
    code = "OIDC_UNAVAILABLE"


# --- configuration ---------------------------------------------------------------------------


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


# --- talking to providers --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Metadata:
    """What we use of a provider's discovery document, checked."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    algorithms: tuple[str, ...]
    token_auth: str
    iss_parameter: bool


@dataclass(slots=True)
class _KeySet:
    keys: dict[str, dict[str, Any]]
    fetched_at: float


def _unavailable(provider: Provider, reason: str) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"We could not reach {provider.title} just now. Nothing was changed; please try again "
        "in a few minutes.",
        reason=reason,
    )


def _refused(provider: Provider, reason: str) -> OidcError:
    return OidcError(
        f"We could not confirm who you are with {provider.title}: its answer did not pass our "
        "checks. Nothing was changed; please try again.",
        reason=reason,
    )


def _endpoint(provider: Provider, document: Mapping[str, Any], key: str) -> str:
    try:
        return check_url(document.get(key), key)
    except OidcConfigError as exc:
        raise _unavailable(provider, f"discovery: {exc}") from None


def _token_auth(provider: Provider, document: Mapping[str, Any]) -> str:
    # OpenID Connect Discovery §3: absent means client_secret_basic.
    supported = document.get("token_endpoint_auth_methods_supported", [AUTH_BASIC])
    if not isinstance(supported, list):
        supported = [AUTH_BASIC]
    if provider.token_auth is not None:
        return provider.token_auth
    for method in TOKEN_AUTH_METHODS:
        if method in supported:
            return method
    raise _unavailable(provider, "discovery: no client_secret_basic or client_secret_post")


def _metadata(provider: Provider, document: Mapping[str, Any]) -> Metadata:
    if document.get("issuer") != provider.issuer:
        # Discovery §4.3: the document must be for exactly the issuer we configured.
        raise _unavailable(provider, "discovery: the issuer does not match the configuration")
    offered = document.get("id_token_signing_alg_values_supported", [jose.RS256])
    if not isinstance(offered, list):
        offered = [jose.RS256]
    algorithms = tuple(a for a in ALLOWED_ALGORITHMS if a in offered)
    if not algorithms:
        raise _unavailable(provider, "discovery: the provider signs with no algorithm we allow")
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise _unavailable(provider, "discovery: the provider does not support PKCE S256")
    userinfo = (
        _endpoint(provider, document, "userinfo_endpoint")
        if document.get("userinfo_endpoint") is not None
        else None
    )
    if provider.userinfo and userinfo is None:
        raise _unavailable(provider, "discovery: no userinfo_endpoint")
    return Metadata(
        authorization_endpoint=_endpoint(provider, document, "authorization_endpoint"),
        token_endpoint=_endpoint(provider, document, "token_endpoint"),
        jwks_uri=_endpoint(provider, document, "jwks_uri"),
        userinfo_endpoint=userinfo,
        algorithms=algorithms,
        token_auth=_token_auth(provider, document),
        iss_parameter=document.get("authorization_response_iss_parameter_supported") is True,
    )


def _usable_keys(document: Mapping[str, Any], algorithms: tuple[str, ...]) -> dict[str, Any]:
    """The signing keys of a JWKS we could verify with, by kid, each with its ``alg`` (implied
    by the key type when the provider leaves it out: never taken from a token)."""
    found: dict[str, dict[str, Any]] = {}
    keys = document.get("keys")
    if not isinstance(keys, list):
        return found
    for jwk in keys[:MAX_KEYS]:
        if not isinstance(jwk, dict):
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or jwk.get("use", "sig") != "sig":
            continue
        alg = jwk.get("alg")
        if alg is None:
            if jwk.get("kty") == "RSA":
                alg = jose.RS256
            elif jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
                alg = jose.ES256
        if alg in algorithms:
            found[kid] = {**jwk, "alg": alg}
    return found


class Registry:
    """The configured providers, with their discovery documents and key sets cached.

    One per app (see ``oidc_pages.registry``). ``clock`` is monotonic seconds; tests pass their
    own to step over the refetch interval."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        *,
        clock: Callable[[], float] = time.monotonic,
        discovery_ttl: float = DISCOVERY_TTL,
        jwks_ttl: float = JWKS_TTL,
        jwks_min_interval: float = JWKS_MIN_INTERVAL,
        timeout: httpx.Timeout = HTTP_TIMEOUT,
    ) -> None:
        self.providers = dict(providers)
        self.clock = clock
        self.discovery_ttl = discovery_ttl
        self.jwks_ttl = jwks_ttl
        self.jwks_min_interval = jwks_min_interval
        self.timeout = timeout
        self._metadata: dict[str, tuple[float, Metadata]] = {}
        self._jwks: dict[str, _KeySet] = {}
        # When each key set was last asked for, successful or not: the refetch limit.
        self._jwks_asked: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Registry:
        return cls(parse_providers(settings.oidc_providers), **options)

    def get(self, name: str) -> Provider | None:
        return self.providers.get(name)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=self.timeout, follow_redirects=False, headers={"User-Agent": "Moot"}
        )

    async def _json(
        self,
        provider: Provider,
        what: str,
        method: str,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        try:
            async with (
                self._client() as client,
                client.stream(
                    method,
                    url,
                    data=data,
                    headers={"Accept": "application/json", **(headers or {})},
                ) as response,
            ):
                size = 0
                chunks = []
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise _unavailable(provider, f"{what}: the answer is too large")
                    chunks.append(chunk)
                status = response.status_code
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise _unavailable(provider, f"{what}: {type(exc).__name__}") from None
        if status >= 500 or status in (301, 302, 303, 307, 308, 429):
            raise _unavailable(provider, f"{what}: HTTP {status}")
        try:
            document = json.loads(b"".join(chunks))
        except ValueError:
            raise _unavailable(provider, f"{what}: HTTP {status}, not JSON") from None
        if not isinstance(document, dict):
            raise _unavailable(provider, f"{what}: not a JSON object")
        return status, document

    async def metadata(self, provider: Provider) -> Metadata:
        cached = self._metadata.get(provider.name)
        at = self.clock()
        if cached is not None and at - cached[0] < self.discovery_ttl:
            return cached[1]
        status, document = await self._json(provider, "discovery", "GET", provider.discovery_url)
        if status != 200:
            raise _unavailable(provider, f"discovery: HTTP {status}")
        metadata = _metadata(provider, document)
        self._metadata[provider.name] = (at, metadata)
        return metadata

    async def _fetch_keys(self, provider: Provider, metadata: Metadata) -> _KeySet | None:
        at = self.clock()
        self._jwks_asked[provider.name] = at
        try:
            status, document = await self._json(provider, "jwks", "GET", metadata.jwks_uri)
            if status != 200:
                raise _unavailable(provider, f"jwks: HTTP {status}")
        except ProviderUnavailable as exc:
            log.warning("OIDC provider %s: %s", provider.name, exc.reason)
            return self._jwks.get(provider.name)  # keep what we had
        keys = _usable_keys(document, metadata.algorithms)
        if not keys:
            log.warning("OIDC provider %s: the JWKS holds no key we can use", provider.name)
        self._jwks[provider.name] = found = _KeySet(keys, at)
        return found

    async def signing_keys(
        self, provider: Provider, metadata: Metadata, kid: str | None
    ) -> dict[str, dict[str, Any]]:
        """The provider's keys by kid: cached, refreshed after the TTL, and fetched again once
        when ``kid`` is unknown, unless the last fetch was under ``jwks_min_interval`` ago."""
        cached = self._jwks.get(provider.name)
        at = self.clock()
        asked = self._jwks_asked.get(provider.name)
        stale = cached is None or at - cached.fetched_at >= self.jwks_ttl
        unknown = cached is not None and kid is not None and kid not in cached.keys
        # Failed fetches count too: a provider that is down is not asked more often either.
        if (stale or unknown) and (asked is None or at - asked >= self.jwks_min_interval):
            if unknown and not stale:
                log.info("OIDC provider %s: unknown key id, fetching its keys again", provider.name)
            cached = await self._fetch_keys(provider, metadata)
        if cached is None:
            raise _unavailable(provider, "jwks: no keys")
        return cached.keys

    async def exchange_code(
        self,
        provider: Provider,
        metadata: Metadata,
        *,
        code: str,
        verifier: str,
        redirect_uri: str,
    ) -> dict[str, Any]:
        """The token endpoint's answer for ``code`` (with an ``id_token``)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        headers: dict[str, str] = {}
        if metadata.token_auth == AUTH_POST:
            form |= {"client_id": provider.client_id, "client_secret": provider.client_secret}
        else:  # RFC 6749 §2.3.1: each part form-encoded before base64
            pair = f"{quote_plus(provider.client_id)}:{quote_plus(provider.client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        status, answer = await self._json(
            provider, "token", "POST", metadata.token_endpoint, data=form, headers=headers
        )
        if status != 200:
            error = answer.get("error")
            code_name = error if isinstance(error, str) and _ERROR_CODE.match(error) else "other"
            raise OidcError(
                f"{provider.title} did not confirm this sign-in. Nothing was changed; please "
                "try again.",
                reason=f"token endpoint: HTTP {status} {code_name}",
            )
        if not isinstance(answer.get("id_token"), str):
            raise _refused(provider, "token endpoint: no id_token")
        return answer

    async def verify_id_token(
        self,
        provider: Provider,
        metadata: Metadata,
        id_token: str,
        *,
        nonce: str,
        now: dt.datetime,
    ) -> dict[str, Any]:
        """The ID token's claims, once every check has passed; :class:`OidcError` otherwise."""
        try:
            kid = jose.peek_header(id_token).get("kid")
            keys = await self.signing_keys(
                provider, metadata, kid if isinstance(kid, str) else None
            )
            claims = jose.verify(
                id_token,
                keys,
                algorithms=metadata.algorithms,
                audience=provider.client_id,
                issuer=provider.issuer,
                leeway=CLOCK_SKEW,
                now=now,
                require=("iat", "sub", "nonce"),
            )
        except jose.InvalidToken as exc:
            raise _refused(provider, f"id_token: {exc.reason}") from None
        aud = claims["aud"]
        azp = claims.get("azp")
        # OpenID Connect Core §3.1.3.7: several audiences need azp, and azp must be us.
        if (isinstance(aud, list) and len(aud) > 1 and azp is None) or (
            azp is not None and azp != provider.client_id
        ):
            raise _refused(provider, "id_token: wrong authorized party (azp)")
        if float(claims["iat"]) < (now - MAX_ID_TOKEN_AGE - CLOCK_SKEW).timestamp():
            raise _refused(provider, "id_token: issued too long ago (iat)")
        token_nonce = claims["nonce"]
        if not isinstance(token_nonce, str) or not hmac.compare_digest(
            token_nonce.encode(), nonce.encode()
        ):
            raise _refused(provider, "id_token: wrong nonce")
        sub = claims["sub"]
        if not isinstance(sub, str) or not 0 < len(sub) <= 255:
            raise _refused(provider, "id_token: bad sub")
        return claims

    async def userinfo(
        self, provider: Provider, metadata: Metadata, access_token: object, *, sub: str
    ) -> dict[str, Any]:
        """Claims from the userinfo endpoint, for providers that only share them there."""
        if metadata.userinfo_endpoint is None or not isinstance(access_token, str):
            raise _refused(provider, "userinfo: no endpoint or no access token")
        status, claims = await self._json(
            provider,
            "userinfo",
            "GET",
            metadata.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}"},
        )
        if status != 200:
            raise _refused(provider, f"userinfo: HTTP {status}")
        if claims.get("sub") != sub:  # Core §5.3.2: must be the same person
            raise _refused(provider, "userinfo: a different sub")
        return claims


# --- claims ----------------------------------------------------------------------------------


def _lookup(claims: Mapping[str, Any], path: str) -> Any:
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _birthdate_claims(value: object, today: dt.date) -> dict[str, Any]:
    match = _BIRTHDATE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        return {}
    year = int(match.group(1))
    found: dict[str, Any] = {}
    if 1900 <= year <= today.year:  # "0000-MM-DD" means the year was withheld
        found["birth_year"] = year
    if match.group(2) is not None and "birth_year" in found:
        try:
            born = dt.date(year, int(match.group(2)), int(match.group(3)))
        except ValueError:
            return {}
        found["over_16"] = _age_on(born, today) >= 16
    elif "birth_year" in found and today.year - year > 16:
        found["over_16"] = True  # 17 or more this year: over 16 whatever the day
    return found


def map_claims(provider: Provider, claims: Mapping[str, Any], *, today: dt.date) -> dict[str, Any]:
    """Moot's verification claims from a provider's: coarse, and never an identifier."""
    mapped: dict[str, Any] = {"provider": provider.name}
    for path, kind in provider.claims.items():
        value = _lookup(claims, path)
        if value is None:
            continue
        if kind == "postcode" and isinstance(value, str):
            area = _POSTCODE_AREA.match(re.sub(r"\s+", "", value).upper())
            if area:
                mapped.setdefault("postcode_area", area.group(1))
        elif kind == "birthdate":
            for key, found in _birthdate_claims(value, today).items():
                mapped.setdefault(key, found)
        elif kind == "member_of" and isinstance(value, str) and 0 < len(value.strip()) <= 200:
            mapped.setdefault("member_of", value.strip())
    return mapped


def verified_email(claims: Mapping[str, Any]) -> str | None:
    """The email address, only when the provider says it has verified it."""
    if claims.get("email_verified") not in (True, "true"):
        return None
    email = claims.get("email")
    if not isinstance(email, str):
        return None
    try:
        return service.normalise_email(email)
    except ValidationFailed:
        return None


# --- the flow --------------------------------------------------------------------------------


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
        error=error if _ERROR_CODE.match(error) else "other",
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
            raise _refused(provider, "the authorization response names another issuer")
        if not code or len(code) > 2048:
            raise _refused(provider, "no code")
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
