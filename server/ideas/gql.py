from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from server.api.context import Info
from server.api.payloads import UserError, attempt
from server.api.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    CountedConnection,
    RowNode,
    int_ids,
    paging,
    related,
    to_connection,
)
from server.calls import loaders as call_loaders
from server.calls import service as calls
from server.calls.gql import Call
from server.errors import Forbidden, NotFound, ValidationFailed
from server.ideas import endorsements, listing, loaders, service
from server.ideas.listing import ListQuery, Sort
from server.ideas.models import Idea as IdeaRow
from server.ideas.models import IdeaRevision as RevisionRow
from server.identity.models import TokenScope
from server.markdown import render_markdown
from server.outcomes.gql import Outcome, outcome_of_idea
from server.pagination import PageArgs
from server.personas import loaders as persona_loaders
from server.personas.gql import Persona

if TYPE_CHECKING:
    from server.comments.gql import CommentConnection, StanceTally

strawberry.enum(Sort, name="IdeaSort", description="How a list of ideas is ordered.")


class IdeaStatus(enum.StrEnum):
    OPEN = "open"
    UNDER_CONSIDERATION = "under_consideration"
    ACCEPTED = "accepted"
    PARTLY_ACCEPTED = "partly_accepted"
    NOT_TAKEN_FORWARD = "not_taken_forward"
    ALREADY_HAPPENING = "already_happening"


strawberry.enum(IdeaStatus, description="Open until the council answers; then its decision.")


@strawberry.type(description="What a published idea said before one of its edits.")
class IdeaRevision:
    version: int = strawberry.field(description="The version this text was.")
    title: str = strawberry.field(description="The title at that version.")
    body: str = strawberry.field(description="The body at that version, in Markdown.")
    replaced_at: dt.datetime = strawberry.field(description="When the next version replaced it.")

    @classmethod
    def from_row(cls, row: RevisionRow) -> Self:
        return cls(version=row.version, title=row.title, body=row.body, replaced_at=row.replaced_at)


