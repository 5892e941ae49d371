from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import Enum
from typing import Self

import strawberry
from strawberry import relay

from server.api.relay import int_ids
from server.markdown import render_markdown
from server.outcomes import loaders
from server.outcomes.models import Outcome as OutcomeRow
from server.outcomes.models import OutcomeStatus as OutcomeStatusEnum

OutcomeStatus = strawberry.enum(
    Enum("OutcomeStatus", {m.name: m.value for m in OutcomeStatusEnum}),  # type: ignore[misc]
    description="What the council decided to do with an idea.",
)


@strawberry.type(description="The council's answer to an idea.")
class Outcome(relay.Node):
    id: relay.NodeID[int]
    status: OutcomeStatus = strawberry.field(description="The decision.")  # type: ignore[valid-type]
    response: str = strawberry.field(description="The written response, in Markdown.")
    decided_at: dt.datetime = strawberry.field(description="When the answer was given.")

    @classmethod
    def from_row(cls, row: OutcomeRow) -> Self:
        return cls(
            id=row.id, status=OutcomeStatus(row.status.value), response=row.response,
            decided_at=row.decided_at,
        )  # fmt: skip

    @strawberry.field(description="The response rendered as sanitised HTML.")
    def response_html(self) -> str:
        return str(render_markdown(self.response))

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        rows = await info.context.loaders.get(loaders.outcome_by_id).load_many(int_ids(node_ids))
        return [cls.from_row(r) if r else None for r in rows]


async def outcome_of_idea(info: strawberry.Info, idea_id: int) -> Outcome | None:
    row = await info.context.loaders.get(loaders.outcome_by_idea).load(idea_id)
    return Outcome.from_row(row) if row else None
