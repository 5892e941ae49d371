"""The JWT wrapper on its own: algorithms, keys, claims, and that only our errors come out."""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from server.errors import NotAuthenticated
from server.identity import jose
from server.identity.jose import InvalidToken, TokenExpired
from tests.identity.factories_tokens import b64url, hmac_signed, segments, unsigned

ISS = "https://issuer.example"
AUD = "client-123"
NOW = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
SERVER = Path(__file__).resolve().parents[2] / "server"


def _claims(**changes: Any) -> dict[str, Any]:
    at = int(NOW.timestamp())
    claims: dict[str, Any] = {"iss": ISS, "aud": AUD, "sub": "42", "iat": at, "exp": at + 300}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture(scope="module")
def pair() -> jose.KeyPair:
    return jose.generate_key_pair()


@pytest.fixture(scope="module")
def rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _verify(token: str, pair: jose.KeyPair, **kwargs: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "algorithms": ("ES256",),
        "audience": AUD,
        "issuer": ISS,
        "now": NOW,
    }
    options.update(kwargs)
    return jose.verify(token, {pair.kid: pair.public_jwk}, **options)


def _sign(pair: jose.KeyPair, claims: dict[str, Any] | None = None) -> str:
    return jose.sign(claims or _claims(), pair.private_pem, pair.kid, "ES256")


# --- keys --------------------------------------------------------------------------------------


def test_generated_key_pair_is_p256_with_a_thumbprint_kid(pair: jose.KeyPair) -> None:
    jwk = pair.public_jwk
    assert pair.algorithm == "ES256"
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256"
    assert {jwk["alg"], jwk["use"], jwk["kid"]} == {"ES256", "sig", pair.kid}
    assert "d" not in jwk
    assert pair.kid == jose.thumbprint(jwk)
    assert pair.private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(pair.private_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert jose.public_jwk(pair.private_pem, "ES256") == jwk
    assert jose.generate_key_pair().kid != pair.kid


def test_thumbprint_matches_rfc_7638_example() -> None:
    # RFC 7638 §3.1.
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
        "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQ"
        "R0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTW"
        "hAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jose.thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


# --- round trips -------------------------------------------------------------------------------


def test_es256_round_trip(pair: jose.KeyPair) -> None:
    token = _sign(pair)
    header, _, _ = segments(token)
    assert header == {"alg": "ES256", "kid": pair.kid, "typ": "JWT"}
    assert _verify(token, pair) == _claims()


def test_rs256_round_trip(rsa_pem: bytes) -> None:
    jwk = jose.public_jwk(rsa_pem, "RS256")
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and "d" not in jwk
    token = jose.sign(_claims(), rsa_pem, jwk["kid"], "RS256")
    claims = jose.verify(
        token, {jwk["kid"]: jwk}, algorithms=("RS256",), audience=AUD, issuer=ISS, now=NOW
    )
    assert claims["sub"] == "42"


def test_private_members_of_a_key_record_are_ignored(pair: jose.KeyPair) -> None:
    """A record that (wrongly) holds the private half still only verifies."""
    numbers = serialization.load_pem_private_key(pair.private_pem, password=None)
    assert isinstance(numbers, ec.EllipticCurvePrivateKey)
    d = b64url(numbers.private_numbers().private_value.to_bytes(32, "big"))
    token = _sign(pair)
    assert jose.verify(
        token,
        {pair.kid: {**pair.public_jwk, "d": d}},
        algorithms=("ES256",),
        audience=AUD,
        issuer=ISS,
        now=NOW,
    )


def test_audience_may_be_a_list_holding_ours(pair: jose.KeyPair) -> None:
    token = _sign(pair, _claims(aud=["someone-else", AUD]))
    assert _verify(token, pair)["aud"] == ["someone-else", AUD]


# --- the allow-list ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "algorithms",
    [
        ("none",),
        ("None",),
        ("NONE",),
        ("ES256", "none"),
        ("HS256",),
        ("ES256", "HS256"),
        ("HS384",),
        ("HS512",),
        ("hs256",),
        ("PS256",),  # unsupported
        ("",),
        (),
    ],
)
def test_verify_refuses_a_dangerous_or_unknown_allow_list(
    pair: jose.KeyPair, algorithms: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match=r"never allowed|Unsupported|empty"):
        _verify(_sign(pair), pair, algorithms=algorithms)


