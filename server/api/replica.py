"""Read-only GraphQL queries on a hot standby, when ``DATABASE_READ_URL`` names one.

Third parties crawling the API are the bulk of read traffic; a CloudNativePG cluster's replicas
(its ``-ro`` Service) can carry it while the primary takes the writes. Only operations that are
queries move: mutations (and the queries they return) and subscriptions stay on the primary, as
do pages and authentication. The operation type is known only once the document is parsed, so
the switch happens in an extension, just before execution, when no DataLoader has run yet.

A standby lags the primary by its replication delay (usually well under a second): a client that
writes and then reads at once should use the mutation's payload, which comes from the primary.
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from server.api.context import Context


class ReadsOnReplica(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.operation_type == OperationType.QUERY and isinstance(ctx.context, Context):
            ctx.context.read_from_replica()
        yield
