from __future__ import annotations

import datetime as dt
from typing import Self

import strawberry
from strawberry import relay

from server.api.context import Info
from server.api.relay import CountedConnection, RowNode, to_connection
from server.ideas import loaders, service
from server.ideas.models import Idea as IdeaRow
from server.markdown import render_markdown
from server.outcomes.gql import Outcome, outcome_of_idea


@strawberry.type(description="An idea posted to a call.")
class Idea(RowNode):
    loader = staticmethod(loaders.idea_by_id)
    id: relay.NodeID[int]
    title: str = strawberry.field(description="The idea's title.")
    body: str = strawberry.field(description="The idea in full, in Markdown.")
    created_at: dt.datetime = strawberry.field(description="When the idea was posted.")

    @classmethod
    def from_row(cls, row: IdeaRow) -> Self:
        return cls(id=row.id, title=row.title, body=row.body, created_at=row.created_at)

    @strawberry.field(description="The body rendered as sanitised HTML.")
    def body_html(self) -> str:
        return str(render_markdown(self.body))

    @strawberry.field(description="The council's answer, once given.")
    async def outcome(self, info: Info) -> Outcome | None:
        return await outcome_of_idea(info, self.id)


@strawberry.type(description="A page of ideas.")
class IdeaConnection(CountedConnection[Idea]):
    pass


async def ideas_of_call(
    info: Info, call_id: int, *, first: int | None, after: str | None
) -> IdeaConnection:
    async with info.context.db.session() as session:
        page = await service.list_ideas(session, call_id, first=first, after=after)
    return to_connection(IdeaConnection, page, Idea.from_row, after=after)


@strawberry.type
class IdeasQuery:
    """Root query fields of this domain (mixed into the schema's Query)."""


@strawberry.type
class IdeasMutations:
    """Mutations of this domain (mixed into the schema's Mutation)."""