def test_verify_refuses_a_bare_string_as_allow_list(pair: jose.KeyPair) -> None:
    with pytest.raises(ValueError, match="collection"):
        _verify(_sign(pair), pair, algorithms="ES256")


@pytest.mark.parametrize("algorithm", ["none", "HS256", "HS512", "PS256"])
def test_sign_refuses_none_hmac_and_unknown_algorithms(pair: jose.KeyPair, algorithm: str) -> None:
    with pytest.raises(ValueError, match=r"never allowed|Unsupported"):
        jose.sign(_claims(), pair.private_pem, pair.kid, algorithm)


def test_sign_refuses_a_key_of_the_wrong_type(pair: jose.KeyPair, rsa_pem: bytes) -> None:
    with pytest.raises(ValueError, match="EC P-256"):
        jose.sign(_claims(), rsa_pem, "k", "ES256")
    with pytest.raises(ValueError, match="RSA"):
        jose.sign(_claims(), pair.private_pem, "k", "RS256")
    with pytest.raises(ValueError, match="PEM"):
        jose.sign(_claims(), b"not a key", "k", "ES256")


def test_sign_refuses_claims_that_are_not_json(pair: jose.KeyPair) -> None:
    with pytest.raises(ValueError, match="JSON"):
        jose.sign({"exp": NOW}, pair.private_pem, pair.kid, "ES256")


# --- attacks on the algorithm ------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused(pair: jose.KeyPair, alg: str) -> None:
    token = unsigned({"alg": alg, "kid": pair.kid, "typ": "JWT"}, _claims())
    with pytest.raises(InvalidToken):
        _verify(token, pair)
    # Even with a signature segment tacked on.
    with pytest.raises(InvalidToken):
        _verify(token + "c2ln", pair)


def _public_secrets(jwk: dict[str, Any], public_pem: bytes) -> list[bytes]:
    """Every form of our public key an attacker might use as an HMAC secret."""
    return [
        public_pem,
        public_pem.strip(),
        json.dumps(jwk).encode(),
        json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode(),
    ]


def test_hs256_signed_with_our_public_key_is_refused(pair: jose.KeyPair) -> None:
    private = serialization.load_pem_private_key(pair.private_pem, password=None)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in _public_secrets(pair.public_jwk, public_pem):
        token = hmac_signed({"alg": "HS256", "kid": pair.kid, "typ": "JWT"}, _claims(), secret)
        with pytest.raises(InvalidToken) as refused:
            _verify(token, pair)
        assert refused.value.reason == "the header's alg does not match the key's"


