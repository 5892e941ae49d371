"""Limits on what one GraphQL request may ask for, checked before it runs.

Depth, aliases and cost are measured on the operation that would run, *through* its fragments:
a fragment spread counts as if its selections were written out in place, each time it is spread
(the alias limit of Strawberry's own extension was once bypassed through fragment spreads, a CVE).
Each fragment is measured once per context and remembered, so a document that spreads fragments
inside fragments cannot make the measuring itself exponential. The token limit is enforced by
graphql-core's parser, before any of this runs.

The checks run ahead of graphql-core's validation rules (some of which are quadratic in the
number of fields), so an abusive document is refused cheaply. Each refusal is a GraphQL error
whose message names the limit and whose ``extensions.code`` is stable:

* ``QUERY_TOO_DEEP`` — fields nested more deeply than ``max_depth`` (introspection is not
  counted: its nesting is bounded by the token limit and priced by the cost limit);
* ``TOO_MANY_ALIASES`` — more aliased fields than ``max_aliases``;
* ``QUERY_TOO_COSTLY`` — a computed cost over ``max_cost``;
* ``TOO_MANY_TOKENS`` — see ``server.api.errors`` (the parser's message is mapped there).

Cost: each field costs 1. A field returning a list or a connection multiplies the cost of what is
selected beneath it by its ``first``/``last`` argument (a literal, a variable's value, or the
argument's default), or by ``DEFAULT_PAGE_SIZE`` when it has none. A connection's own ``edges``
and ``nodes`` are not multiplied again. ``__typename`` is free. Introspection is cheap: its fields
cost 1 and its lists are not multiplied down to ``FREE_INTROSPECTION_LISTS`` levels of nested
lists (what GraphiQL's schema query needs); deeper introspection lists (``types { fields { type {
fields ...`` — the classic introspection amplification) are priced like any other list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    VariableNode,
    get_named_type,
)
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

DEFAULT_PAGE_SIZE = 20  # what a list or connection is assumed to return when not told
MAX_PAGE_SIZE = 100  # the largest `first`/`last` the connections accept
FREE_INTROSPECTION_LISTS = 3  # __schema.types[].fields[].args[]
PAGE_ARGUMENTS = ("first", "last")


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits for one app, from its Settings (see ``server.api.schema.limits``)."""

    max_depth: int
    max_aliases: int
    max_cost: int
    max_tokens: int


@dataclass(frozen=True, slots=True)
class Measure:
    depth: int
    aliases: int
    cost: int


class LimitExceeded(GraphQLError):
    def __init__(self, message: str, code: str, **details: int) -> None:
        super().__init__(message, extensions={"code": code, **details})


class _Measurer:
    """Walks one operation's selections, spreading fragments in place (memoised)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self._memo: dict[tuple[str, int], Measure] = {}
        self._open: set[str] = set()

    def selections(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, lists: int
    ) -> Measure:
        """``lists``: how many introspection lists enclose this selection set."""
        if selection_set is None:
            return Measure(0, 0, 0)
        depth = aliases = cost = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                m = self.field(node, parent, lists)
            elif isinstance(node, InlineFragmentNode):
                condition = parent
                if node.type_condition is not None:
                    condition = self.schema.get_type(node.type_condition.name.value)
                m = self.selections(node.selection_set, condition, lists)
            elif isinstance(node, FragmentSpreadNode):
                m = self.spread(node.name.value, lists)
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            depth = max(depth, m.depth)
            aliases += m.aliases
            cost += m.cost
        return Measure(depth, aliases, cost)

    def spread(self, name: str, lists: int) -> Measure:
        key = (name, min(lists, FREE_INTROSPECTION_LISTS + 1))
        known = self._memo.get(key)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self._open:
            # Unknown or cyclic: validation refuses the document after these checks.
            return Measure(0, 0, 0)
        self._open.add(name)
        try:
            condition = self.schema.get_type(fragment.type_condition.name.value)
            measure = self.selections(fragment.selection_set, condition, lists)
        finally:
            self._open.discard(name)
        self._memo[key] = measure
        return measure

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, lists: int) -> Measure:
        name = node.name.value
        alias = 1 if node.alias is not None else 0
        if name == "__typename":
            return Measure(1, alias, 0)
        definition = _field_definition(self.schema, parent, name)
        introspection = name.startswith("__") or (
            parent is not None and parent.name.startswith("__")
        )
        child_type = get_named_type(definition.type) if definition is not None else None
        multiplier = 1
        child_lists = lists
        if definition is not None:
            if introspection:
                if _returns_list(definition):
                    child_lists = lists + 1
                    if child_lists > FREE_INTROSPECTION_LISTS:
                        multiplier = DEFAULT_PAGE_SIZE
            elif not (name in ("edges", "nodes") and _is_connection(parent)) and (
                _returns_list(definition) or _is_connection(child_type)
            ):
                multiplier = self.page_size(node, definition)
        below = self.selections(node.selection_set, child_type, child_lists)
        depth = 0 if introspection else 1 + below.depth
        return Measure(depth, alias + below.aliases, 1 + multiplier * below.cost)

    def page_size(self, node: FieldNode, definition: GraphQLField) -> int:
        for argument in node.arguments or ():
            if argument.name.value not in PAGE_ARGUMENTS:
                continue
            value: Any = None
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value)
            if isinstance(value, int) and not isinstance(value, bool):
                return max(value, 0)
            return DEFAULT_PAGE_SIZE
        for name in PAGE_ARGUMENTS:
            arg = definition.args.get(name)
            if arg is not None and isinstance(arg.default_value, int):
                return max(arg.default_value, 0)
        return DEFAULT_PAGE_SIZE


_META_FIELDS: dict[str, GraphQLField] = {
    "__schema": SchemaMetaFieldDef,
    "__type": TypeMetaFieldDef,
}


def _field_definition(
    schema: GraphQLSchema, parent: GraphQLNamedType | None, name: str
) -> GraphQLField | None:
    if name in _META_FIELDS:
        return _META_FIELDS[name]
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        field: GraphQLField | None = parent.fields.get(name)
        return field
    return None


def _returns_list(definition: GraphQLField) -> bool:
    gtype = definition.type
    if isinstance(gtype, GraphQLNonNull):
        gtype = gtype.of_type
    return isinstance(gtype, GraphQLList)


def _is_connection(gtype: GraphQLNamedType | None) -> bool:
    """A paginated wrapper: a type with ``pageInfo`` and ``edges`` or ``nodes``."""
    if not isinstance(gtype, GraphQLObjectType):
        return False
    fields = gtype.fields
    return "pageInfo" in fields and ("edges" in fields or "nodes" in fields)


def _operations(
    document: DocumentNode, operation_name: str | None
) -> Iterator[OperationDefinitionNode]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name and o.name and o.name.value == operation_name]
    yield from chosen or operations


def _variables(
    operation: OperationDefinitionNode, provided: Mapping[str, Any] | None
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        default = definition.default_value
        if isinstance(default, IntValueNode):
            values[definition.variable.name.value] = int(default.value)
    values.update(provided or {})
    return values


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> Measure:
    """Depth, aliases and cost of the operation that would run (the largest of each, when the
    operation cannot be told yet)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    depth = aliases = cost = 0
    for operation in _operations(document, operation_name):
        root = schema.get_root_type(operation.operation)
        measurer = _Measurer(schema, fragments, _variables(operation, variables))
        m = measurer.selections(operation.selection_set, root, 0)
        depth, aliases, cost = max(depth, m.depth), max(aliases, m.aliases), max(cost, m.cost)
    return Measure(depth, aliases, cost)


