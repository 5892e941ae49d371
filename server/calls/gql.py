from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from server.api.relay import CountedConnection, int_ids, to_connection
from server.calls import loaders, service
from server.calls.models import Call as CallRow
from server.calls.models import Organiser as OrganiserRow
from server.calls.models import Phase as PhaseRow
from server.calls.models import PhaseKind as PhaseKindEnum
from server.calls.models import Region as RegionRow
from server.errors import NotFound
from server.markdown import render_markdown

if TYPE_CHECKING:
    from server.events.gql import Event
    from server.ideas.gql import IdeaConnection

PhaseKind = strawberry.enum(
    Enum("PhaseKind", {m.name: m.value for m in PhaseKindEnum}),  # type: ignore[misc]
    description="What residents can do while a phase is running.",
)


@strawberry.type(description="A geographical region, such as South West England.")
class Region(relay.Node):
    id: relay.NodeID[int]
    slug: str = strawberry.field(description="Short name used in addresses.")
    name: str = strawberry.field(description="Display name.")

    @classmethod
    def from_row(cls, row: RegionRow) -> Self:
        return cls(id=row.id, slug=row.slug, name=row.name)

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        rows = await info.context.loaders.get(loaders.region_by_id).load_many(int_ids(node_ids))
        return [cls.from_row(r) if r else None for r in rows]


@strawberry.type(description="A council, partnership or other body that runs calls.")
class Organiser(relay.Node):
    id: relay.NodeID[int]
    slug: str = strawberry.field(description="Short name used in addresses.")
    name: str = strawberry.field(description="Display name.")
    website: str | None = strawberry.field(description="The organiser's own website.")
    region_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: OrganiserRow) -> Self:
        return cls(
            id=row.id, slug=row.slug, name=row.name, website=row.website, region_id=row.region_id
        )

    @strawberry.field(description="The region the organiser serves.")
    async def region(self, info: strawberry.Info) -> Region:
        row = await info.context.loaders.get(loaders.region_by_id).load(self.region_id)
        return Region.from_row(row)

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        rows = await info.context.loaders.get(loaders.organiser_by_id).load_many(
            int_ids(node_ids)
        )
        return [cls.from_row(r) if r else None for r in rows]


@strawberry.type(description="One stage of a call, such as the call for ideas or the follow-up.")
class Phase(relay.Node):
    id: relay.NodeID[int]
    kind: PhaseKind = strawberry.field(description="What residents can do in this phase.")  # type: ignore[valid-type]
    title: str = strawberry.field(description="Name shown to residents.")
    description: str = strawberry.field(description="What happens in this phase (Markdown).")
    starts_at: dt.datetime = strawberry.field(description="When the phase opens.")
    ends_at: dt.datetime = strawberry.field(description="When the phase closes (exclusive).")

    @classmethod
    def from_row(cls, row: PhaseRow) -> Self:
        return cls(
            id=row.id, kind=PhaseKind(row.kind.value), title=row.title,
            description=row.description, starts_at=row.starts_at, ends_at=row.ends_at,
        )  # fmt: skip

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        rows = await info.context.loaders.get(loaders.phase_by_id).load_many(int_ids(node_ids))
        return [cls.from_row(r) if r else None for r in rows]


@strawberry.type(description="An open call for ideas run by an organiser, in phases.")
class Call(relay.Node):
    id: relay.NodeID[int]
    slug: str = strawberry.field(description="Short name used in addresses.")
    title: str = strawberry.field(description="The call's title.")
    summary: str = strawberry.field(description="One-line summary.")
    description: str = strawberry.field(description="Long description, in Markdown.")
    tags: list[str] = strawberry.field(description="Topic tags.")
    opens_at: dt.datetime = strawberry.field(description="Start of the first phase.")
    closes_at: dt.datetime = strawberry.field(description="End of the last phase.")
    region_id: strawberry.Private[int]
    organiser_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: CallRow) -> Self:
        return cls(
            id=row.id, slug=row.slug, title=row.title, summary=row.summary,
            description=row.description, tags=list(row.tags), opens_at=row.opens_at,
            closes_at=row.closes_at, region_id=row.region_id, organiser_id=row.organiser_id,
        )  # fmt: skip

    @strawberry.field(description="The description rendered as sanitised HTML.")
    def description_html(self) -> str:
        return str(render_markdown(self.description))

    @strawberry.field(description="The region the call is about.")
    async def region(self, info: strawberry.Info) -> Region:
        row = await info.context.loaders.get(loaders.region_by_id).load(self.region_id)
        return Region.from_row(row)

    @strawberry.field(description="Who runs the call.")
    async def organiser(self, info: strawberry.Info) -> Organiser:
        row = await info.context.loaders.get(loaders.organiser_by_id).load(self.organiser_id)
        return Organiser.from_row(row)

    @strawberry.field(description="The call's phases, in order.")
    async def phases(self, info: strawberry.Info) -> list[Phase]:
        rows = await info.context.loaders.get(loaders.phases_by_call).load(self.id)
        return [Phase.from_row(r) for r in rows]

    @strawberry.field(description="The phase running now, if any.")
    async def current_phase(self, info: strawberry.Info) -> Phase | None:
        rows = await info.context.loaders.get(loaders.phases_by_call).load(self.id)
        phase = service.current_phase(rows, info.context.now)
        return Phase.from_row(phase) if phase else None

    @strawberry.field(description="In-person events (Open Ideas Days) of the call.")
    async def events(
        self, info: strawberry.Info
    ) -> list[Annotated[Event, strawberry.lazy("server.events.gql")]]:
        from server.events.gql import Event, events_of_call

        return [Event.from_row(r) for r in await events_of_call(info, self.id)]

    @strawberry.field(description="Ideas posted to the call, newest first.")
    async def ideas(
        self, info: strawberry.Info, first: int | None = 20, after: str | None = None
    ) -> Annotated[IdeaConnection, strawberry.lazy("server.ideas.gql")]:
        from server.ideas.gql import ideas_of_call

        return await ideas_of_call(info, self.id, first=first, after=after)

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        rows = await info.context.loaders.get(loaders.call_by_id).load_many(int_ids(node_ids))
        return [cls.from_row(r) if r else None for r in rows]


@strawberry.type(description="A page of calls.")
class CallConnection(CountedConnection[Call]):
    pass


@strawberry.type
class CallsQuery:
    @strawberry.field(description="Calls open now, closing soonest first.")
    async def open_calls(
        self, info: strawberry.Info, first: int | None = 20, after: str | None = None
    ) -> CallConnection:
        async with info.context.db.session() as session:
            page = await service.list_open_calls(
                session, now=info.context.now, first=first, after=after
            )
        return to_connection(CallConnection, page, Call.from_row, after=after)

    @strawberry.field(description="A call by its slug, or null when there is none.")
    async def call(self, info: strawberry.Info, slug: str) -> Call | None:
        async with info.context.db.session() as session:
            try:
                row = await service.get_call(session, slug)
            except NotFound:
                return None
        return Call.from_row(row)

    @strawberry.field(description="Every region, by name.")
    async def regions(self, info: strawberry.Info) -> list[Region]:
        async with info.context.db.session() as session:
            rows = await service.list_regions(session)
        return [Region.from_row(r) for r in rows]