def test_hs256_confusion_against_an_rsa_key_is_refused(rsa_pem: bytes) -> None:
    jwk = jose.public_jwk(rsa_pem, "RS256")
    public_pem = (
        serialization.load_pem_private_key(rsa_pem, password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for secret in _public_secrets(jwk, public_pem):
        token = hmac_signed({"alg": "HS256", "kid": jwk["kid"]}, _claims(), secret)
        with pytest.raises(InvalidToken):
            jose.verify(
                token,
                {jwk["kid"]: jwk},
                algorithms=("RS256", "ES256"),
                audience=AUD,
                issuer=ISS,
                now=NOW,
            )


def test_header_alg_must_equal_the_key_records_alg(pair: jose.KeyPair, rsa_pem: bytes) -> None:
    """An RS256 token presented under the kid of an ES256 key is refused, even when both
    algorithms are allowed: the record, not the token, decides."""
    token = jose.sign(_claims(), rsa_pem, pair.kid, "RS256")
    with pytest.raises(InvalidToken) as refused:
        _verify(token, pair, algorithms=("ES256", "RS256"))
    assert refused.value.reason == "the header's alg does not match the key's"


def test_a_key_whose_alg_is_not_allowed_is_refused(pair: jose.KeyPair) -> None:
    with pytest.raises(InvalidToken) as refused:
        _verify(_sign(pair), pair, algorithms=("RS256",))
    assert refused.value.reason == "the key's algorithm is not allowed here"


@pytest.mark.parametrize(
    "change",
    [
        {"alg": None},
        {"alg": "HS256"},
        {"alg": "none"},
        {"use": "enc"},
        {"key_ops": ["encrypt"]},
        {"kty": "RSA"},
        {"crv": "P-384"},
        {"x": 12},
        {"x": "!!!"},
    ],
)
def test_a_bad_key_record_is_refused(pair: jose.KeyPair, change: dict[str, Any]) -> None:
    jwk = {**pair.public_jwk, **change}
    with pytest.raises(InvalidToken):
        jose.verify(
            _sign(pair), {pair.kid: jwk}, algorithms=("ES256",), audience=AUD, issuer=ISS, now=NOW
        )


def test_a_small_rsa_key_is_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    numbers = small.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "kid": "small",
        "alg": "RS256",
        "n": b64url(numbers.n.to_bytes(128, "big")),
        "e": b64url(numbers.e.to_bytes(3, "big")),
    }
    header = b64url({"alg": "RS256", "kid": "small"})
    token = f"{header}.{b64url(_claims())}.{b64url(b'x' * 128)}"
    with pytest.raises(InvalidToken) as refused:
        jose.verify(token, {"small": jwk}, algorithms=("RS256",), audience=AUD, issuer=ISS, now=NOW)
    assert "2048" in refused.value.reason


# --- keys and kids -----------------------------------------------------------------------------


def test_unknown_kid_is_refused(pair: jose.KeyPair) -> None:
    other = jose.generate_key_pair()
    token = jose.sign(_claims(), other.private_pem, other.kid, "ES256")
    with pytest.raises(InvalidToken) as refused:
        _verify(token, pair)
    assert refused.value.reason == "unknown key (kid)"


def test_a_token_signed_by_another_key_under_our_kid_is_refused(pair: jose.KeyPair) -> None:
    other = jose.generate_key_pair()
    token = jose.sign(_claims(), other.private_pem, pair.kid, "ES256")
    with pytest.raises(InvalidToken) as refused:
        _verify(token, pair)
    assert refused.value.reason == "bad signature"


@pytest.mark.parametrize("kid", [None, "", 7, ["x"]])
def test_a_missing_or_odd_kid_is_refused(pair: jose.KeyPair, kid: object) -> None:
    _, payload, signature = _sign(pair).split(".")
    forged = {"alg": "ES256", "typ": "JWT"} | ({} if kid is None else {"kid": kid})
    with pytest.raises(InvalidToken):
        _verify(f"{b64url(forged)}.{payload}.{signature}", pair)


def test_critical_header_extensions_are_refused(pair: jose.KeyPair) -> None:
    _, payload, signature = _sign(pair).split(".")
    header = b64url({"alg": "ES256", "kid": pair.kid, "crit": ["b64"], "b64": False})
    with pytest.raises(InvalidToken):
        _verify(f"{header}.{payload}.{signature}", pair)


# --- tampering ---------------------------------------------------------------------------------


def test_a_tampered_payload_is_refused(pair: jose.KeyPair) -> None:
    header, payload, signature = _sign(pair).split(".")
    forged = b64url(_claims(sub="1"))
    assert forged != payload
    with pytest.raises(InvalidToken) as refused:
        _verify(f"{header}.{forged}.{signature}", pair)
    assert refused.value.reason == "bad signature"


def test_a_tampered_signature_is_refused(pair: jose.KeyPair) -> None:
    header, payload, signature = _sign(pair).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for bad in (flipped, signature[:-4], signature + "AAAA"):
        with pytest.raises(InvalidToken):
            _verify(f"{header}.{payload}.{bad}", pair)


def test_a_checked_token_is_still_refused_once_tampered_or_under_another_key(
    pair: jose.KeyPair,
) -> None:
    """Signatures checked once are remembered per token and key: a good token verified twice
    must not make a tampered copy, or the same token under another key, pass."""
    token = _sign(pair)
    assert _verify(token, pair) == _verify(token, pair)
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for _ in range(2):
        with pytest.raises(InvalidToken) as refused:
            _verify(f"{header}.{payload}.{flipped}", pair)
        assert refused.value.reason == "bad signature"
    other = jose.generate_key_pair()
    impostor = {pair.kid: {**other.public_jwk, "kid": pair.kid}}
    with pytest.raises(InvalidToken) as refused:
        jose.verify(token, impostor, algorithms=("ES256",), audience=AUD, issuer=ISS, now=NOW)
    assert refused.value.reason == "bad signature"


def test_extra_segments_are_refused(pair: jose.KeyPair) -> None:
    """python-jose alone would read a.b.c.d as header a, payload "b.c": we refuse it."""
    header, payload, signature = _sign(pair).split(".")
    with pytest.raises(InvalidToken):
        _verify(f"{header}.{payload}.x.{signature}", pair)


# --- claims ------------------------------------------------------------------------------------


def test_exp_is_required(pair: jose.KeyPair) -> None:
    with pytest.raises(InvalidToken) as refused:
        _verify(_sign(pair, _claims(exp=None)), pair)
    assert not isinstance(refused.value, TokenExpired)
    assert refused.value.reason == "the exp claim is missing"


@pytest.mark.parametrize("exp", ["soon", True, 10**400, [1], {"a": 1}])
def test_a_non_numeric_exp_is_refused(pair: jose.KeyPair, exp: object) -> None:
    with pytest.raises(InvalidToken) as refused:
        _verify(_sign(pair, _claims(exp=exp)), pair)
    assert not isinstance(refused.value, TokenExpired)


def test_expired_tokens_raise_token_expired(pair: jose.KeyPair) -> None:
    at = int(NOW.timestamp())
    token = _sign(pair, _claims(iat=at - 600, exp=at - 10))
    with pytest.raises(TokenExpired) as refused:
        _verify(token, pair)
    assert refused.value.code == "TOKEN_EXPIRED"
    assert "expired" in refused.value.message
    # Within the leeway it is still accepted; at exp exactly it is not (valid only before exp).
    assert _verify(token, pair, leeway=dt.timedelta(seconds=11))
    with pytest.raises(TokenExpired):
        _verify(_sign(pair, _claims(exp=at)), pair)


def test_not_before_and_issued_at_in_the_future_are_refused(pair: jose.KeyPair) -> None:
    at = int(NOW.timestamp())
    with pytest.raises(InvalidToken, match="not valid"):
        _verify(_sign(pair, _claims(nbf=at + 60)), pair)
    with pytest.raises(InvalidToken):
        _verify(_sign(pair, _claims(iat=at + 60)), pair)
    assert _verify(_sign(pair, _claims(iat=at + 60, nbf=at + 60)), pair, leeway=60)


@pytest.mark.parametrize(
    "aud", ["someone-else", ["someone-else"], None, ["someone-else", 5, AUD], 5, ""]
)
def test_wrong_audience_is_refused(pair: jose.KeyPair, aud: object) -> None:
    with pytest.raises(InvalidToken) as refused:
        _verify(_sign(pair, _claims(aud=aud)), pair)
    assert refused.value.reason == "wrong audience"


@pytest.mark.parametrize("iss", ["https://evil.example", None, ISS + "/", ISS.upper()])
def test_wrong_issuer_is_refused(pair: jose.KeyPair, iss: str | None) -> None:
    with pytest.raises(InvalidToken) as refused:
        _verify(_sign(pair, _claims(iss=iss)), pair)
    assert refused.value.reason == "wrong issuer"


def test_required_claims(pair: jose.KeyPair) -> None:
    token = _sign(pair)
    assert _verify(token, pair, require=("sub",))
    with pytest.raises(InvalidToken, match="not valid") as refused:
        _verify(token, pair, require=("jti",))
    assert refused.value.reason == "the jti claim is missing"


# --- errors ------------------------------------------------------------------------------------


def test_invalid_token_is_a_401_with_a_stable_code() -> None:
    error = InvalidToken(reason="whatever")
    assert isinstance(error, NotAuthenticated)
    assert error.status_code == 401 and error.code == "INVALID_TOKEN"
    assert error.message == "This token is not valid (expired, revoked or malformed)."
    assert "whatever" not in error.message
    assert issubclass(TokenExpired, InvalidToken) and TokenExpired.code == "TOKEN_EXPIRED"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d.e",  # a JWE
        "a..c",
        "..",
        "!!!.b.c",
        "e30.e30.e30",  # {} . {} . {}
        "bnVsbA.e30.c2ln",  # header "null"
        "WzFd.e30.c2ln",  # header [1]
        "/w.e30.c2ln",  # not base64url
        "_w.e30.c2ln",  # base64url of a lone 0xff byte: not UTF-8
        "x" * 10_000,
    ],
)
def test_garbage_is_refused_with_our_error(pair: jose.KeyPair, token: str) -> None:
    with pytest.raises(InvalidToken):
        _verify(token, pair)