def check(
    schema: GraphQLSchema,
    document: DocumentNode,
    limits: Limits,
    *,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> list[GraphQLError]:
    """The limits ``document`` breaks, as GraphQL errors (empty when it is within them)."""
    m = measure(schema, document, operation_name=operation_name, variables=variables)
    errors: list[GraphQLError] = []
    if m.depth > limits.max_depth:
        errors.append(
            LimitExceeded(
                f"The query is nested {m.depth} fields deep; the depth limit is "
                f"{limits.max_depth}.",
                "QUERY_TOO_DEEP",
                depth=m.depth,
                limit=limits.max_depth,
            )
        )
    if m.aliases > limits.max_aliases:
        errors.append(
            LimitExceeded(
                f"The query uses {m.aliases} aliases (counting those inside fragments each time "
                f"they are spread); the alias limit is {limits.max_aliases}.",
                "TOO_MANY_ALIASES",
                aliases=m.aliases,
                limit=limits.max_aliases,
            )
        )
    if m.cost > limits.max_cost:
        errors.append(
            LimitExceeded(
                f"The query would cost {m.cost:,} points; the cost limit is {limits.max_cost:,}. "
                f"Ask for smaller pages (`first`) or fewer nested lists.",
                "QUERY_TOO_COSTLY",
                cost=m.cost,
                limit=limits.max_cost,
            )
        )
    return errors


class QueryLimits(SchemaExtension):
    """Sets the parser's token limit, then checks depth, aliases and cost before validation.

    Errors placed in ``pre_execution_errors`` before validation make Strawberry skip its own
    validation pass and answer with them, so nothing else runs on a refused document."""

    def __init__(self, limits_for: Callable[[Any], Limits]) -> None:
        """``limits_for(context)``: the limits for a request, from its GraphQL context."""
        self.limits_for = limits_for

    def on_operation(self) -> Iterator[None]:
        self.limits = self.limits_for(self.execution_context.context)
        self.execution_context.parse_options["max_tokens"] = self.limits.max_tokens
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None and ctx.pre_execution_errors is None:
            if _over_websocket(ctx.context) and _operation_type(ctx) in _HTTP_ONLY:
                ctx.pre_execution_errors = [
                    LimitExceeded(
                        "Only subscriptions run over WebSocket: send queries and mutations as "
                        "HTTP requests to /graphql.",
                        "USE_HTTP",
                    )
                ]
                yield
                return
            errors = check(
                ctx.schema._schema,
                ctx.graphql_document,
                self.limits,
                operation_name=ctx.operation_name,
                variables=ctx.variables,
            )
            if errors:
                ctx.pre_execution_errors = errors
        yield


_HTTP_ONLY = (OperationType.QUERY, OperationType.MUTATION)


def _over_websocket(context: Any) -> bool:
    return isinstance(getattr(context, "request", None), WebSocket)


def _operation_type(ctx: Any) -> OperationType | None:
    try:
        operation_type: OperationType = ctx.operation_type
    except RuntimeError:  # no such operation: validation says so
        return None
    return operation_type
