"""What we use of a provider's discovery document and key set, checked: the endpoints, the
signature algorithms we accept from it and how we authenticate at its token endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.identity import jose
from server.identity.oidc.config import AUTH_BASIC, TOKEN_AUTH_METHODS, Provider, check_url
from server.identity.oidc.errors import OidcConfigError, unavailable

# Signature algorithms we accept from providers, best first. Never none, never HS*.
ALLOWED_ALGORITHMS: tuple[str, ...] = (jose.RS256, jose.ES256)
MAX_KEYS = 50


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


def _endpoint(provider: Provider, document: Mapping[str, Any], key: str) -> str:
    try:
        return check_url(document.get(key), key)
    except OidcConfigError as exc:
        raise unavailable(provider, f"discovery: {exc}") from None


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
    raise unavailable(provider, "discovery: no client_secret_basic or client_secret_post")


def read_metadata(provider: Provider, document: Mapping[str, Any]) -> Metadata:
    if document.get("issuer") != provider.issuer:
        # Discovery §4.3: the document must be for exactly the issuer we configured.
        raise unavailable(provider, "discovery: the issuer does not match the configuration")
    offered = document.get("id_token_signing_alg_values_supported", [jose.RS256])
    if not isinstance(offered, list):
        offered = [jose.RS256]
    algorithms = tuple(a for a in ALLOWED_ALGORITHMS if a in offered)
    if not algorithms:
        raise unavailable(provider, "discovery: the provider signs with no algorithm we allow")
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise unavailable(provider, "discovery: the provider does not support PKCE S256")
    userinfo = (
        _endpoint(provider, document, "userinfo_endpoint")
        if document.get("userinfo_endpoint") is not None
        else None
    )
    if provider.userinfo and userinfo is None:
        raise unavailable(provider, "discovery: no userinfo_endpoint")
    return Metadata(
        authorization_endpoint=_endpoint(provider, document, "authorization_endpoint"),
        token_endpoint=_endpoint(provider, document, "token_endpoint"),
        jwks_uri=_endpoint(provider, document, "jwks_uri"),
        userinfo_endpoint=userinfo,
        algorithms=algorithms,
        token_auth=_token_auth(provider, document),
        iss_parameter=document.get("authorization_response_iss_parameter_supported") is True,
    )


def usable_keys(document: Mapping[str, Any], algorithms: tuple[str, ...]) -> dict[str, Any]:
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
