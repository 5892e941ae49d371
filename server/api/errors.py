"""Maps errors to GraphQL errors with a stable ``extensions.code``, once, for every request.

* Parse and validation errors keep their message, with ``GRAPHQL_VALIDATION_FAILED`` (or the code
  a limit set: ``QUERY_TOO_DEEP``, ``TOO_MANY_ALIASES``, ``QUERY_TOO_COSTLY``, ``TOO_MANY_TOKENS``).
* Moot's own exceptions (``server.errors``) become their message and code.
* Anything else is our bug: logged whole, answered as ``INTERNAL`` with no detail — never a stack
  trace or an exception's text.
* For anonymous callers, graphql-core's "Did you mean …?" suggestions are removed: they would let
  anyone map the schema's hidden corners by trial and error (OWASP's GraphQL cheat sheet).
  Introspection stays on: the schema is public and documented at /api.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from server.errors import MootError

log = logging.getLogger(__name__)

_TOKENS = re.compile(r"^Syntax Error: Document contains more than (\d+) tokens\.")
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """A GraphQL-shaped response body for a request refused before it reached the schema."""
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


def without_suggestions(message: str) -> str:
    return _SUGGESTION.sub("", message)


class _Converted(GraphQLError):
    """An error already mapped (a subscription's results pass the extension twice)."""


def _convert(error: GraphQLError, *, anonymous: bool) -> GraphQLError:
    if isinstance(error, _Converted):
        return error
    original = error.original_error
    if original is None:
        # Parse and validation errors (and the limits'): clear, and safe to show.
        message = error.message
        extensions: dict[str, Any] = {"code": "GRAPHQL_VALIDATION_FAILED"}
        tokens = _TOKENS.match(message)
        if tokens:
            limit = int(tokens.group(1))
            message = f"The query has more than {limit:,} tokens; the token limit is {limit:,}."
            extensions = {"code": "TOO_MANY_TOKENS", "limit": limit}
        if anonymous:
            message = without_suggestions(message)
        return _Converted(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={**extensions, **(error.extensions or {})},
        )
    if isinstance(original, MootError):
        moot_extensions: dict[str, Any] = {"code": original.code}
        if original.field:
            moot_extensions["field"] = original.field
        return _Converted(
            original.message, nodes=error.nodes, path=error.path, extensions=moot_extensions
        )
    # Anything else is our bug: log it whole, tell the client nothing about the internals.
    log.error("unexpected error in GraphQL resolver", exc_info=original)
    return _Converted(
        "Something went wrong on our side.",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL"},
    )


def _anonymous(context: Any) -> bool:
    caller = getattr(context, "caller", None)
    return caller is None or not caller.signed_in


class MootErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        self._convert_errors(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Each result of a subscription (WebSocket), mapped before it is sent."""
        self._convert_errors(result)
        yield

    def _convert_errors(self, result: Any) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            anonymous = _anonymous(self.execution_context.context)
            result.errors = [_convert(e, anonymous=anonymous) for e in errors]


class HideSuggestions(SchemaExtension):
    """Validates anonymous callers' documents with graphql-core's ``hide_suggestions``.

    Runs after ``QueryLimits`` (which may already have refused the document); setting
    ``pre_execution_errors`` makes Strawberry skip its own validation pass. Messages from
    execution (say, a variable's bad enum value) are cleaned by ``MootErrors`` instead."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if (
            ctx.graphql_document is not None
            and ctx.pre_execution_errors is None
            and _anonymous(ctx.context)
        ):
            ctx.pre_execution_errors = validate(
                ctx.schema._schema,
                ctx.graphql_document,
                (*ctx.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule),
                hide_suggestions=True,
            )
        yield
