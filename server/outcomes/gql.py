from __future__ import annotations

import datetime as dt
from typing import Self

import strawberry
from strawberry import relay

from server.api.context import Info
from server.api.relay import RowNode
from server.markdown import render_markdown
from server.outcomes import loaders
from server.outcomes.models import Outcome as OutcomeRow
from server.outcomes.models import OutcomeStatus

strawberry.enum(OutcomeStatus, description="What the council decided to do with an idea.")


@strawberry.type(description="The council's answer to an idea.")
class Outcome(RowNode):
    loader = staticmethod(loaders.outcome_by_id)
    id: relay.NodeID[int]
    status: OutcomeStatus = strawberry.field(description="The decision.")
    response: str = strawberry.field(description="The written response, in Markdown.")
    decided_at: dt.datetime = strawberry.field(description="When the answer was given.")

    @classmethod
    def from_row(cls, row: OutcomeRow) -> Self:
        return cls(
            id=row.id,
            status=row.status,
            response=row.response,
            decided_at=row.decided_at,
        )

    @strawberry.field(description="The response rendered as sanitised HTML.")
    def response_html(self) -> str:
        return str(render_markdown(self.response))


async def outcome_of_idea(info: Info, idea_id: int) -> Outcome | None:
    row = await info.context.loaders.get(loaders.outcome_by_idea).load(idea_id)
    return Outcome.from_row(row) if row else None


@strawberry.type
class OutcomesQuery:
    """Root query fields of this domain (mixed into the schema's Query)."""


@strawberry.type
class OutcomesMutations:
    """Mutations of this domain (mixed into the schema's Mutation)."""