def test_peek_header_reads_without_verifying(pair: jose.KeyPair) -> None:
    token = unsigned({"alg": "none", "kid": "anything"}, {})
    assert jose.peek_header(token + "sig") == {"alg": "none", "kid": "anything"}
    with pytest.raises(InvalidToken):
        jose.peek_header(token)  # empty signature segment
    with pytest.raises(InvalidToken):
        jose.peek_header(12)  # type: ignore[arg-type]


def test_verify_needs_an_aware_now(pair: jose.KeyPair) -> None:
    with pytest.raises(ValueError, match="aware"):
        _verify(_sign(pair), pair, now=dt.datetime(2030, 1, 1))


_b64_chars = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


# Hypothesis cannot use function fixtures: one key pair and token for the fuzzing below.
_HYPOTHESIS_PAIR = jose.generate_key_pair()
_HYPOTHESIS_TOKEN = jose.sign(
    _claims(), _HYPOTHESIS_PAIR.private_pem, _HYPOTHESIS_PAIR.kid, "ES256"
)


@settings(max_examples=300, deadline=None, database=None)
@given(token=st.one_of(st.text(max_size=300), st.text(_b64_chars, max_size=300)))
def test_no_library_error_escapes_on_random_input(token: str) -> None:
    with contextlib.suppress(InvalidToken):
        _verify(token, _HYPOTHESIS_PAIR)


