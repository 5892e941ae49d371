"""Comments in the API: threaded discussions of ideas, stance tallies, and the writes.

``comments_of_idea`` and ``stance_tally_of_idea`` go through DataLoaders so an ``Idea``
type can offer them as fields without costing a query per idea."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from typing import Annotated, Self

import strawberry
from strawberry import relay

from server import live
from server.api.context import Info
from server.api.payloads import UserError, attempt
from server.api.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    CountedConnection,
    InvalidGlobalId,
    RowNode,
    int_ids,
    paging,
    related_or_none,
    to_connection,
)
from server.comments import loaders, service
from server.comments.models import Comment as CommentRow
from server.comments.models import Stance
from server.errors import Forbidden, ValidationFailed
from server.ideas.loaders import idea_by_id
from server.identity.models import TokenScope
from server.markdown import render_markdown
from server.pagination import PageArgs
from server.personas.gql import Persona
from server.personas.loaders import persona_by_id
from server.web import now

LIVE_WAIT = 30.0  # seconds a subscription waits for news before checking in again

strawberry.enum(Stance, description="Where a comment stands on the idea it discusses.")


@strawberry.type(description="A comment on an idea, or a reply to another comment.")
class Comment(RowNode):
    loader = staticmethod(loaders.comment_by_id)
    id: relay.NodeID[int]
    body: str = strawberry.field(
        description="The comment in Markdown; empty once deleted or hidden by a moderator."
    )
    stance: Stance | None = strawberry.field(description="For, against or neutral, if given.")
    depth: int = strawberry.field(description="0 for a comment on the idea, 1 for a reply, …")
    created_at: dt.datetime = strawberry.field(description="When the comment was posted.")
    edited_at: dt.datetime | None = strawberry.field(description="When it was last edited.")
    deleted: bool = strawberry.field(
        description="Deleted by its author: a tombstone, kept so replies keep their place."
    )
    hidden: bool = strawberry.field(description="Hidden by a moderator.")
    hidden_reason: str | None = strawberry.field(description="Why a moderator hid it.")
    author_persona_id: strawberry.Private[int]
    parent_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: CommentRow) -> Self:
        shown = row.deleted_at is None and row.hidden_at is None
        return cls(
            id=row.id,
            body=row.body if shown else "",
            stance=row.stance if shown else None,
            depth=row.depth,
            created_at=row.created_at,
            edited_at=row.edited_at,
            deleted=row.deleted_at is not None,
            hidden=row.hidden_at is not None,
            hidden_reason=row.hidden_reason if row.hidden_at is not None else None,
            author_persona_id=row.author_persona_id,
            parent_id=row.parent_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = [i if i <= service.MAX_ID else 0 for i in int_ids(node_ids)]
        rows = await info.context.loaders.get(cls.loader).load_many(ids)
        ideas = await info.context.loaders.get(idea_by_id).load_many(
            [r.idea_id if r is not None else 0 for r in rows]
        )
        return [
            cls.from_row(r)
            if r is not None and i is not None and i.published_at and not i.hidden_at
            else None
            for r, i in zip(rows, ideas, strict=True)
        ]

    @strawberry.field(description="The body rendered as sanitised HTML.")
    def body_html(self) -> str:
        return str(render_markdown(self.body)) if self.body else ""

    @strawberry.field(description="Who wrote it; null once the comment is deleted.")
    async def author(self, info: Info) -> Persona | None:
        if self.deleted:
            return None
        return await related_or_none(info, persona_by_id, self.author_persona_id, Persona)

    @strawberry.field(description="The comment this replies to, if it is a reply.")
    async def parent(self, info: Info) -> Comment | None:
        return await related_or_none(info, loaders.comment_by_id, self.parent_id, Comment)

    @strawberry.field(description="How many direct replies it has (deleted ones included).")
    async def reply_count(self, info: Info) -> int:
        return await info.context.loaders.get(loaders.reply_counts).load(self.id)


@strawberry.type(description="A page of comments, in thread order.")
class CommentConnection(CountedConnection[Comment]):
    pass


@strawberry.type(description="How many shown comments on an idea take each stance.")
class StanceTally:
    for_: int = strawberry.field(name="for", description="Comments for the idea.")
    against: int = strawberry.field(description="Comments against the idea.")
    neutral: int = strawberry.field(description="Comments neutral on the idea.")
    total: int = strawberry.field(description="Comments that took a stance.")


async def comments_of_idea(info: Info, idea_id: int, page: PageArgs) -> CommentConnection:
    """An idea's discussion (empty for a draft, hidden or unknown idea)."""
    found = await info.context.loaders.get(loaders.comment_pages).load(
        loaders.PageKey(idea_id, page)
    )
    return to_connection(CommentConnection, found, Comment.from_row)


async def stance_tally_of_idea(info: Info, idea_id: int) -> StanceTally:
    tally = await info.context.loaders.get(loaders.stance_tallies).load(idea_id)
    return StanceTally(
        for_=tally.for_, against=tally.against, neutral=tally.neutral, total=tally.total
    )


def _id_of(global_id: relay.GlobalID, type_name: str, field: str) -> int:
    if global_id.type_name != type_name or not global_id.node_id.isdigit():
        raise ValidationFailed(f"That is not a {type_name.lower()} id.", field=field)
    return int(global_id.node_id)


