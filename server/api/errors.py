"""Maps Moot's exceptions onto GraphQL errors once, for every resolver."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from server.errors import MootError

log = logging.getLogger(__name__)


def _convert(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None:
        # Parse and validation errors: already clear, and safe to show.
        extensions = {"code": "GRAPHQL_VALIDATION_FAILED", **(error.extensions or {})}
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=extensions,
        )
    if isinstance(original, MootError):
        extensions = {"code": original.code}
        if original.field:
            extensions["field"] = original.field
        return GraphQLError(
            original.message, nodes=error.nodes, path=error.path, extensions=extensions
        )
    # Anything else is our bug: log it whole, tell the client nothing about the internals.
    log.error("unexpected error in GraphQL resolver", exc_info=original)
    return GraphQLError(
        "Something went wrong on our side.",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL"},
    )


class MootErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_convert(e) for e in result.errors]