@settings(max_examples=300, deadline=None, database=None)
@given(position=st.integers(min_value=0), char=_b64_chars)
def test_no_library_error_escapes_on_a_mutated_token(position: int, char: str) -> None:
    token = _HYPOTHESIS_TOKEN
    i = position % len(token)
    mutated = token[:i] + char + token[i + 1 :]
    try:
        claims = _verify(mutated, _HYPOTHESIS_PAIR)
    except InvalidToken:
        return
    # Only a no-op change (or ECDSA's harmless re-encoding) may still verify, with the same claims.
    assert claims == _claims()


# --- the library stays behind the wrapper ------------------------------------------------------


def _imports_jose(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            alias.name == "jose" or alias.name.startswith("jose.") for alias in node.names
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module is not None
            and (node.module == "jose" or node.module.startswith("jose."))
        ):
            return True
        if (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value.split(".")[0] == "jose"
        ):
            return True  # importlib.import_module("jose") and the like
    return False


def test_only_the_wrapper_imports_python_jose() -> None:
    wrapper = SERVER / "identity" / "jose.py"
    importers = {
        path.relative_to(SERVER.parent).as_posix()
        for path in SERVER.rglob("*.py")
        if _imports_jose(ast.parse(path.read_text(), filename=str(path)))
    }
    assert importers == {wrapper.relative_to(SERVER.parent).as_posix()}
