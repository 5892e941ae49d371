"""Persisted operations (Apollo APQ style, by SHA-256) and allow-list-only mode."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from server.api.persisted import OperationStore, PersistedError, sha256
from server.api.view import OPERATIONS_DIR
from tests.api.test_limits import api_with  # noqa: F401  (fixture)

STORE = OperationStore.load(OPERATIONS_DIR)
REGIONS = STORE.by_name("Regions")


def persisted(digest: str, **variables: object) -> dict[str, object]:
    return {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
        "variables": variables,
    }


def test_every_example_operation_is_in_the_store() -> None:
    names = {p.stem for p in OPERATIONS_DIR.glob("*.graphql")}
    assert {o.name for o in STORE.operations} == names
    assert REGIONS is not None and REGIONS.sha256 == sha256(REGIONS.text)


async def test_a_known_hash_runs_its_operation_by_post(demo_api: httpx.AsyncClient) -> None:
    assert REGIONS is not None
    response = await demo_api.post("/graphql", json=persisted(REGIONS.sha256))
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body and body["data"]["regions"]


async def test_a_known_hash_runs_by_get_with_variables(demo_api: httpx.AsyncClient) -> None:
    operation = STORE.by_name("OpenCalls")
    assert operation is not None
    params = {
        "extensions": json.dumps(persisted(operation.sha256)["extensions"]),
        "variables": json.dumps({"first": 1}),
    }
    response = await demo_api.get("/graphql", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body and len(body["data"]["openCalls"]["edges"]) == 1


async def test_an_unknown_hash_is_not_found(demo_api: httpx.AsyncClient) -> None:
    response = await demo_api.post("/graphql", json=persisted("0" * 64))
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error == {
        "message": "PersistedQueryNotFound",
        "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
    }


async def test_text_must_match_its_hash(demo_api: httpx.AsyncClient) -> None:
    body = {"query": "{ regions { id } }", **persisted("0" * 64)}
    response = await demo_api.post("/graphql", json=body)
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"


async def test_other_versions_are_refused(demo_api: httpx.AsyncClient) -> None:
    body = {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}}
    response = await demo_api.post("/graphql", json=body)
    assert response.status_code == 400
    code = response.json()["errors"][0]["extensions"]["code"]
    assert code == "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"


async def test_allow_list_mode_accepts_only_published_operations(
    api_with: Callable[..., httpx.AsyncClient],  # noqa: F811
) -> None:
    assert REGIONS is not None
    async with api_with(graphql_allowlist_only=True) as client:
        other = await client.post("/graphql", json={"query": "{ regions { id } }"})
        assert other.status_code == 200
        error = other.json()["errors"][0]
        assert error["extensions"]["code"] == "OPERATION_NOT_ALLOWED" and "/api" in error["message"]
        by_hash = await client.post("/graphql", json=persisted(REGIONS.sha256))
        assert by_hash.json()["data"]["regions"]
        by_text = await client.post("/graphql", json={"query": REGIONS.text})
        assert by_text.json()["data"]["regions"]
        unknown = await client.post("/graphql", json=persisted("f" * 64))
        assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        params = {"query": "{ regions { id } }"}
        by_get = await client.get("/graphql", params=params, headers={"Accept": "application/json"})
        assert by_get.json()["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED"


def test_store_resolution_without_http() -> None:
    assert REGIONS is not None
    ext = {"persistedQuery": {"version": 1, "sha256Hash": REGIONS.sha256.upper()}}
    assert STORE.resolve(None, ext, allowlist_only=True) == REGIONS.text
    assert STORE.resolve("{ a }", None, allowlist_only=False) == "{ a }"
    with pytest.raises(PersistedError) as caught:
        STORE.resolve(None, {"persistedQuery": {"version": 1, "sha256Hash": "xyz"}},
                      allowlist_only=False)  # fmt: skip
    assert caught.value.code == "BAD_REQUEST"
