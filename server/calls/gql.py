from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from server.api.context import Info
from server.api.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    CountedConnection,
    RowNode,
    paging,
    related,
    to_connection,
)
from server.calls import loaders, service
from server.calls.models import Call as CallRow
from server.calls.models import Organiser as OrganiserRow
from server.calls.models import Phase as PhaseRow
from server.calls.models import PhaseKind
from server.calls.models import Region as RegionRow
from server.errors import NotFound
from server.markdown import render_markdown

if TYPE_CHECKING:
    from server.events.gql import Event
    from server.ideas.gql import IdeaConnection, IdeaFilter
    from server.ideas.listing import Sort
    from server.votes.gql import Ballot

strawberry.enum(PhaseKind, description="What residents can do while a phase is running.")


@strawberry.type(description="A geographical region, such as South West England.")
class Region(RowNode):
    loader = staticmethod(loaders.region_by_id)
    id: relay.NodeID[int]
    slug: str = strawberry.field(description="Short name used in addresses.")
    name: str = strawberry.field(description="Display name.")

    @classmethod
    def from_row(cls, row: RegionRow) -> Self:
        return cls(id=row.id, slug=row.slug, name=row.name)


@strawberry.type(description="A council, partnership or other body that runs calls.")
class Organiser(RowNode):
    loader = staticmethod(loaders.organiser_by_id)
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
    async def region(self, info: Info) -> Region:
        return await related(info, loaders.region_by_id, self.region_id, Region)


@strawberry.type(description="One stage of a call, such as the call for ideas or the follow-up.")
class Phase(RowNode):
    loader = staticmethod(loaders.phase_by_id)
    id: relay.NodeID[int]
    kind: PhaseKind = strawberry.field(description="What residents can do in this phase.")
    title: str = strawberry.field(description="Name shown to residents.")
    description: str = strawberry.field(description="What happens in this phase (Markdown).")
    starts_at: dt.datetime = strawberry.field(description="When the phase opens.")
    ends_at: dt.datetime = strawberry.field(description="When the phase closes (exclusive).")

    @classmethod
    def from_row(cls, row: PhaseRow) -> Self:
        return cls(
            id=row.id,
            kind=row.kind,
            title=row.title,
            description=row.description,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
        )


@strawberry.type(description="An open call for ideas run by an organiser, in phases.")
class Call(RowNode):
    loader = staticmethod(loaders.call_by_id)
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
            id=row.id,
            slug=row.slug,
            title=row.title,
            summary=row.summary,
            description=row.description,
            tags=list(row.tags),
            opens_at=row.opens_at,
            closes_at=row.closes_at,
            region_id=row.region_id,
            organiser_id=row.organiser_id,
        )

    @strawberry.field(description="The description rendered as sanitised HTML.")
    def description_html(self) -> str:
        return str(render_markdown(self.description))

    @strawberry.field(description="The region the call is about.")
    async def region(self, info: Info) -> Region:
        return await related(info, loaders.region_by_id, self.region_id, Region)

    @strawberry.field(description="Who runs the call.")
    async def organiser(self, info: Info) -> Organiser:
        return await related(info, loaders.organiser_by_id, self.organiser_id, Organiser)

    @strawberry.field(description="The call's phases, in order.")
    async def phases(self, info: Info) -> list[Phase]:
        rows = await info.context.loaders.get(loaders.phases_by_call).load(self.id)
        return [Phase.from_row(r) for r in rows]

    @strawberry.field(description="The phase running now, if any.")
    async def current_phase(self, info: Info) -> Phase | None:
        rows = await info.context.loaders.get(loaders.phases_by_call).load(self.id)
        phase = service.current_phase(rows, info.context.now)
        return Phase.from_row(phase) if phase else None

    @strawberry.field(description="In-person events (Open Ideas Days) of the call.")
    async def events(
        self, info: Info
    ) -> list[Annotated[Event, strawberry.lazy("server.events.gql")]]:
        from server.events.gql import Event, events_of_call

        return [Event.from_row(r) for r in await events_of_call(info, self.id)]

    @strawberry.field(description="The call's votes (drafts left out), oldest first.")
    async def ballots(
        self, info: Info
    ) -> list[Annotated[Ballot, strawberry.lazy("server.votes.gql")]]:
        from server.votes.gql import ballots_of_call

        return await ballots_of_call(info, self.id)

    @strawberry.field(
        description="Published ideas of the call: filtered, searched and sorted (newest first "
        "unless asked otherwise)."
    )
    async def ideas(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
        filter: Annotated[IdeaFilter, strawberry.lazy("server.ideas.gql")] | None = None,
        sort: Annotated[Sort, strawberry.lazy("server.ideas.gql")] | None = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="Full-text search, e.g. `bus or train -night`."),
        ] = None,
        seed: Annotated[
            str | None,
            strawberry.argument(
                description="Seed of the RANDOM sort (letters, digits, - and _); keep it the "
                "same across pages. Defaults to today's date."
            ),
        ] = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None,
        before: Annotated[str | None, strawberry.argument(description=BEFORE)] = None,
    ) -> Annotated[IdeaConnection, strawberry.lazy("server.ideas.gql")]:
        from server.ideas.gql import ideas_of_call
        from server.ideas.listing import Sort

        return await ideas_of_call(
            info,
            self.id,
            page=paging(first, after, last, before),
            filter=filter,
            sort=sort or Sort.NEWEST,
            seed=seed,
            search=search,
        )


@strawberry.type(description="A page of calls.")
class CallConnection(CountedConnection[Call]):
    pass


@strawberry.type
class CallsQuery:
    @strawberry.field(description="Calls open now, closing soonest first.")
    async def open_calls(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None,
        before: Annotated[str | None, strawberry.argument(description=BEFORE)] = None,
    ) -> CallConnection:
        args = paging(first, after, last, before)
        async with info.context.db.session() as session:
            page = await service.list_open_calls(session, now=info.context.now, page=args)
        return to_connection(CallConnection, page, Call.from_row)

    @strawberry.field(description="A call by its slug, or null when there is none.")
    async def call(self, info: Info, slug: str) -> Call | None:
        async with info.context.db.session() as session:
            try:
                row = await service.get_call(session, slug)
            except NotFound:
                return None
        return Call.from_row(row)

    @strawberry.field(description="Every organiser (council, partnership, …), by name.")
    async def organisers(self, info: Info) -> list[Organiser]:
        async with info.context.db.session() as session:
            rows = await service.list_organisers(session)
        return [Organiser.from_row(r) for r in rows]

    @strawberry.field(description="Every region, by name.")
    async def regions(self, info: Info) -> list[Region]:
        async with info.context.db.session() as session:
            rows = await service.list_regions(session)
        return [Region.from_row(r) for r in rows]
