"""The API's limits: each refused before execution with its code, and fragments cannot hide from
them; body size, batches, rate limit, timeout, suggestions and stack traces."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from graphql import GraphQLError, get_introspection_query, parse
from starlette.applications import Starlette

from server.api import docs
from server.api.errors import _convert
from server.api.limits import Limits, check, measure
from server.api.schema import schema
from server.app import create_app
from server.db import Database
from server.settings import Settings, SettingsError
from tests.factories import make_account, make_token

DEFAULTS = Settings()
COSTLY = "openCalls(first: 100) { edges { node { events { venues { name } } } } }"


def make_app(db: Database, tmp_path: Path, **overrides: Any) -> Starlette:
    """An app with the API settings under test; /api mounted if server.app does not yet."""
    settings = Settings(database_url=None, var_dir=tmp_path / "var", environment="test")
    app = create_app(replace(settings, **overrides), db=db)
    if not any(getattr(r, "path", None) == "/api" for r in app.routes):
        app.router.routes[0:0] = docs.routes
    return app


def http(app: Starlette, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 4000))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost")


@pytest.fixture
def api_with(demo_database: Database, tmp_path: Path) -> Callable[..., httpx.AsyncClient]:
    """A client for an app on the demo data with some settings changed (read-only use)."""
    return lambda **overrides: http(make_app(demo_database, tmp_path, **overrides))


async def post(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def refused(body: dict[str, Any], code: str) -> dict[str, Any]:
    """The one error, after checking that nothing ran."""
    assert body.get("data") is None, body
    codes = [e["extensions"]["code"] for e in body["errors"]]
    assert code in codes, body["errors"]
    return next(e for e in body["errors"] if e["extensions"]["code"] == code)


# --- depth -----------------------------------------------------------------------------------


def nested(levels: int) -> str:
    """call → ideas → node → call → … : a real path through the schema, ``levels`` fields deep."""
    query, depth = "slug", 1
    while depth + 5 <= levels:
        query, depth = f"ideas {{ edges {{ node {{ call {{ {query} }} }} }} }}", depth + 4
    return f'{{ call(slug: "x") {{ {query} }} }}', depth + 1


async def test_fifty_deep_nesting_is_refused(demo_api: httpx.AsyncClient) -> None:
    query, depth = nested(50)
    assert depth >= 50
    error = refused(await post(demo_api, query), "QUERY_TOO_DEEP")
    assert f"depth limit is {DEFAULTS.graphql_max_depth}" in error["message"]
    assert error["extensions"]["depth"] == depth


async def test_depth_counts_through_named_and_inline_fragments(demo_api: httpx.AsyncClient) -> None:
    inner, _ = nested(11)
    body = inner.removeprefix("{ ").removesuffix(" }")
    query = f"""
        query {{ ...Outer }}
        fragment Outer on Query {{ ... on Query {{ a: call(slug: "x") {{ ideas {{ edges {{
            node {{ ...Inner }} }} }} }} }} }}
        fragment Inner on Idea {{ call {{ ideas {{ edges {{ node {{ {body} }} }} }} }} }}
    """
    error = refused(await post(demo_api, query), "QUERY_TOO_DEEP")
    assert error["extensions"]["depth"] > DEFAULTS.graphql_max_depth


async def test_a_query_within_the_depth_limit_runs(demo_api: httpx.AsyncClient) -> None:
    query, depth = nested(DEFAULTS.graphql_max_depth)
    assert depth <= DEFAULTS.graphql_max_depth
    assert "errors" not in await post(demo_api, query.replace('"x"', '"exeter-riverside-spaces"'))


# --- aliases ---------------------------------------------------------------------------------


async def test_twenty_aliases_behind_one_fragment_spread_are_refused(
    demo_api: httpx.AsyncClient,
) -> None:
    aliases = " ".join(f"r{i}: regions {{ id }}" for i in range(20))
    query = f"query {{ ...Many }} fragment Many on Query {{ {aliases} }}"
    error = refused(await post(demo_api, query), "TOO_MANY_ALIASES")
    assert "alias limit is 15" in error["message"] and error["extensions"]["aliases"] == 20


async def test_aliases_count_each_time_a_fragment_is_spread(demo_api: httpx.AsyncClient) -> None:
    # 5 aliases in an inline fragment inside a named fragment, spread 3 times, + 3 = 18.
    query = """
        query { a: call(slug: "x") { ...Four } b: call(slug: "y") { ...Four }
                c: call(slug: "z") { ...Four } }
        fragment Four on Call { ... on Call { s1: slug s2: slug s3: slug s4: slug s5: slug } ...Id }
        fragment Id on Call { id }
    """
    error = refused(await post(demo_api, query), "TOO_MANY_ALIASES")
    assert error["extensions"]["aliases"] == 3 + 3 * 5


async def test_aliases_within_the_limit_run(demo_api: httpx.AsyncClient) -> None:
    aliases = " ".join(f"r{i}: regions {{ id }}" for i in range(15))
    assert "errors" not in await post(demo_api, f"{{ {aliases} }}")


async def test_ten_thousand_aliases_are_refused_quickly(
    demo_api: httpx.AsyncClient, api_with: Callable[..., httpx.AsyncClient]
) -> None:
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(10_000)) + " }"
    # With the defaults, the body limit answers first ...
    started = time.perf_counter()
    response = await demo_api.post("/graphql", json={"query": query})
    body_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 413
    # ... and with the body and token limits raised, the alias limit, before validation.
    async with api_with(graphql_max_body_bytes=1024 * 1024, graphql_max_tokens=100_000) as c:
        started = time.perf_counter()
        body = await post(c, query)
        alias_ms = (time.perf_counter() - started) * 1000
    refused(body, "TOO_MANY_ALIASES")
    logging.getLogger(__name__).warning(
        "10,000 aliases: 413 in %.1f ms; TOO_MANY_ALIASES in %.1f ms", body_ms, alias_ms
    )


# --- cost ------------------------------------------------------------------------------------


async def test_a_fragment_spread_thirty_times_over_a_costly_field_is_refused(
    demo_api: httpx.AsyncClient,
) -> None:
    once = f"query {{ ...Costly }} fragment Costly on Query {{ {COSTLY} }}"
    assert "errors" not in await post(demo_api, once)  # 42,301 points: within the limit
    spreads = " ".join("...Costly" for _ in range(30))
    query = f"query {{ {spreads} }} fragment Costly on Query {{ {COSTLY} }}"
    error = refused(await post(demo_api, query), "QUERY_TOO_COSTLY")
    assert error["extensions"]["cost"] == 30 * 42_301
    assert "cost limit is 50,000" in error["message"]


async def test_cost_uses_the_variables_page_size(demo_api: httpx.AsyncClient) -> None:
    # 1 + n * 884 points: 885 for one call, 88,401 for a hundred.
    query = """query ($n: Int) { openCalls(first: $n) { edges { node {
        events { venues { name capacity } } ideas { edges { node { title } } } } } } }"""
    assert "errors" not in await post(demo_api, query, n=1)
    refused(await post(demo_api, query, n=100), "QUERY_TOO_COSTLY")


def test_nested_fragments_are_measured_once_not_exponentially() -> None:
    # F0 spreads F1 twice, F1 spreads F2 twice ... : 2**60 spreads if written out.
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(60)]
    fragments.append("fragment F60 on Query { a: regions { id } }")
    document = parse("query { ...F0 } " + " ".join(fragments))
    started = time.perf_counter()
    m = measure(schema._schema, document)
    assert time.perf_counter() - started < 1
    assert m.aliases == 2**60
    codes = [e.extensions["code"] for e in check(schema._schema, document, Limits(12, 15, 1, 99))]
    assert codes == ["TOO_MANY_ALIASES", "QUERY_TOO_COSTLY"]


async def test_graphiql_introspection_is_cheap_and_accepted(demo_api: httpx.AsyncClient) -> None:
    query = get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True
    )
    assert measure(schema._schema, parse(query)).cost < 1_000
    body = await post(demo_api, query)
    assert "errors" not in body and body["data"]["__schema"]["types"]


async def test_introspection_amplification_is_refused(demo_api: httpx.AsyncClient) -> None:
    # Lists nested beyond the third are priced: 20**4 objects here. (graphql-core's own
    # introspection depth rule would refuse it too, but only after the limits.)
    query = "{ __schema { types { " + "fields { type { " * 6 + "name" + " } }" * 6 + " } } }"
    refused(await post(demo_api, query), "QUERY_TOO_COSTLY")


# --- tokens, body, batches -------------------------------------------------------------------


async def test_too_many_tokens_are_refused(demo_api: httpx.AsyncClient) -> None:
    query = "{ regions { " + "id " * 2_100 + "} }"
    error = refused(await post(demo_api, query), "TOO_MANY_TOKENS")
    assert error["message"] == "The query has more than 2,000 tokens; the token limit is 2,000."


async def test_a_body_too_large_is_413_in_graphql_shape(demo_api: httpx.AsyncClient) -> None:
    padding = "#" + "x" * 70_000 + "\n"
    response = await demo_api.post("/graphql", json={"query": padding + "{ regions { id } }"})
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "PAYLOAD_TOO_LARGE", "limit": 65_536}
    assert "64 KB" in error["message"]


async def test_a_streamed_body_without_length_is_cut_off(demo_api: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "#'
        for _ in range(100):
            yield b"x" * 1_000
        yield b'\\n{ regions { id } }"}'

    response = await demo_api.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_batches_are_refused(demo_api: httpx.AsyncClient) -> None:
    batch = [{"query": "{ regions { id } }"}, {"query": "{ regions { name } }"}]
    response = await demo_api.post("/graphql", json=batch)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BATCH_REFUSED" and "one operation" in error["message"]


async def test_other_bad_requests_are_graphql_shaped(demo_api: httpx.AsyncClient) -> None:
    response = await demo_api.post(
        "/graphql", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


# --- rate limit and timeout (own databases: these write, or cancel queries) ------------------


async def test_rate_limit_answers_429_with_retry_after(live_db: Database, tmp_path: Path) -> None:
    app = make_app(live_db, tmp_path, graphql_rate_per_minute=2)
    async with http(app) as client, http(app, address="10.0.0.2") as other:
        for _ in range(2):
            assert (await client.post("/graphql", json={"query": "{ regions { id } }"})).is_success
        response = await client.post("/graphql", json={"query": "{ regions { id } }"})
        assert response.status_code == 429
        retry = int(response.headers["Retry-After"])
        assert 1 <= retry <= 61
        error = response.json()["errors"][0]
        assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": retry, "limit": 2}
        # Another address has its own count; a token has its own too.
        assert (await other.post("/graphql", json={"query": "{ regions { id } }"})).is_success
        async with live_db.session() as s, s.begin():
            account = await make_account(s)
            jwt = await make_token(s, app.state.keys, account, scopes=["read"])
        headers = {"Authorization": f"Bearer {jwt}"}
        for _ in range(2):
            ok = await client.post(
                "/graphql", json={"query": "{ viewer { email } }"}, headers=headers
            )
            assert ok.is_success and "errors" not in ok.json()
        again = await client.post("/graphql", json={"query": "{ regions { id } }"}, headers=headers)
        assert again.status_code == 429


async def test_a_slow_request_is_stopped_with_timeout(live_db: Database, tmp_path: Path) -> None:
    app = make_app(live_db, tmp_path, graphql_timeout_ms=0)
    async with http(app) as client:
        body = await post(client, "{ openCalls { totalCount } }")
    error = refused(body, "TIMEOUT")
    assert "time limit of 0 ms" in error["message"]


# --- what errors reveal ----------------------------------------------------------------------


async def test_no_field_suggestions_for_anonymous_callers(demo_api: httpx.AsyncClient) -> None:
    body = await post(demo_api, "{ openCals { totalCount } regions { nme } }")
    messages = [e["message"] for e in body["errors"]]
    assert any("openCals" in m for m in messages)
    assert not any("Did you mean" in m for m in messages), messages


def test_signed_in_callers_keep_suggestions_anonymous_ones_do_not() -> None:
    error = GraphQLError("Cannot query field 'openCals' on type 'Query'. Did you mean 'openCalls'?")
    assert "Did you mean 'openCalls'?" in _convert(error, anonymous=False).message
    assert (
        _convert(error, anonymous=True).message == "Cannot query field 'openCals' on type 'Query'."
    )


def test_unexpected_errors_reveal_nothing(caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise RuntimeError("password=hunter2 at /srv/moot/server/secret.py line 3")
    except RuntimeError as exc:
        error = GraphQLError("boom", original_error=exc, path=["call"])
    with caplog.at_level(logging.ERROR):
        converted = _convert(error, anonymous=False).formatted
    assert converted == {
        "message": "Something went wrong on our side.",
        "locations": [],
        "path": ["call"],
        "extensions": {"code": "INTERNAL"},
    } or converted == {
        "message": "Something went wrong on our side.",
        "path": ["call"],
        "extensions": {"code": "INTERNAL"},
    }
    assert "hunter2" not in json.dumps(converted) and "Traceback" not in json.dumps(converted)
    assert "hunter2" in caplog.text  # logged whole, for us


# --- a real client ---------------------------------------------------------------------------


async def test_real_gql_client_sees_the_codes(demo_database: Database, tmp_path: Path) -> None:
    app = make_app(demo_database, tmp_path)
    transport = HTTPXAsyncTransport(
        url="http://localhost/graphql",
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
    )
    async with Client(transport=transport, fetch_schema_from_transport=False) as session:
        regions = await session.execute(gql("{ regions { name } }"))
        assert regions["regions"]
        aliases = " ".join(f"r{i}: name" for i in range(20))
        hidden = gql(f"query {{ regions {{ ...R }} }} fragment R on Region {{ {aliases} }}")
        with pytest.raises(TransportQueryError) as caught:
            await session.execute(hidden)
        assert caught.value.errors is not None
        assert caught.value.errors[0]["extensions"]["code"] == "TOO_MANY_ALIASES"


# --- settings --------------------------------------------------------------------------------


def test_limits_come_from_the_environment() -> None:
    s = Settings.from_env(
        {
            "GRAPHQL_MAX_DEPTH": "8",
            "GRAPHQL_MAX_ALIASES": "3",
            "GRAPHQL_MAX_COST": "1000",
            "GRAPHQL_MAX_TOKENS": "800",
            "GRAPHQL_MAX_BODY_KB": "16",
            "GRAPHQL_TIMEOUT_MS": "2500",
            "GRAPHQL_RATE_PER_MINUTE": "0",
            "GRAPHQL_ALLOWLIST_ONLY": "true",
        }
    )
    assert (s.graphql_max_depth, s.graphql_max_aliases, s.graphql_max_cost) == (8, 3, 1000)
    assert (s.graphql_max_tokens, s.graphql_max_body_bytes) == (800, 16 * 1024)
    assert (s.graphql_timeout_ms, s.graphql_rate_per_minute) == (2500, 0)
    assert s.graphql_allowlist_only
    defaults = Settings.from_env({})
    assert defaults.graphql_max_depth == DEFAULTS.graphql_max_depth == 12
    assert not defaults.graphql_allowlist_only
    with pytest.raises(SettingsError, match="GRAPHQL_ALLOWLIST_ONLY must be true or false"):
        Settings.from_env({"GRAPHQL_ALLOWLIST_ONLY": "maybe"})
    with pytest.raises(SettingsError, match="GRAPHQL_MAX_DEPTH must be between"):
        Settings.from_env({"GRAPHQL_MAX_DEPTH": "1000"})


async def test_limits_follow_the_apps_settings(api_with: Callable[..., httpx.AsyncClient]) -> None:
    async with api_with(graphql_max_depth=3, graphql_max_aliases=1) as client:
        error = refused(
            await post(client, "{ openCalls { edges { node { slug } } } }"), "QUERY_TOO_DEEP"
        )
        assert "depth limit is 3" in error["message"]
        refused(await post(client, "{ a: regions { id } b: regions { id } }"), "TOO_MANY_ALIASES")


async def test_cached_validation_never_lets_a_refused_document_through(demo_api) -> None:  # type: ignore[no-untyped-def]
    """The same query text twice: both refused by the limits, though the second is cached."""
    query = "{ " + " ".join(f"a{i}: regions {{ id }}" for i in range(20)) + " }"
    for _ in range(2):
        body = (await demo_api.post("/graphql", json={"query": query})).json()
        assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
    ok = "{ regions { name } }"
    for _ in range(2):
        assert (await demo_api.post("/graphql", json={"query": ok})).json()["data"]["regions"]
