"""Signing in and verifying with OpenID Connect, against a real (tiny) provider on loopback.

Moot runs in-process (httpx's ASGI transport, base URL http://localhost); the provider runs in
uvicorn on 127.0.0.1 (tests/identity/idp.py). A second httpx client plays the browser's visit to
the provider: it follows nothing, so each redirect is checked on the way.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from server.app import create_app
from server.audit.models import AuditEntry
from server.db import Database
from server.identity import oidc
from server.identity import service as identity
from server.identity.auth import SESSION_COOKIE
from server.identity.models import (
    Account,
    AccountKind,
    OidcLogin,
    Session,
    Verification,
    VerificationConflict,
)
from server.identity.oidc_pages import STATE_COOKIE
from server.identity.verification import IdentityInUse
from server.settings import Settings
from tests.factories import make_account, now, sign_in
from tests.identity.idp import IdentityProvider, as_setting

CALLBACK = "http://localhost/sign-in/oidc/idp/callback"
CHECKS_FAILED = "its answer did not pass our checks"


class Clock:
    """Monotonic seconds the test moves by hand (the JWKS refetch interval)."""

    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(autouse=True)
def _fresh_idp(idp: IdentityProvider) -> None:
    idp.reset()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path, idp: IdentityProvider) -> Settings:
    return Settings(
        database_url=None,
        var_dir=tmp_path / "var",
        environment="test",
        oidc_providers=as_setting(idp.provider_config(scopes=["profile", "address"])),
    )


@pytest.fixture
def app(settings: Settings, db: Database, clock: Clock) -> Starlette:
    app = create_app(settings, db=db)
    app.state.oidc = oidc.Registry.from_settings(settings, clock=clock)
    return app


@pytest.fixture
async def idp_http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as c:
        yield c


def use_provider(app: Starlette, clock: Clock, entry: dict[str, Any]) -> None:
    app.state.oidc = oidc.Registry(oidc.parse_providers(as_setting(entry)), clock=clock)


async def to_provider(client: httpx.AsyncClient, idp_http: httpx.AsyncClient, path: str) -> str:
    """Start at Moot, visit the provider; returns the callback URL the provider sent back."""
    start = await client.get(path)
    assert start.status_code == 303, start.text
    at_idp = await idp_http.get(start.headers["location"])
    assert at_idp.status_code == 302, at_idp.text
    callback = at_idp.headers["location"]
    assert callback.startswith(CALLBACK + "?")
    return callback


async def login(
    client: httpx.AsyncClient, idp_http: httpx.AsyncClient, path: str = "/sign-in/oidc/idp"
) -> tuple[httpx.Response, str]:
    callback = await to_provider(client, idp_http, path)
    return await client.get(callback), callback


def state_of(callback: str) -> str:
    return parse_qs(urlsplit(callback).query)["state"][0]


async def counts(session: AsyncSession) -> dict[str, int]:
    found = {}
    for model in (Account, Session, Verification, VerificationConflict):
        count = await session.scalar(select(func.count()).select_from(model))
        found[model.__tablename__] = count or 0
    return found


async def account_by_email(session: AsyncSession, email: str) -> Account | None:
    return await session.scalar(
        select(Account).where(Account.email == email).execution_options(populate_existing=True)
    )


async def verifications_of(session: AsyncSession, account: Account) -> list[Verification]:
    await session.refresh(account)
    if account.person_id is None:
        return []
    return list(
        await session.scalars(
            select(Verification)
            .where(Verification.person_id == account.person_id)
            .execution_options(populate_existing=True)
        )
    )


async def audit_entries(session: AsyncSession, action: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list(await session.scalars(query))


def signed_in_by(response: httpx.Response) -> bool:
    return any(
        value.startswith(f"{SESSION_COOKIE}=") for value in response.headers.get_list("set-cookie")
    )


# --- signing in ------------------------------------------------------------------------------


async def test_sign_in_creates_an_account_with_the_verified_email(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
    app: Starlette,
) -> None:
    idp.login_as(
        "sub-new-1",
        email="New.Person@Example.ORG",
        birthdate="1990-05-17",
        address={"postal_code": "ex14 1ab"},
    )
    response, _ = await login(client, idp_http)
    assert response.status_code == 303 and response.headers["location"] == "/account"
    assert SESSION_COOKIE in client.cookies

    account = await account_by_email(session, "New.Person@example.org")
    assert account is not None
    assert account.kind == AccountKind.FULL and account.email == "New.Person@example.org"
    assert account.email_verified_at is not None and account.password_hash is None
    [verification] = await verifications_of(session, account)
    assert verification.method == "oidc"
    assert verification.identity_key == app.state.keys.identity_key(
        "oidc", f"{idp.issuer}|sub-new-1"
    )
    # Coarse claims only: no email, no full postcode, no date of birth.
    assert verification.claims == {
        "provider": "idp",
        "postcode_area": "EX",
        "birth_year": 1990,
        "over_16": True,
    }
    [params] = idp.authorize_params
    assert params["scope"].split() == ["openid", "email", "profile", "address"]
    assert params["response_type"] == "code" and params["code_challenge_method"] == "S256"
    assert params["redirect_uri"] == CALLBACK and params["nonce"] and params["state"]
    assert idp.auth_methods == ["client_secret_basic"]
    page = await client.get("/account")
    assert page.status_code == 200 and "New.Person@example.org" in page.text


async def test_signing_in_again_finds_the_same_account(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
) -> None:
    idp.login_as("sub-again", email="again@example.org")
    first, _ = await login(client, idp_http)
    assert first.status_code == 303
    before = await counts(session)
    client.cookies.clear()
    # The provider may change the email it shares: the identity decides, not the email.
    idp.login_as("sub-again", email="changed@example.org")
    second, _ = await login(client, idp_http, "/sign-in/oidc/idp?next=/calls/some-call")
    assert second.status_code == 303 and second.headers["location"] == "/calls/some-call"
    after = await counts(session)
    assert after["accounts"] == before["accounts"]
    assert after["sessions"] == before["sessions"] + 1
    account = await account_by_email(session, "again@example.org")
    assert account is not None
    sessions = await session.scalar(
        select(func.count()).select_from(Session).where(Session.account_id == account.id)
    )
    assert sessions == 2
    assert await account_by_email(session, "changed@example.org") is None
    # Discovery and keys were fetched once and cached.
    assert idp.hits["discovery"] == 1 and idp.hits["jwks"] == 1
    # Never an open redirect.
    client.cookies.clear()
    third, _ = await login(client, idp_http, "/sign-in/oidc/idp?next=//evil.example/")
    assert third.headers["location"] == "/account"


async def test_a_verified_email_with_an_account_signs_into_it(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
) -> None:
    existing = await make_account(session, email="known@example.org")
    # Someone signed up with this address but never confirmed it: perhaps not its owner.
    await identity.sign_up(
        session,
        email="unconfirmed@example.org",
        password="a long enough passphrase",
        base_url="http://localhost",
        now=now(),
    )
    idp.login_as("sub-known", email="KNOWN@example.org")
    response, _ = await login(client, idp_http)
    assert response.status_code == 303
    assert len(await verifications_of(session, existing)) == 1

    client.cookies.clear()
    idp.login_as("sub-unconfirmed", email="unconfirmed@example.org")
    response, _ = await login(client, idp_http)
    assert response.status_code == 303
    account = await account_by_email(session, "unconfirmed@example.org")
    assert account is not None
    assert account.email_verified_at is not None
    assert account.password_hash is None  # the stranger's password does not survive


@pytest.mark.parametrize(
    "claims",
    [{}, {"email": "unverified@example.org", "email_verified": False}],
    ids=["no-email", "unverified-email"],
)
async def test_no_verified_email_asks_to_sign_up_first(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
    claims: dict[str, Any],
) -> None:
    idp.login_as("sub-no-email", **claims)
    before = await counts(session)
    response, _ = await login(client, idp_http)
    assert response.status_code == 400
    assert "did not share a confirmed email address" in response.text
    assert "Please sign up first" in response.text
    assert await counts(session) == before
    assert not signed_in_by(response)


async def test_userinfo_claims_when_configured(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
    app: Starlette,
    clock: Clock,
) -> None:
    use_provider(app, clock, idp.provider_config(userinfo=True))
    idp.login_as("sub-userinfo")
    idp.userinfo_claims = {
        "email": "from-userinfo@example.org",
        "email_verified": True,
        "postal_code": "PL1 1AA",
    }
    response, _ = await login(client, idp_http)
    assert response.status_code == 303
    account = await account_by_email(session, "from-userinfo@example.org")
    assert account is not None
    [verification] = await verifications_of(session, account)
    assert verification.claims == {"provider": "idp", "postcode_area": "PL"}
    assert idp.hits["userinfo"] == 1


async def test_client_secret_post_when_configured(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    app: Starlette,
    clock: Clock,
) -> None:
    use_provider(app, clock, idp.provider_config(token_auth="client_secret_post"))
    response, _ = await login(client, idp_http)
    assert response.status_code == 303, response.text
    assert idp.auth_methods == ["client_secret_post"]


async def test_es256_signed_id_tokens(
    client: httpx.AsyncClient, idp_http: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    idp.sign_with("ES256")
    response, _ = await login(client, idp_http)
    assert response.status_code == 303


async def test_an_algorithm_the_provider_does_not_advertise_is_refused(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
) -> None:
    idp.algorithms = ["RS256"]
    idp.sign_with("ES256")
    before = await counts(session)
    response, _ = await login(client, idp_http)
    assert response.status_code == 400 and CHECKS_FAILED in response.text
    assert await counts(session) == before


# --- verifying a signed-in account ------------------------------------------------------------


async def test_a_signed_in_account_is_verified_with_mapped_claims(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
) -> None:
    account = await make_account(session, email="resident@example.org")
    await sign_in(client, session, account)
    idp.login_as(
        "sub-verify",
        email="somewhere.else@example.org",
        birthdate="2012-01-01",
        address={"postal_code": "TR1 2HE", "country": "GB"},
    )
    before = await counts(session)
    response, _ = await login(client, idp_http)
    assert response.status_code == 303
    assert response.headers["location"] == "/account?done=verified"
    assert not signed_in_by(response)  # the same session goes on
    [verification] = await verifications_of(session, account)
    assert verification.claims == {
        "provider": "idp",
        "postcode_area": "TR",
        "birth_year": 2012,
        "over_16": False,
    }
    after = await counts(session)
    assert after["accounts"] == before["accounts"] and after["sessions"] == before["sessions"]
    assert await account_by_email(session, "somewhere.else@example.org") is None
    assert account.email == "resident@example.org"


async def test_an_identity_verifying_another_account_is_a_conflict(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
) -> None:
    first = await make_account(session)
    await sign_in(client, session, first)
    idp.login_as("sub-shared")
    verified, _ = await login(client, idp_http)
    assert verified.status_code == 303

    client.cookies.clear()
    second = await make_account(session)
    await sign_in(client, session, second)
    refused, _ = await login(client, idp_http)
    assert refused.status_code == 409
    assert IdentityInUse.default_message.split(";")[0] in refused.text
    conflict = await session.scalar(
        select(VerificationConflict).where(VerificationConflict.claimant_account_id == second.id)
    )
    assert conflict is not None and conflict.method == "oidc"
    assert await verifications_of(session, second) == []
    assert len(await verifications_of(session, first)) == 1


# --- refusals ---------------------------------------------------------------------------------


async def test_a_replayed_callback_is_refused(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
) -> None:
    response, callback = await login(client, idp_http)
    assert response.status_code == 303
    before = await counts(session)
    tokens_issued = idp.hits["token"]
    # Same browser, same state cookie, same callback.
    client.cookies.clear()
    client.cookies.set(STATE_COOKIE, state_of(callback))
    replay = await client.get(callback)
    assert replay.status_code == 400
    assert "has expired or has already been used" in replay.text
    assert not signed_in_by(replay)
    assert await counts(session) == before
    assert idp.hits["token"] == tokens_issued  # refused before asking the provider


BAD_TOKENS = {
    "nonce-mismatch": ({"nonce": "a-nonce-from-another-login"}, "wrong nonce"),
    "no-nonce": ({"drop": ["nonce"]}, "nonce claim is missing"),
    "wrong-audience": ({"aud": "another-client"}, "wrong audience"),
    "several-audiences-without-azp": ({"aud": ["moot-test-client", "another"]}, "azp"),
    "wrong-azp": ({"azp": "another-client"}, "azp"),
    "wrong-issuer": ({"iss": "https://evil.example"}, "wrong issuer"),
    "expired": ({"exp_in": -120}, "exp claim has passed"),
    "issued-long-ago": ({"iat_ago": 3600, "exp_in": 7200}, "iat"),
    "alg-none": ({"alg": "none"}, "not a compact JWS"),
    "hs256-with-public-key": ({"alg": "HS256"}, "alg does not match"),
    "unknown-kid": ({"kid": "made-up"}, "unknown key"),
}


@pytest.mark.parametrize(("tamper", "reason"), BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_bad_id_tokens_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
    tamper: dict[str, Any],
    reason: str,
) -> None:
    idp.login_as("sub-bad-token", email="bad.token@example.org")
    idp.next_token(**tamper)
    before = await counts(session)
    response, callback = await login(client, idp_http)
    assert response.status_code == 400
    assert "We could not confirm who you are with Test ID" in response.text
    assert CHECKS_FAILED in response.text
    assert not signed_in_by(response)
    assert await counts(session) == before  # no account, session, verification or conflict
    assert await account_by_email(session, "bad.token@example.org") is None
    login_row = await session.scalar(
        select(OidcLogin)
        .where(OidcLogin.state == state_of(callback))
        .execution_options(populate_existing=True)
    )
    assert login_row is not None and login_row.used_at is not None  # used up all the same
    [refusal] = await audit_entries(session, "oidc.refused")
    assert reason in refusal.details["reason"]
    assert refusal.details["provider"] == "idp"


async def test_a_bad_token_while_verifying_changes_nothing(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
) -> None:
    account = await make_account(session)
    await sign_in(client, session, account)
    idp.next_token(aud="another-client")
    before = await counts(session)
    response, _ = await login(client, idp_http)
    assert response.status_code == 400 and CHECKS_FAILED in response.text
    assert "Verifying with Test ID did not work" in response.text
    assert await counts(session) == before
    assert await verifications_of(session, account) == []


async def test_an_old_or_foreign_login_is_refused_without_changes(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
) -> None:
    before = await counts(session)
    # Older than ten minutes.
    callback = await to_provider(client, idp_http, "/sign-in/oidc/idp")
    await session.execute(
        update(OidcLogin)
        .where(OidcLogin.state == state_of(callback))
        .values(created_at=now() - dt.timedelta(minutes=11))
    )
    late = await client.get(callback)
    assert late.status_code == 400 and "within 10 minutes" in late.text
    # Finished in another browser (no state cookie): someone else's link.
    callback = await to_provider(client, idp_http, "/sign-in/oidc/idp")
    client.cookies.clear()
    foreign = await client.get(callback)
    assert foreign.status_code == 400 and "started in this browser" in foreign.text
    # Signed in while away.
    callback = await to_provider(client, idp_http, "/sign-in/oidc/idp")
    await sign_in(client, session, await make_account(session))
    changed = await client.get(callback)
    assert changed.status_code == 400 and "You signed in or out" in changed.text
    assert idp.hits["token"] == 0
    after = await counts(session)
    assert after["accounts"] == before["accounts"] + 1  # the one made above
    assert after["verifications"] == before["verifications"]
    used = await session.scalar(
        select(func.count()).select_from(OidcLogin).where(OidcLogin.used_at.is_not(None))
    )
    assert used == 0


async def test_key_rotation_refetches_the_keys_once(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    clock: Clock,
) -> None:
    first, _ = await login(client, idp_http)
    assert first.status_code == 303 and idp.hits["jwks"] == 1
    idp.rotate_key()
    clock.advance(oidc.JWKS_MIN_INTERVAL + 1)
    client.cookies.clear()
    second, _ = await login(client, idp_http)
    assert second.status_code == 303
    assert idp.hits["jwks"] == 2  # the unknown kid made us look again, once
    # A flood of made-up kids does not reach the provider more than once an interval.
    for _ in range(3):
        idp.next_token(kid="made-up")
        client.cookies.clear()
        refused, _ = await login(client, idp_http)
        assert refused.status_code == 400
    assert idp.hits["jwks"] == 2
    clock.advance(oidc.JWKS_MIN_INTERVAL + 1)
    idp.next_token(kid="made-up")
    client.cookies.clear()
    refused, _ = await login(client, idp_http)
    assert refused.status_code == 400 and idp.hits["jwks"] == 3


@pytest.mark.parametrize(
    ("error", "heading"),
    [
        ("access_denied", "You did not continue with Test ID"),
        ("temporarily_unavailable", "could not complete this just now"),
    ],
    ids=["access_denied", "temporarily_unavailable"],
)
async def test_a_provider_error_shows_a_clear_page(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
    error: str,
    heading: str,
) -> None:
    idp.deny_next(error)
    before = await counts(session)
    response, callback = await login(client, idp_http)
    assert response.status_code == 400 and heading in response.text
    assert "nothing was changed" in response.text.lower()
    assert 'href="/sign-in/oidc/idp"' in response.text  # try again
    assert not signed_in_by(response)
    assert await counts(session) == before
    login_row = await session.scalar(
        select(OidcLogin)
        .where(OidcLogin.state == state_of(callback))
        .execution_options(populate_existing=True)
    )
    assert login_row is not None and login_row.used_at is not None
    [cancelled] = await audit_entries(session, "oidc.cancelled")
    assert cancelled.details == {"provider": "idp", "error": error}


async def test_an_unknown_provider_is_not_found(client: httpx.AsyncClient) -> None:
    assert (await client.get("/sign-in/oidc/nope")).status_code == 404
    assert (await client.get("/sign-in/oidc/nope/callback?state=x&code=y")).status_code == 404


async def test_the_provider_being_down_is_explained(
    client: httpx.AsyncClient, app: Starlette, clock: Clock
) -> None:
    entry = {
        "name": "idp",
        "title": "Down ID",
        "issuer": "http://127.0.0.1:9",  # discard port: nothing listens
        "client_id": "x",
        "client_secret": "y",
    }
    use_provider(app, clock, entry)
    response = await client.get("/sign-in/oidc/idp")
    assert response.status_code == 503
    assert "We could not reach Down ID just now" in response.text


async def test_no_personal_data_in_the_audit_log(
    client: httpx.AsyncClient,
    idp_http: httpx.AsyncClient,
    idp: IdentityProvider,
    session: AsyncSession,
) -> None:
    sub, email = "sub-private-7f3a", "private.person@example.org"
    idp.login_as(sub, email=email, birthdate="1980-02-29", address={"postal_code": "EX1 1AA"})
    assert (await login(client, idp_http))[0].status_code == 303  # new account
    client.cookies.clear()
    idp.next_token(nonce="wrong")
    assert (await login(client, idp_http))[0].status_code == 400  # refused
    other = await make_account(session)
    await sign_in(client, session, other)
    assert (await login(client, idp_http))[0].status_code == 409  # conflict
    client.cookies.clear()
    idp.deny_next()
    assert (await login(client, idp_http))[0].status_code == 400  # cancelled

    entries = await audit_entries(session)
    actions = {entry.action for entry in entries}
    assert {
        "account.created",
        "verification.added",
        "account.signed_in",
        "oidc.refused",
        "verification.conflict",
        "oidc.cancelled",
    } <= actions
    dump = json.dumps([[e.action, e.subject_type, e.details] for e in entries]).lower()
    for secret in (sub, email, "private.person", "ex1 1aa", "1980-02-29"):
        assert secret.lower() not in dump


# --- configuration and the buttons ------------------------------------------------------------


def test_providers_parse_with_defaults_and_options() -> None:
    providers = oidc.parse_providers(
        as_setting(
            {
                "name": "govuk",
                "title": "GOV.UK One Login",
                "issuer": "https://oidc.account.gov.uk/",
                "client_id": "abc",
                "client_secret": "xyz",
                "scopes": ["phone"],
                "claims": {"birthdate": None, "org": "member_of"},
                "token_auth": "client_secret_post",
            }
        )
    )
    govuk = providers["govuk"]
    assert govuk.scope == "openid email phone"
    assert govuk.discovery_url == "https://oidc.account.gov.uk/.well-known/openid-configuration"
    assert dict(govuk.claims) == {
        "address.postal_code": "postcode",
        "postal_code": "postcode",
        "org": "member_of",
    }
    assert "xyz" not in repr(govuk)
    assert oidc.parse_providers(None) == {} and oidc.parse_providers("  ") == {}


BAD_CONFIGS = {
    "not-json": ("[{", "not valid JSON"),
    "not-a-list": ('{"name": "x"}', "must be a JSON list"),
    "missing-key": (
        json.dumps([{"name": "x", "title": "X", "issuer": "https://x"}]),
        "missing the key 'client_id'",
    ),
    "unknown-key": ([{"client_secert": "typo"}], "unknown key 'client_secert'"),
    "http-issuer": ([{"issuer": "http://login.example.org"}], ".issuer must use https://"),
    "issuer-query": ([{"issuer": "https://login.example.org/?a=1"}], ".issuer must not have"),
    "bad-name": ([{"name": "GOV UK"}], ".name must be lower-case"),
    "bad-scopes": ([{"scopes": "profile"}], ".scopes must be a list"),
    "bad-claim-kind": ([{"claims": {"birthdate": "full_birthdate"}}], ".claims['birthdate']"),
    "email-as-claim": ([{"claims": {"email": "member_of"}}], "never a verification claim"),
    "bad-token-auth": ([{"token_auth": "private_key_jwt"}], ".token_auth must be one of"),
    "duplicate": ([{}, {}], "'govuk' is used twice"),
}


@pytest.mark.parametrize(("config", "message"), BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_bad_provider_config_names_the_key(config: str | list[Any], message: str) -> None:
    valid = {
        "name": "govuk",
        "title": "GOV.UK One Login",
        "issuer": "https://oidc.account.gov.uk/",
        "client_id": "abc",
        "client_secret": "very-secret-value",
    }
    if isinstance(config, list):
        raw = json.dumps([{**valid, **changes} for changes in config])
    else:
        raw = config
    with pytest.raises(oidc.OidcConfigError) as caught:
        oidc.parse_providers(raw)
    assert message in str(caught.value)
    assert "very-secret-value" not in str(caught.value)


def test_loopback_issuers_may_use_http() -> None:
    for issuer in ("http://127.0.0.1:8123", "http://localhost:9000/realm"):
        entry = {
            "name": "t",
            "title": "T",
            "issuer": issuer,
            "client_id": "c",
            "client_secret": "s",
        }
        assert oidc.parse_providers(as_setting(entry))["t"].issuer == issuer


def test_the_buttons_partial_lists_the_providers(app: Starlette) -> None:
    providers = list(app.state.oidc.providers.values())
    html = app.state.templates.get_template("identity/_oidc_buttons.html").render(
        oidc_providers=providers, next="/calls/abc"
    )
    assert "Continue with Test ID" in html
    assert 'href="/sign-in/oidc/idp?next=/calls/abc"' in html
    empty = app.state.templates.get_template("identity/_oidc_buttons.html").render(
        oidc_providers=[]
    )
    assert empty.strip() == ""
