"""A tiny OpenID provider for tests, served by uvicorn on 127.0.0.1 in a background thread.

It signs ID tokens with an RSA key of its own (or an EC one, after ``sign_with("ES256")``) and
serves discovery, a JWKS, ``/authorize`` (no login screen: it redirects straight back with a code,
as whoever ``login_as`` named), ``/token`` (checking the client's credentials, the redirect URI
and the PKCE verifier) and ``/userinfo``. Hooks make it misbehave on purpose: ``next_token``
tampers with the next ID token (audience, issuer, expiry, nonce, ``alg: none``, HS256 MACed with
its public key, a made-up ``kid``), ``deny_next`` answers the next authorization with an error,
and ``rotate_key`` signs with a new key under a new ``kid`` from then on.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlencode

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from server.identity import jose
from tests.identity.factories_tokens import hmac_signed, unsigned

STARTUP_TIMEOUT = 10.0
CLIENT_ID = "moot-test-client"
# Characters that must be form-encoded in HTTP Basic credentials (RFC 6749 §2.3.1).
CLIENT_SECRET = "s3cret:with&odd=chars"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private_pem: bytes
    public_jwk: dict[str, Any]
    public_pem: bytes


def rsa_key() -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    jwk = jose.public_jwk(pem, jose.RS256)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SigningKey(jwk["kid"], jose.RS256, pem, jwk, public_pem)


def ec_key() -> SigningKey:
    pair = jose.generate_key_pair()
    private = serialization.load_pem_private_key(pair.private_pem, password=None)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SigningKey(pair.kid, jose.ES256, pair.private_pem, pair.public_jwk, public_pem)


@dataclass
class User:
    sub: str
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    user: User
    used: bool = False


# Keys accepted by next_token(): what to change in (or how to sign) the next ID token.
TAMPERING = frozenset(
    {"aud", "iss", "exp_in", "iat_ago", "nonce", "azp", "alg", "kid", "drop", "sub"}
)


class IdentityProvider:
    """Start with :meth:`start`, stop with :meth:`stop`; :meth:`reset` between tests."""

    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self._lock = threading.Lock()
        self._rsa = rsa_key()
        self._ec: SigningKey | None = None
        self.issuer = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.reset()

    # --- test hooks -----------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.signer: SigningKey = self._rsa
            self.published: list[SigningKey] = [self._rsa]
            self.user = User(
                "idp-user-1", {"email": "oidc.person@example.org", "email_verified": True}
            )
            self.tamper: dict[str, Any] = {}
            self.deny: str | None = None
            self.grants: dict[str, Grant] = {}
            self.hits: Counter[str] = Counter()
            self.auth_methods: list[str] = []
            self.authorize_params: list[dict[str, str]] = []
            self.access_tokens: dict[str, User] = {}
            self.userinfo_claims: dict[str, Any] | None = None
            self.algorithms = [jose.RS256, jose.ES256]

    def login_as(self, sub: str, **claims: Any) -> None:
        """Who the following logins are, with these claims in the ID token. ``email=...`` sets
        a verified email unless ``email_verified`` says otherwise."""
        if "email" in claims:
            claims.setdefault("email_verified", True)
        self.user = User(sub, claims)

    def next_token(self, **tamper: Any) -> None:
        """Change the next ID token only. ``aud``, ``iss``, ``nonce``, ``azp``, ``sub``: those
        claims; ``exp_in``/``iat_ago``: seconds; ``drop``: claim names to leave out; ``kid``: the
        header's kid; ``alg``: "none" (unsigned) or "HS256" (MACed with the public key)."""
        unknown = set(tamper) - TAMPERING
        assert not unknown, f"unknown tampering {unknown}"
        self.tamper = tamper

    def deny_next(self, error: str = "access_denied") -> None:
        self.deny = error

    def rotate_key(self, *, keep_old: bool = False) -> str:
        """Sign with a new RSA key from now on; the JWKS publishes it (and the old one too when
        ``keep_old``). Returns the new kid."""
        key = rsa_key()
        with self._lock:
            self.published = [*self.published, key] if keep_old else [key]
            self.signer = key
        return key.kid

    def sign_with(self, algorithm: str) -> None:
        if algorithm == jose.ES256:
            self._ec = self._ec or ec_key()
            key = self._ec
        else:
            key = self._rsa
        with self._lock:
            self.signer = key
            if key not in self.published:
                self.published = [*self.published, key]

    # --- running --------------------------------------------------------------------------

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        self.issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            self.app(), log_level="warning", lifespan="off", ws="none", access_log=False
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), name="test-idp", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test identity provider did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(STARTUP_TIMEOUT)
            assert not self._thread.is_alive(), "the test identity provider did not stop"
        if self._socket is not None:
            self._socket.close()

    def provider_config(self, name: str = "idp", **extra: Any) -> dict[str, Any]:
        """An OIDC_PROVIDERS entry for Moot pointing here."""
        return {
            "name": name,
            "title": "Test ID",
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            **extra,
        }

    # --- the provider ---------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/userinfo", self._userinfo),
            ]
        )

    async def _discovery(self, request: Request) -> Response:
        self.hits["discovery"] += 1
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": self.algorithms,
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "email", "profile", "address"],
                "authorization_response_iss_parameter_supported": True,
            }
        )

    async def _jwks(self, request: Request) -> Response:
        self.hits["jwks"] += 1
        with self._lock:
            keys = [key.public_jwk for key in self.published]
        return JSONResponse({"keys": keys})

    async def _authorize(self, request: Request) -> Response:
        self.hits["authorize"] += 1
        params = dict(request.query_params)
        self.authorize_params.append(params)
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id or not redirect_uri.startswith("http"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        back: dict[str, str] = {"state": params.get("state", ""), "iss": self.issuer}
        if self.deny is not None:
            back["error"] = self.deny
            self.deny = None
        elif (
            params.get("response_type") != "code"
            or "openid" not in params.get("scope", "").split()
            or params.get("code_challenge_method") != "S256"
            or not params.get("code_challenge")
        ):
            back["error"] = "invalid_request"
        else:
            code = secrets.token_urlsafe(24)
            self.grants[code] = Grant(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                challenge=params["code_challenge"],
                nonce=params.get("nonce"),
                user=self.user,
            )
            back["code"] = code
        return RedirectResponse(f"{redirect_uri}?{urlencode(back)}", status_code=302)

    def _client_auth(self, request: Request, form: dict[str, str]) -> str | None:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _, secret = decoded.partition(":")
            if (unquote_plus(client_id), unquote_plus(secret)) == (
                self.client_id,
                self.client_secret,
            ):
                return "client_secret_basic"
            return None
        if (form.get("client_id"), form.get("client_secret")) == (
            self.client_id,
            self.client_secret,
        ):
            return "client_secret_post"
        return None

    async def _token(self, request: Request) -> Response:
        self.hits["token"] += 1
        form = {k: str(v) for k, v in (await request.form()).items()}
        method = self._client_auth(request, form)
        if method is None:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        self.auth_methods.append(method)
        grant = self.grants.get(form.get("code", ""))
        if form.get("grant_type") != "authorization_code" or grant is None or grant.used:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        grant.used = True
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if not hmac.compare_digest(challenge, grant.challenge):
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "PKCE"}, status_code=400
            )
        if form.get("redirect_uri") != grant.redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = grant.user
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self._id_token(grant),
            },
            headers={"Cache-Control": "no-store"},
        )

    def _id_token(self, grant: Grant) -> str:
        tamper, self.tamper = self.tamper, {}
        at = int(dt.datetime.now(dt.UTC).timestamp()) - int(tamper.get("iat_ago", 0))
        claims: dict[str, Any] = {
            "iss": tamper.get("iss", self.issuer),
            "sub": tamper.get("sub", grant.user.sub),
            "aud": tamper.get("aud", grant.client_id),
            "iat": at,
            "auth_time": at,
            "exp": at + int(tamper.get("exp_in", 300)),
            "nonce": tamper.get("nonce", grant.nonce),
            **grant.user.claims,
        }
        if "azp" in tamper:
            claims["azp"] = tamper["azp"]
        for name in tamper.get("drop", ()):
            claims.pop(name, None)
        with self._lock:
            key = self.signer
        kid = tamper.get("kid", key.kid)
        if tamper.get("alg") == "none":
            return unsigned({"alg": "none", "typ": "JWT", "kid": kid}, claims)
        if tamper.get("alg") == "HS256":
            # Key confusion: MACed with the RSA public key a careless verifier would accept.
            return hmac_signed({"alg": "HS256", "typ": "JWT", "kid": kid}, claims, key.public_pem)
        return jose.sign(claims, key.private_pem, kid, key.algorithm)

    async def _userinfo(self, request: Request) -> Response:
        self.hits["userinfo"] += 1
        header = request.headers.get("authorization", "")
        user = self.access_tokens.get(header.removeprefix("Bearer "))
        if not header.startswith("Bearer ") or user is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        claims = self.userinfo_claims if self.userinfo_claims is not None else {}
        return JSONResponse({"sub": user.sub, **claims})


def as_setting(*entries: dict[str, Any]) -> str:
    return json.dumps(list(entries))
