from __future__ import annotations

from typing import Any

import httpx

from server.demo import FUTURES


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_open_calls_with_phase_and_venues(demo_api: httpx.AsyncClient) -> None:
    result = await gql(
        demo_api,
        """
        { openCalls { totalCount edges { node { slug currentPhase { kind title }
          events { venues { name capacity } } } } } }
    """,
    )
    assert "errors" not in result
    edges = result["data"]["openCalls"]["edges"]
    assert [e["node"]["slug"] for e in edges] == [FUTURES]
    node = edges[0]["node"]
    assert node["currentPhase"] == {"kind": "IDEAS", "title": "Call for ideas"}
    assert {v["name"]: v["capacity"] for v in node["events"][0]["venues"]} == {
        "Exeter Library": 30,
        "Beehive Centre, Honiton": 20,
        "Penryn Campus": 25,
    }


async def test_node_round_trip(demo_api: httpx.AsyncClient) -> None:
    found = await gql(demo_api, "query($s: String!) { call(slug: $s) { id title } }", s=FUTURES)
    call = found["data"]["call"]
    again = await gql(
        demo_api, "query($id: ID!) { node(id: $id) { id ... on Call { title } } }", id=call["id"]
    )
    assert again["data"]["node"] == call


async def test_unknown_call_is_null_not_an_error(demo_api: httpx.AsyncClient) -> None:
    result = await gql(demo_api, '{ call(slug: "nope") { id } }')
    assert result == {"data": {"call": None}}


async def test_malformed_query_is_a_graphql_error_with_a_message(
    demo_api: httpx.AsyncClient,
) -> None:
    response = await demo_api.post("/graphql", json={"query": "{ openCalls { "})
    body = response.json()
    assert body["errors"][0]["message"].startswith("Syntax Error")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_unknown_field_is_refused(demo_api: httpx.AsyncClient) -> None:
    body = await gql(demo_api, "{ openCalls { secret } }")
    assert "Cannot query field 'secret'" in body["errors"][0]["message"]


async def test_invalid_cursor_has_a_stable_code(demo_api: httpx.AsyncClient) -> None:
    body = await gql(demo_api, '{ openCalls(after: "bogus") { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    assert "cursor" in body["errors"][0]["message"]


async def test_invalid_global_id_has_a_stable_code(demo_api: httpx.AsyncClient) -> None:
    body = await gql(demo_api, '{ node(id: "Q2FsbDp4") { id } }')  # "Call:x"
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_too_many_aliases_are_refused_before_execution(demo_api: httpx.AsyncClient) -> None:
    query = "{ " + " ".join(f"a{i}: regions {{ id }}" for i in range(20)) + " }"
    body = await gql(demo_api, query)
    assert "data" not in body or body["data"] is None
    assert "aliases" in body["errors"][0]["message"]
