"""The API contract in graphql/: the SDL snapshot and the example operations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, OperationType, parse, validate

from server.api.schema import sdl
from server.settings import PROJECT_ROOT
from tests.calls.test_gql import gql

OPERATIONS = sorted((PROJECT_ROOT / "graphql/operations").glob("*.graphql"))


def test_schema_snapshot_is_current() -> None:
    snapshot = (PROJECT_ROOT / "graphql/schema.graphql").read_text()
    assert snapshot == sdl(), (
        "graphql/schema.graphql is out of date; refresh it with "
        "`.venv/bin/moot schema print --out graphql/schema.graphql` and review the diff"
    )


def test_every_type_and_field_is_described() -> None:
    from server.api.schema import schema

    missing = []
    for name, gtype in schema._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Boolean", "ID", "Float"}:
            continue
        if not gtype.description:
            missing.append(name)
        for field_name, field in getattr(gtype, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
    assert missing == []


@pytest.mark.parametrize("path", OPERATIONS, ids=lambda p: p.stem)
async def test_example_operation_runs_on_demo_data(path: Path, demo_api: httpx.AsyncClient) -> None:
    document = path.read_text()
    operation = next(
        d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)
    )
    assert operation.name and operation.name.value == path.stem, "name the file after the operation"
    if operation.operation == OperationType.SUBSCRIPTION:
        # Runs over WebSocket (tests/api/test_subscriptions.py); here: valid, within limits.
        from server.api.limits import check
        from server.api.schema import DEFAULTS, limits, schema

        parsed = parse(document)
        assert validate(schema._schema, parsed) == []
        assert check(schema._schema, parsed, limits(DEFAULTS)) == []
        return
    variables: dict[str, Any] = {}
    if path.stem == "Node":
        found = await gql(demo_api, '{ call(slug: "south-west-futures-open-ideas-day") { id } }')
        variables["id"] = found["data"]["call"]["id"]
    result = await gql(demo_api, document, **variables)
    assert "errors" not in result, result.get("errors")
    assert result["data"] and all(v is not None for v in result["data"].values())
