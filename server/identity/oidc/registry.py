"""The configured providers, and everything said to them over HTTP: discovery documents and
key sets, cached per :class:`Registry` (one per app, so per process) and refreshed after a TTL; a
token signed with an unknown ``kid`` makes the key set be fetched again at once (key rotation),
but never more often than every ``jwks_min_interval`` seconds, so a flood of made-up ``kid``\\s
cannot hammer the provider. Then the code exchange, the ID token's checks and userinfo."""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx

from server.identity import jose
from server.identity.oidc.config import AUTH_POST, Provider, parse_providers
from server.identity.oidc.discovery import Metadata, read_metadata, usable_keys
from server.identity.oidc.errors import (
    ERROR_CODE,
    OidcError,
    ProviderUnavailable,
    refused,
    unavailable,
)
from server.settings import Settings

log = logging.getLogger(__name__)

# Clock skew allowed on exp/iat, and how old an ID token fresh from the token endpoint may be.
CLOCK_SKEW = dt.timedelta(seconds=60)
MAX_ID_TOKEN_AGE = dt.timedelta(minutes=10)
HTTP_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
MAX_RESPONSE_BYTES = 256 * 1024
DISCOVERY_TTL = 3600.0
JWKS_TTL = 3600.0
JWKS_MIN_INTERVAL = 60.0


@dataclass(slots=True)
class _KeySet:
    keys: dict[str, dict[str, Any]]
    fetched_at: float


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
                        raise unavailable(provider, f"{what}: the answer is too large")
                    chunks.append(chunk)
                status = response.status_code
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise unavailable(provider, f"{what}: {type(exc).__name__}") from None
        if status >= 500 or status in (301, 302, 303, 307, 308, 429):
            raise unavailable(provider, f"{what}: HTTP {status}")
        try:
            document = json.loads(b"".join(chunks))
        except ValueError:
            raise unavailable(provider, f"{what}: HTTP {status}, not JSON") from None
        if not isinstance(document, dict):
            raise unavailable(provider, f"{what}: not a JSON object")
        return status, document

    async def metadata(self, provider: Provider) -> Metadata:
        cached = self._metadata.get(provider.name)
        at = self.clock()
        if cached is not None and at - cached[0] < self.discovery_ttl:
            return cached[1]
        status, document = await self._json(provider, "discovery", "GET", provider.discovery_url)
        if status != 200:
            raise unavailable(provider, f"discovery: HTTP {status}")
        metadata = read_metadata(provider, document)
        self._metadata[provider.name] = (at, metadata)
        return metadata

    async def _fetch_keys(self, provider: Provider, metadata: Metadata) -> _KeySet | None:
        at = self.clock()
        self._jwks_asked[provider.name] = at
        try:
            status, document = await self._json(provider, "jwks", "GET", metadata.jwks_uri)
            if status != 200:
                raise unavailable(provider, f"jwks: HTTP {status}")
        except ProviderUnavailable as exc:
            log.warning("OIDC provider %s: %s", provider.name, exc.reason)
            return self._jwks.get(provider.name)  # keep what we had
        keys = usable_keys(document, metadata.algorithms)
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
            raise unavailable(provider, "jwks: no keys")
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
            code_name = error if isinstance(error, str) and ERROR_CODE.match(error) else "other"
            raise OidcError(
                f"{provider.title} did not confirm this sign-in. Nothing was changed; please "
                "try again.",
                reason=f"token endpoint: HTTP {status} {code_name}",
            )
        if not isinstance(answer.get("id_token"), str):
            raise refused(provider, "token endpoint: no id_token")
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
            raise refused(provider, f"id_token: {exc.reason}") from None
        aud = claims["aud"]
        azp = claims.get("azp")
        # OpenID Connect Core §3.1.3.7: several audiences need azp, and azp must be us.
        if (isinstance(aud, list) and len(aud) > 1 and azp is None) or (
            azp is not None and azp != provider.client_id
        ):
            raise refused(provider, "id_token: wrong authorized party (azp)")
        if float(claims["iat"]) < (now - MAX_ID_TOKEN_AGE - CLOCK_SKEW).timestamp():
            raise refused(provider, "id_token: issued too long ago (iat)")
        token_nonce = claims["nonce"]
        if not isinstance(token_nonce, str) or not hmac.compare_digest(
            token_nonce.encode(), nonce.encode()
        ):
            raise refused(provider, "id_token: wrong nonce")
        sub = claims["sub"]
        if not isinstance(sub, str) or not 0 < len(sub) <= 255:
            raise refused(provider, "id_token: bad sub")
        return claims

    async def userinfo(
        self, provider: Provider, metadata: Metadata, access_token: object, *, sub: str
    ) -> dict[str, Any]:
        """Claims from the userinfo endpoint, for providers that only share them there."""
        if metadata.userinfo_endpoint is None or not isinstance(access_token, str):
            raise refused(provider, "userinfo: no endpoint or no access token")
        status, claims = await self._json(
            provider,
            "userinfo",
            "GET",
            metadata.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}"},
        )
        if status != 200:
            raise refused(provider, f"userinfo: HTTP {status}")
        if claims.get("sub") != sub:  # Core §5.3.2: must be the same person
            raise refused(provider, "userinfo: a different sub")
        return claims
