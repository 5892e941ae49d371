"""Parsing and validating the same query text again and again is the API's largest fixed cost
(profiled: about 40 % of a worker's time when casting ballots). Both are remembered here.

Strawberry's own ``ValidationCache`` overwrites errors set by earlier extensions, which would let
a document refused by our limits through; this one runs last and only fills in validation when
no earlier extension has answered. Parsed documents are remembered per query text (and token
limit): one ``DocumentNode`` each, so the validation cache's key is stable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache

from graphql import GraphQLError, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

# Bounded: a public endpoint must not grow memory with every distinct query text sent to it.
MAXSIZE = 512

_parse = lru_cache(maxsize=MAXSIZE)(parse)
_validate = lru_cache(maxsize=MAXSIZE)(validate_document)


class CachedParse(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        # On a syntax error Strawberry parses it again and reports it in its usual way.
        with contextlib.suppress(GraphQLError):
            ctx.graphql_document = _parse(ctx.query, **ctx.parse_options)
        yield


class CachedValidation(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if (
            ctx.graphql_document is not None
            and ctx.pre_execution_errors is None
            and ctx.validation_rules
        ):
            ctx.pre_execution_errors = list(
                _validate(ctx.schema._schema, ctx.graphql_document, tuple(ctx.validation_rules))
            )
        yield
