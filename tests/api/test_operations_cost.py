"""No N+1 in the published operations: each runs on the demo data as written and again with
every page size (`first:`, literal or a variable's default) raised, counting the SQL statements
sent to the database. Larger pages must not cost more statements.

The demo data is small: most lists already fit in the pages as written, so each operation also
runs with every page cut to one item, which does read fewer objects: its count may be lower by
a batch that nothing on so small a page needs (at most one), never higher."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    ArgumentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    parse,
    print_ast,
    visit,
)

from server.db import Database
from server.settings import PROJECT_ROOT
from tests.calls.test_gql import gql
from tests.statements import statements_sent

OPERATIONS = sorted((PROJECT_ROOT / "graphql/operations").glob("*.graphql"))
MAX_PAGE = 100


def larger(size: int) -> int:
    """A larger page: 10 → 50, 20 → 100, 50 → 100."""
    return min(size * 5, MAX_PAGE)


def with_larger_pages(document: str) -> str:
    """The document with every `first:` raised: literals, and the defaults of the variables
    passed as `first`."""
    return with_page_sizes(document, larger)


def with_page_sizes(document: str, resize: Callable[[int], int]) -> str:
    """The document with every `first:` (literal, or a variable's default) resized."""
    tree = parse(document)
    page_variables: set[str] = set()

    class FindVariables(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            if node.name.value == "first" and isinstance(node.value, VariableNode):
                page_variables.add(node.value.name.value)

    visit(tree, FindVariables())

    class Raise(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> Any:
            if node.name.value == "first" and isinstance(node.value, IntValueNode):
                bigger = IntValueNode(value=str(resize(int(node.value.value))))
                return ArgumentNode(name=node.name, value=bigger)
            return None

        def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> Any:
            default = node.default_value
            if node.variable.name.value in page_variables and isinstance(default, IntValueNode):
                return VariableDefinitionNode(
                    variable=node.variable,
                    type=node.type,
                    default_value=IntValueNode(value=str(resize(int(default.value)))),
                    directives=node.directives,
                )
            return None

    return print_ast(visit(tree, Raise()))


def is_subscription(document: str) -> bool:
    return any(
        isinstance(d, OperationDefinitionNode) and d.operation == OperationType.SUBSCRIPTION
        for d in parse(document).definitions
    )


def _nodes(value: Any) -> int:
    """How many objects the result holds (to show the larger pages did read more)."""
    if isinstance(value, dict):
        return 1 + sum(_nodes(v) for v in value.values())
    if isinstance(value, list):
        return sum(_nodes(v) for v in value)
    return 0


async def _variables(path: Path, client: httpx.AsyncClient) -> dict[str, Any]:
    if path.stem == "Node":
        found = await gql(client, '{ call(slug: "south-west-futures-open-ideas-day") { id } }')
        return {"id": found["data"]["call"]["id"]}
    return {}


def test_larger_pages_rewrite_literals_and_defaults() -> None:
    rewritten = with_larger_pages(
        "query Q($n: Int = 10, $m: Int = 3) { a(first: 20) { b(first: $n, last: $m) { c } } }"
    )
    assert "$n: Int = 50" in rewritten and "$m: Int = 3" in rewritten
    assert "a(first: 100)" in rewritten


# Subscriptions run over WebSocket and are measured in test_subscriptions.py.
HTTP_OPERATIONS = [p for p in OPERATIONS if not is_subscription(p.read_text())]


@pytest.mark.parametrize("path", HTTP_OPERATIONS, ids=lambda p: p.stem)
async def test_operation_costs_the_same_statements_with_larger_pages(
    path: Path, demo_api: httpx.AsyncClient, demo_database: Database
) -> None:
    written = path.read_text()
    variables = await _variables(path, demo_api)
    documents = (written, with_larger_pages(written), with_page_sizes(written, lambda _: 1))
    counts: list[int] = []
    sizes: list[int] = []
    for document in documents:
        with statements_sent(demo_database) as statements:
            result = await gql(demo_api, document, **variables)
        assert "errors" not in result, result.get("errors")
        counts.append(len(statements))
        sizes.append(_nodes(result["data"]))
    print(
        f"{path.stem}: {counts[0]} statements as written ({sizes[0]} objects), "
        f"{counts[1]} with larger pages ({sizes[1]} objects), "
        f"{counts[2]} with pages of one ({sizes[2]} objects)"
    )
    assert counts[1] == counts[0], f"{path.stem}: N+1? {counts[0]} → {counts[1]} statements"
    # A page of one may need a loader fewer (say, no reply on it: no parents to fetch), never
    # more; the written pages read more objects than pages of one for the same statements.
    assert counts[2] <= counts[0] <= counts[2] + 1, f"{path.stem}: N+1? {counts[2]} → {counts[0]}"