def _idea_id(global_id: relay.GlobalID) -> int:
    if global_id.type_name != "Idea" or not global_id.node_id.isdigit():
        raise InvalidGlobalId("That is not an idea id.")
    pk = int(global_id.node_id)
    return pk if pk <= service.MAX_ID else 0  # larger than any id: no such idea


@strawberry.type
class CommentsQuery:
    """Root query fields of this domain (mixed into the schema's Query)."""

    @strawberry.field(description="An idea's discussion, in thread order (replies after parents).")
    async def comments(
        self,
        info: Info,
        idea_id: relay.GlobalID,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None,
        before: Annotated[str | None, strawberry.argument(description=BEFORE)] = None,
    ) -> CommentConnection:
        args = paging(first, after, last, before)
        return await comments_of_idea(info, _idea_id(idea_id), args)

    @strawberry.field(description="How many comments on an idea are for, against or neutral.")
    async def stance_tally(self, info: Info, idea_id: relay.GlobalID) -> StanceTally:
        return await stance_tally_of_idea(info, _idea_id(idea_id))


@strawberry.input(description="A new comment on an idea, or a reply.")
class PostCommentInput:
    idea_id: relay.GlobalID = strawberry.field(description="The idea to discuss.")
    persona_id: relay.GlobalID = strawberry.field(description="One of your own personas.")
    body: str = strawberry.field(description="1 to 10,000 characters of Markdown.")
    stance: Stance | None = strawberry.field(default=None, description="Optional stance.")
    parent_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The comment this replies to (on the same idea)."
    )


@strawberry.type(description="The result of posting, editing or deleting a comment.")
class CommentPayload:
    comment: Comment | None = strawberry.field(description="The comment, when it changed.")
    errors: list[UserError] = strawberry.field(description="Problems; nothing was changed.")


async def _attempt(work: Callable[[], Awaitable[CommentRow]]) -> CommentPayload:
    """Bad input, a closed phase or someone else's comment: a user error, nothing written."""
    try:
        row, errors = await attempt(work)
    except Forbidden as exc:
        row, errors = None, [UserError(field=exc.field, message=exc.message, code=exc.code)]
    return CommentPayload(comment=Comment.from_row(row) if row else None, errors=errors)


@strawberry.type
class CommentsMutations:
    """Mutations of this domain (mixed into the schema's Mutation)."""

    @strawberry.mutation(description="Comment on an idea, or reply to a comment, as a persona.")
    async def post_comment(self, info: Info, input: PostCommentInput) -> CommentPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> CommentRow:
            idea_id = _id_of(input.idea_id, "Idea", "idea_id")
            persona_id = _id_of(input.persona_id, "Persona", "persona_id")
            parent_id = _id_of(input.parent_id, "Comment", "parent_id") if input.parent_id else None
            async with info.context.db.session() as session, session.begin():
                return await service.create_comment(
                    session,
                    account,
                    idea_id=idea_id,
                    persona_id=persona_id,
                    body=input.body,
                    stance=input.stance,
                    parent_id=parent_id,
                    now=info.context.now,
                )

        return await _attempt(work)

    @strawberry.mutation(description="Edit your comment (within 15 minutes of posting it).")
    async def edit_comment(
        self, info: Info, id: relay.GlobalID, body: str, stance: Stance | None = None
    ) -> CommentPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> CommentRow:
            comment_id = _id_of(id, "Comment", "id")
            async with info.context.db.session() as session, session.begin():
                return await service.edit_comment(
                    session, account, comment_id, body=body, stance=stance, now=info.context.now
                )

        return await _attempt(work)

    @strawberry.mutation(description="Delete your comment: a tombstone keeps replies in place.")
    async def delete_comment(self, info: Info, id: relay.GlobalID) -> CommentPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> CommentRow:
            comment_id = _id_of(id, "Comment", "id")
            async with info.context.db.session() as session, session.begin():
                return await service.delete_comment(
                    session, account, comment_id, now=info.context.now
                )

        return await _attempt(work)


@strawberry.type
class CommentsSubscription:
    """Subscriptions of this domain (mixed into the schema's Subscription)."""

    @strawberry.subscription(
        description="New comments on an idea (replies included), as they are posted, oldest "
        "first; anyone may listen. Fed by the same notifications as the idea's page, so it "
        "works whichever server the comment was posted on. Edits and deletions are not sent. "
        "If you fall far behind, the subscription completes: subscribe again and read "
        "`comments` for what you missed."
    )
    async def comment_added(self, info: Info, idea_id: relay.GlobalID) -> AsyncIterator[Comment]:
        pk = _idea_id(idea_id)
        async with info.context.db.session() as session:
            await service.open_idea(session, pk)  # NotFound, or hidden: refused up front
        return _comments_added(info, pk)


async def _comments_added(info: Info, idea_id: int) -> AsyncGenerator[Comment, None]:
    """Listen first, then note the newest comment, so nothing committed in between is lost.
    Leaving the ``async with`` (complete, disconnect, error) drops the broker subscription."""
    db = info.context.db
    broker = live.broker_for(info.context.request.app)
    async with broker.subscribe(service.topic(idea_id)) as sub:
        async with db.session() as session:
            seen = await service.newest_id(session, idea_id)
        while True:
            try:
                message = await sub.get(wait=LIVE_WAIT)
            except live.SubscriptionClosed:
                return
            if message is None or not (message.resync or message.data.get("kind") == "created"):
                continue
            async with db.session() as session:
                rows = await service.new_since(session, idea_id, seen)
            for row in rows:
                seen = row.id
                info.context.refresh(now())
                yield Comment.from_row(row)