@strawberry.type(description="An idea posted to a call.")
class Idea(RowNode):
    loader = staticmethod(loaders.idea_by_id)
    id: relay.NodeID[int]
    title: str = strawberry.field(description="The idea's title.")
    body: str = strawberry.field(description="The idea in full, in Markdown.")
    created_at: dt.datetime = strawberry.field(description="When the idea was first saved.")
    tags: list[str] = strawberry.field(description="Topic tags, in lower case.")
    area: str | None = strawberry.field(description="The place it is about, in words.")
    latitude: float | None = strawberry.field(description="Map point: latitude, if given.")
    longitude: float | None = strawberry.field(description="Map point: longitude, if given.")
    status: IdeaStatus = strawberry.field(description="Open, or the council's decision.")
    published_at: dt.datetime | None = strawberry.field(
        description="When it was published; null for a draft (seen only by its author)."
    )
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")
    version: int = strawberry.field(description="1, plus one for each edit after publishing.")
    endorsement_count: int = strawberry.field(description="How many people endorse it.")
    comment_count: int = strawberry.field(description="How many comments it has.")
    author_persona_id: strawberry.Private[int]
    call_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: IdeaRow) -> Self:
        return cls(
            id=row.id,
            title=row.title,
            body=row.body,
            created_at=row.created_at,
            tags=list(row.tags),
            area=row.area,
            latitude=float(row.latitude) if row.latitude is not None else None,
            longitude=float(row.longitude) if row.longitude is not None else None,
            status=IdeaStatus(row.status),
            published_at=row.published_at,
            updated_at=row.updated_at,
            version=row.version,
            endorsement_count=row.endorsement_count,
            comment_count=row.comment_count,
            author_persona_id=row.author_persona_id,
            call_id=row.call_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Hidden ideas are nobody's to fetch, and drafts only their author's."""
        rows = await info.context.loaders.get(loaders.idea_by_id).load_many(int_ids(node_ids))
        drafts = [r.author_persona_id for r in rows if r is not None and r.published_at is None]
        authors = await info.context.loaders.get(persona_loaders.persona_by_id).load_many(drafts)
        viewer = info.context.caller.account
        mine = {p.id for p in authors if p is not None and viewer and p.account_id == viewer.id}
        found = [
            cls.from_row(r)
            if r is not None
            and r.hidden_at is None
            and (r.published_at is not None or r.author_persona_id in mine)
            else None
            for r in rows
        ]
        if required and None in found:
            raise NotFound("There is no such idea.")
        return found

    @strawberry.field(description="The body rendered as sanitised HTML.")
    def body_html(self) -> str:
        return str(render_markdown(self.body))

    @strawberry.field(description="The persona that posted it (never the account behind it).")
    async def author(self, info: Info) -> Persona:
        return await related(info, persona_loaders.persona_by_id, self.author_persona_id, Persona)

    @strawberry.field(description="The call it was posted to.")
    async def call(self, info: Info) -> Call:
        return await related(info, call_loaders.call_by_id, self.call_id, Call)

    @strawberry.field(description="Earlier versions, newest first (empty until it is edited).")
    async def history(self, info: Info) -> list[IdeaRevision]:
        rows = await info.context.loaders.get(loaders.revisions_by_idea).load(self.id)
        return [IdeaRevision.from_row(r) for r in rows]

    @strawberry.field(description="Whether the viewer endorses it; null when not signed in.")
    async def viewer_has_endorsed(self, info: Info) -> bool | None:
        viewer = info.context.caller.account
        if viewer is None:
            return None
        key = (self.id, viewer.id, viewer.person_id)
        return await info.context.loaders.get(loaders.endorsed_by_viewer).load(key)

    @strawberry.field(description="Whether the viewer follows it; null when not signed in.")
    async def viewer_follows(self, info: Info) -> bool | None:
        viewer = info.context.caller.account
        if viewer is None:
            return None
        key = (self.id, viewer.id, viewer.person_id)
        return await info.context.loaders.get(loaders.followed_by_viewer).load(key)

    @strawberry.field(description="The council's answer, once given.")
    async def outcome(self, info: Info) -> Outcome | None:
        return await outcome_of_idea(info, self.id)

    @strawberry.field(description="The discussion, in thread order.")
    async def comments(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None,
        before: Annotated[str | None, strawberry.argument(description=BEFORE)] = None,
    ) -> Annotated[CommentConnection, strawberry.lazy("server.comments.gql")]:
        from server.comments.gql import comments_of_idea

        return await comments_of_idea(info, self.id, paging(first, after, last, before))

    @strawberry.field(description="How many comments take each stance.")
    async def stance_tally(
        self, info: Info
    ) -> Annotated[StanceTally, strawberry.lazy("server.comments.gql")]:
        from server.comments.gql import stance_tally_of_idea

        return await stance_tally_of_idea(info, self.id)


@strawberry.type(description="A page of ideas.")
class IdeaConnection(CountedConnection[Idea]):
    pass


@strawberry.input(description="Narrow a list of ideas; every field given must match.")
class IdeaFilter:
    tag: str | None = strawberry.field(default=None, description="Ideas with this tag.")
    area: str | None = strawberry.field(default=None, description="Ideas about this area.")
    status: IdeaStatus | None = strawberry.field(default=None, description="Ideas in this state.")


async def ideas_of_call(
    info: Info,
    call_id: int,
    *,
    page: PageArgs,
    filter: IdeaFilter | None = None,
    sort: Sort = Sort.NEWEST,
    seed: str | None = None,
    search: str | None = None,
) -> IdeaConnection:
    if sort == Sort.RANDOM and not seed:
        seed = info.context.now.date().isoformat()  # stable for the day, so pages agree
    query = ListQuery(
        tag=filter.tag if filter else None,
        area=filter.area if filter else None,
        status=filter.status.value if filter and filter.status else None,
        search=search,
        sort=sort,
        seed=seed,
    )
    async with info.context.db.session() as session:
        found = await listing.list_ideas(session, call_id, query, page=page)
    return to_connection(IdeaConnection, found, Idea.from_row)


@strawberry.input(description="What an idea says.")
class IdeaInput:
    title: str = strawberry.field(description="Up to 200 characters.")
    body: str = strawberry.field(default="", description="Markdown, up to 20,000 characters.")
    tags: list[str] = strawberry.field(
        default_factory=list, description="Up to 8 tags of up to 50 characters (lower-cased)."
    )
    area: str | None = strawberry.field(
        default=None, description="The place it is about, e.g. a town or postcode area."
    )
    latitude: float | None = strawberry.field(default=None, description="Map point latitude.")
    longitude: float | None = strawberry.field(default=None, description="Map point longitude.")

    def to_service(self) -> service.IdeaInput:
        return service.IdeaInput(
            title=self.title,
            body=self.body,
            tags=tuple(self.tags),
            area=self.area,
            latitude=None if self.latitude is None else str(self.latitude),
            longitude=None if self.longitude is None else str(self.longitude),
        )


@strawberry.type(description="The result of changing an idea.")
class IdeaPayload:
    idea: Idea | None = strawberry.field(description="The idea as it is now, when it changed.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


def _node_id(value: relay.GlobalID, type_name: str, field: str) -> int:
    if value.type_name != type_name or not value.node_id.isdigit():
        raise ValidationFailed(f"That is not an id of a {type_name.lower()}.", field=field)
    return int(value.node_id)


async def _payload(work: Callable[[], Awaitable[IdeaRow]]) -> IdeaPayload:
    """Run the mutation's transaction; refusals (closed phase, not the author, a call outside
    a venue account's scope) are user errors too, and change nothing."""
    try:
        row, errors = await attempt(work)
    except Forbidden as exc:
        row, errors = None, [UserError(field=exc.field, message=exc.message, code=exc.code)]
    return IdeaPayload(idea=Idea.from_row(row) if row else None, errors=errors)


@strawberry.type
class IdeasQuery:
    """Root query fields of this domain (mixed into the schema's Query)."""

    @strawberry.field(
        description="Published ideas in a call that look like the one described (top 5), "
        "to endorse instead of posting a duplicate."
    )
    async def similar_ideas(
        self, info: Info, call_slug: str, title: str, body: str = ""
    ) -> list[Idea]:
        async with info.context.db.session() as session:
            try:
                call = await calls.get_call(session, call_slug)
            except NotFound:
                return []
            rows = await listing.similar_ideas(session, call.id, title=title, body=body)
        return [Idea.from_row(r) for r in rows]


@strawberry.type
class IdeasMutations:
    """Mutations of this domain (mixed into the schema's Mutation)."""

    @strawberry.mutation(description="Post an idea to a call as one of your personas.")
    async def post_idea(
        self,
        info: Info,
        call_slug: str,
        persona_id: relay.GlobalID,
        input: IdeaInput,
        publish: bool = True,
    ) -> IdeaPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> IdeaRow:
            persona = _node_id(persona_id, "Persona", "persona_id")
            async with info.context.db.session() as session, session.begin():
                call = await calls.get_call(session, call_slug)
                return await service.post_idea(
                    session,
                    account,
                    call,
                    persona,
                    input.to_service(),
                    now=info.context.now,
                    publish=publish,
                )

        return await _payload(work)

    @strawberry.mutation(description="Publish one of your drafts.")
    async def publish_idea(self, info: Info, id: relay.GlobalID) -> IdeaPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> IdeaRow:
            idea_id = _node_id(id, "Idea", "id")
            async with info.context.db.session() as session, session.begin():
                return await service.publish_idea(session, account, idea_id, now=info.context.now)

        return await _payload(work)

    @strawberry.mutation(description="Change your idea; once published, each edit is kept.")
    async def edit_idea(self, info: Info, id: relay.GlobalID, input: IdeaInput) -> IdeaPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> IdeaRow:
            idea_id = _node_id(id, "Idea", "id")
            async with info.context.db.session() as session, session.begin():
                return await service.edit_idea(
                    session, account, idea_id, input.to_service(), now=info.context.now
                )

        return await _payload(work)

    @strawberry.mutation(description="Endorse an idea as one of your personas (once a person).")
    async def endorse_idea(
        self, info: Info, id: relay.GlobalID, persona_id: relay.GlobalID
    ) -> IdeaPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> IdeaRow:
            idea_id = _node_id(id, "Idea", "id")
            persona = _node_id(persona_id, "Persona", "persona_id")
            async with info.context.db.session() as session, session.begin():
                return await endorsements.endorse(
                    session, account, idea_id, persona, now=info.context.now
                )

        return await _payload(work)

    @strawberry.mutation(description="Withdraw your endorsement of an idea.")
    async def withdraw_endorsement(self, info: Info, id: relay.GlobalID) -> IdeaPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> IdeaRow:
            idea_id = _node_id(id, "Idea", "id")
            async with info.context.db.session() as session, session.begin():
                return await endorsements.withdraw_endorsement(
                    session, account, idea_id, now=info.context.now
                )

        return await _payload(work)

    @strawberry.mutation(description="Follow an idea to hear about its comments and answer.")
    async def follow_idea(self, info: Info, id: relay.GlobalID) -> IdeaPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> IdeaRow:
            idea_id = _node_id(id, "Idea", "id")
            async with info.context.db.session() as session, session.begin():
                return await endorsements.follow(session, account, idea_id)

        return await _payload(work)

    @strawberry.mutation(description="Stop following an idea.")
    async def unfollow_idea(self, info: Info, id: relay.GlobalID) -> IdeaPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> IdeaRow:
            idea_id = _node_id(id, "Idea", "id")
            async with info.context.db.session() as session, session.begin():
                return await endorsements.unfollow(session, account, idea_id)

        return await _payload(work)
