"""The identity API through a real GraphQL client (gql): viewer, personas, tokens, deletion."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from sqlalchemy import select

from server.db import Database
from server.identity import tokens
from server.identity.models import Account, Role
from server.personas.models import Persona
from tests.factories import csrf_token, make_account, make_token, now, sign_in

VIEWER = gql(
    "query { viewer { email verified personas { displayName kind } apiTokens { name scopes } } }"
)
CREATE = gql(
    """mutation($name: String!) {
      createPersona(kind: RESIDENT, input: {displayName: $name, avatarColour: "#336699"}) {
        persona { id displayName kind verified }
        errors { field message code }
      }
    }"""
)


async def _token(
    db: Database,
    app: Any,
    *,
    scopes: list[str] | None = None,
    expires_in: dt.timedelta = dt.timedelta(days=30),
) -> tuple[int, str]:
    async with db.session() as s, s.begin():
        account = await make_account(s)
        jwt = await make_token(
            s,
            app.state.keys,
            account,
            scopes=scopes or ["read", "participate"],
            expires_in=expires_in,
        )
    return account.id, jwt


def _client(app: Any, token: str | None = None, **headers: str) -> Client:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    transport = HTTPXAsyncTransport(
        url="http://localhost/graphql",
        headers=headers,
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
    )
    return Client(transport=transport, fetch_schema_from_transport=False)


async def test_anonymous_viewer_is_null(live_app: Any) -> None:
    async with _client(live_app) as session:
        assert await session.execute(gql("{ viewer { email } }")) == {"viewer": None}


async def test_bearer_token_acts_as_the_account(live_app: Any, live_db: Database) -> None:
    _, jwt = await _token(live_db, live_app)
    async with _client(live_app, jwt) as session:
        created = await session.execute(
            GraphQLRequest(CREATE, variable_values={"name": "Jane, resident of Exeter"})
        )
        payload = created["createPersona"]
        assert payload["errors"] == []
        assert payload["persona"]["displayName"] == "Jane, resident of Exeter"
        viewer = (await session.execute(VIEWER))["viewer"]
    assert viewer["email"].endswith("@example.org") and viewer["verified"] is False
    assert viewer["personas"] == [{"displayName": "Jane, resident of Exeter", "kind": "RESIDENT"}]
    assert viewer["apiTokens"] == [{"name": "test", "scopes": ["read", "participate"]}]


async def test_bad_input_is_a_user_error_and_changes_nothing(
    live_app: Any, live_db: Database
) -> None:
    account_id, jwt = await _token(live_db, live_app)
    async with _client(live_app, jwt) as session:
        result = await session.execute(GraphQLRequest(CREATE, variable_values={"name": "   "}))
    assert result["createPersona"]["persona"] is None
    assert result["createPersona"]["errors"] == [
        {
            "field": "display_name",
            "message": "Give the persona a name people will see.",
            "code": "INVALID_INPUT",
        }
    ]
    async with live_db.session() as s:
        assert list(await s.scalars(select(Persona).where(Persona.account_id == account_id))) == []


async def test_mutations_need_a_signed_in_caller_with_scope(
    live_app: Any, live_db: Database
) -> None:
    async with _client(live_app) as session:
        with pytest.raises(TransportQueryError) as anonymous:
            await session.execute(GraphQLRequest(CREATE, variable_values={"name": "X"}))
    assert anonymous.value.errors
    assert anonymous.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    _, read_only = await _token(live_db, live_app, scopes=["read"])
    async with _client(live_app, read_only) as session:
        with pytest.raises(TransportQueryError) as reader:
            await session.execute(GraphQLRequest(CREATE, variable_values={"name": "X"}))
    assert reader.value.errors
    assert reader.value.errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert "participate" in reader.value.errors[0]["message"]


def _forge_none(jwt: str) -> str:
    header, payload, _ = jwt.split(".")
    head = json.loads(base64.urlsafe_b64decode(header + "=="))
    head["alg"] = "none"
    forged = base64.urlsafe_b64encode(json.dumps(head).encode()).decode().rstrip("=")
    return f"{forged}.{payload}."


@pytest.mark.parametrize("kind", ["garbage", "alg-none", "revoked", "expired"])
async def test_bad_tokens_get_401_with_a_stable_code(
    live_app: Any, live_db: Database, kind: str
) -> None:
    account_id, jwt = await _token(live_db, live_app)
    if kind == "garbage":
        jwt = "not.a.token"
    elif kind == "alg-none":
        jwt = _forge_none(jwt)
    elif kind == "revoked":
        async with live_db.session() as s, s.begin():
            account = await s.get(Account, account_id)
            assert account is not None
            [row] = await tokens.list_tokens(s, account)
            await tokens.revoke_token(s, account, row.id, now=now())
    elif kind == "expired":
        async with live_db.session() as s, s.begin():
            account = await s.get(Account, account_id)
            assert account is not None
            jwt = await make_token(
                s, live_app.state.keys, account, scopes=["read"], at=now() - dt.timedelta(days=2)
            )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=live_app), base_url="http://localhost"
    ) as c:
        response = await c.post(
            "/graphql",
            json={"query": "{ viewer { email } }"},
            headers={"Authorization": f"Bearer {jwt}"},
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["errors"][0]
    expected = "TOKEN_EXPIRED" if kind == "expired" else "INVALID_TOKEN"
    assert error["extensions"]["code"] == expected
    assert "expired" in error["message"] or "not valid" in error["message"]
    with pytest.raises(TransportQueryError) as refused:
        async with _client(live_app, jwt) as session:
            await session.execute(VIEWER)
    assert refused.value.errors
    assert refused.value.errors[0]["extensions"]["code"] == expected


async def test_session_cookie_counts_only_with_the_csrf_header(
    live_app: Any, live_db: Database
) -> None:
    transport = httpx.ASGITransport(app=live_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as browser:
        async with live_db.session() as s, s.begin():
            account = await make_account(s, email="cookie@example.org")
            await sign_in(browser, s, account)
        query = {"query": "{ viewer { email } }"}
        cross_site = await browser.post("/graphql", json=query)
        assert cross_site.json() == {"data": {"viewer": None}}
        token = await csrf_token(browser)
        ours = await browser.post("/graphql", json=query, headers={"X-CSRF-Token": token})
        assert ours.json() == {"data": {"viewer": {"email": "cookie@example.org"}}}


async def test_export_and_delete_through_the_api(live_app: Any, live_db: Database) -> None:
    account_id, jwt = await _token(live_db, live_app)
    async with _client(live_app, jwt) as session:
        exported = await session.execute(gql("{ viewer { exportData } }"))
        assert exported["viewer"]["exportData"]["account"]["id"] == account_id
        refused = await session.execute(
            gql('mutation { deleteAccount(confirm: "yes") { deleted errors { field } } }')
        )
        assert refused["deleteAccount"] == {"deleted": False, "errors": [{"field": "confirm"}]}
        done = await session.execute(
            gql('mutation { deleteAccount(confirm: "DELETE") { deleted errors { field } } }')
        )
        assert done["deleteAccount"] == {"deleted": True, "errors": []}
    async with live_db.session() as s:
        account = await s.get(Account, account_id)
        assert account is not None and account.deleted_at is not None and account.email is None
    # Its tokens died with it.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=live_app), base_url="http://localhost"
    ) as c:
        response = await c.post(
            "/graphql",
            json={"query": "{ viewer { email } }"},
            headers={"Authorization": f"Bearer {jwt}"},
        )
    assert response.status_code == 401


async def test_jwks_is_published(live_client: httpx.AsyncClient) -> None:
    keys = (await live_client.get("/.well-known/jwks.json")).json()["keys"]
    assert keys and all(k["kty"] == "EC" and k["alg"] == "ES256" and "d" not in k for k in keys)


async def test_token_pages(live_client: httpx.AsyncClient, live_db: Database) -> None:
    async with live_db.session() as s, s.begin():
        account = await make_account(s)
        await sign_in(live_client, s, account)
    csrf = await csrf_token(live_client)
    bad = await live_client.post(
        "/account/tokens", data={"csrf_token": csrf, "name": "", "days": "30"}
    )
    assert bad.status_code == 422
    made = await live_client.post(
        "/account/tokens",
        data={"csrf_token": csrf, "name": "Newsletter", "scopes": ["read"], "days": "30"},
    )
    assert made.status_code == 200 and "Copy it now" in made.text
    jwt = made.text.split('<textarea id="new-token" readonly rows="4">')[1].split("</textarea>")[0]
    response = await live_client.post(
        "/graphql",
        json={"query": "{ viewer { email } }"},
        headers={"Authorization": f"Bearer {jwt}"},
    )
    assert response.json()["data"]["viewer"]["email"] == account.email


REDEEM = gql(
    "mutation($c: String!) { redeemVerificationCode(code: $c) {"
    " verification { method claims } errors { message code } } }"
)
MATCH = gql(
    "mutation($n: String!, $d: String!, $p: String!) {"
    " matchRegister(name: $n, dateOfBirth: $d, postcode: $p)"
    " { verification { method claims } errors { field message code } } }"
)


async def test_verify_with_a_code_through_the_api(live_app: Any, live_db: Database) -> None:
    from server.identity import codes

    async with live_db.session() as s, s.begin():
        moderator = await make_account(s, role=Role.MODERATOR)
        batch = await codes.issue_codes(
            s,
            live_app.state.keys,
            moderator,
            count=1,
            label="letters",
            claims={"postcode_area": "EX"},
            expires_at=now() + dt.timedelta(days=30),
            now=now(),
        )
    _, first = await _token(live_db, live_app)
    _, second = await _token(live_db, live_app)
    async with _client(live_app, first) as session:
        wrong = await session.execute(GraphQLRequest(REDEEM, variable_values={"c": "ABCD-EFGH-JK"}))
        assert wrong["redeemVerificationCode"]["verification"] is None
        assert wrong["redeemVerificationCode"]["errors"][0]["message"]
        ok = await session.execute(GraphQLRequest(REDEEM, variable_values={"c": batch.codes[0]}))
        assert ok["redeemVerificationCode"]["errors"] == []
        assert ok["redeemVerificationCode"]["verification"]["claims"]["postcode_area"] == "EX"
        viewer = await session.execute(gql("{ viewer { verified } }"))
        assert viewer == {"viewer": {"verified": True}}
    async with _client(live_app, second) as session:
        used = await session.execute(GraphQLRequest(REDEEM, variable_values={"c": batch.codes[0]}))
    assert used["redeemVerificationCode"]["verification"] is None
    assert "already been used" in used["redeemVerificationCode"]["errors"][0]["message"]


async def test_register_match_through_the_api_and_one_identity_one_account(
    live_app: Any, live_db: Database
) -> None:
    import io

    from server.identity import registers
    from server.identity.models import VerificationConflict

    csv = b"name,date_of_birth,postcode\nMary O'Brien,1980-04-02,EX1 1AA\n"
    async with live_db.session() as s, s.begin():
        await registers.upload_register(
            s,
            live_app.state.keys,
            slug="exeter",
            name="Exeter electoral register",
            source=io.BytesIO(csv),
            uploaded_by=None,
            now=now(),
        )
    _, first = await _token(live_db, live_app)
    _, second = await _token(live_db, live_app)
    values = {"n": "mary obrien", "d": "1980-04-02", "p": "ex11aa"}
    async with _client(live_app, first) as session:
        bad = await session.execute(
            GraphQLRequest(MATCH, variable_values={**values, "d": "1999-01-01"})
        )
        assert bad["matchRegister"]["verification"] is None and bad["matchRegister"]["errors"]
        ok = await session.execute(GraphQLRequest(MATCH, variable_values=values))
        assert ok["matchRegister"]["errors"] == []
        assert ok["matchRegister"]["verification"]["claims"]["postcode_area"] == "EX"
    async with _client(live_app, second) as session:
        clash = await session.execute(GraphQLRequest(MATCH, variable_values=values))
    assert clash["matchRegister"]["errors"][0]["code"] == "IDENTITY_IN_USE"
    async with live_db.session() as s:
        assert len(list(await s.scalars(select(VerificationConflict)))) == 1  # kept for moderators
