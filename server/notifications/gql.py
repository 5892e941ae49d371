from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Self

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
    to_connection,
)
from server.identity.models import TokenScope
from server.moderation.gql import row_id
from server.notifications import loaders, service
from server.notifications.models import Digest, NotificationKind
from server.notifications.models import Notification as NotificationRow

strawberry.enum(NotificationKind, description="What a notification is about.")
strawberry.enum(Digest, description="How often notifications are summarised by email.")


@strawberry.type(description="Something that happened for the signed-in account. Private.")
class Notification(RowNode):
    loader = staticmethod(loaders.notification_by_id)
    id: relay.NodeID[int]
    kind: NotificationKind = strawberry.field(description="What it is about.")
    message: str = strawberry.field(description="What happened, in a sentence.")
    link: str = strawberry.field(description="The page on this site it is about (a path).")
    created_at: dt.datetime = strawberry.field(description="When it happened.")
    read_at: dt.datetime | None = strawberry.field(description="When it was marked read.")

    @classmethod
    def from_row(cls, row: NotificationRow) -> Self:
        return cls(
            id=row.id,
            kind=row.kind,
            message=row.message,
            link=row.link,
            created_at=row.created_at,
            read_at=row.read_at,
        )

    @strawberry.field(description="Whether it has been read.")
    def read(self) -> bool:
        return self.read_at is not None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Only the owner's notifications resolve; anyone else's id is null."""
        ids = int_ids(node_ids)
        account = info.context.caller.account
        if account is None or TokenScope.READ.value not in info.context.caller.scopes:
            return [None for _ in ids]
        rows = await info.context.loaders.get(cls.loader).load_many(ids)
        return [cls.from_row(r) if r and r.account_id == account.id else None for r in rows]


@strawberry.type(description="A page of notifications, newest first.")
class NotificationConnection(CountedConnection[Notification]):
    @strawberry.field(description="How many of the account's notifications are unread.")
    async def unread_count(self, info: Info) -> int:
        account = info.context.require(TokenScope.READ)
        async with info.context.db.session() as session:
            return await service.unread_count(session, account.id)


@strawberry.type(description="The result of marking notifications read.")
class MarkReadPayload:
    notifications: list[Notification] = strawberry.field(description="Those marked read now.")
    unread_count: int = strawberry.field(description="How many are still unread.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


@strawberry.type(description="The result of changing notification settings.")
class NotificationSettingsPayload:
    email_digest: Digest | None = strawberry.field(description="The digest setting now.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


@strawberry.type
class NotificationsQuery:
    @strawberry.field(description="The signed-in account's notifications, newest first.")
    async def notifications(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
        unread_only: bool = False,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None,
        before: Annotated[str | None, strawberry.argument(description=BEFORE)] = None,
    ) -> NotificationConnection:
        account = info.context.require(TokenScope.READ)
        args = paging(first, after, last, before)
        async with info.context.db.session() as session:
            page = await service.list_notifications(
                session, account.id, unread_only=unread_only, page=args
            )
        return to_connection(NotificationConnection, page, Notification.from_row)

    @strawberry.field(description="How often the signed-in account gets an email digest.")
    async def notification_digest(self, info: Info) -> Digest:
        account = info.context.require(TokenScope.READ)
        async with info.context.db.session() as session:
            return await service.digest_setting(session, account.id)


@strawberry.type
class NotificationsMutations:
    @strawberry.mutation(description="Mark notifications read: those given, or all of them.")
    async def mark_notifications_read(
        self, info: Info, ids: list[strawberry.ID] | None = None
    ) -> MarkReadPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> tuple[list[NotificationRow], int]:
            wanted = (
                None if ids is None else [row_id(str(i), "Notification", field="ids") for i in ids]
            )
            async with info.context.db.session() as session, session.begin():
                changed = await service.mark_read(
                    session, account.id, now=info.context.now, ids=wanted
                )
                return changed, await service.unread_count(session, account.id)

        result, errors = await attempt(work)
        if result is None:
            return MarkReadPayload(notifications=[], unread_count=0, errors=errors)
        rows, unread = result
        return MarkReadPayload(
            notifications=[Notification.from_row(r) for r in rows], unread_count=unread, errors=[]
        )

    @strawberry.mutation(description="Choose how often to get an email digest.")
    async def update_notification_settings(
        self, info: Info, email_digest: Digest
    ) -> NotificationSettingsPayload:
        account = info.context.require(TokenScope.PARTICIPATE)
        async with info.context.db.session() as session, session.begin():
            digest = await service.set_digest(session, account.id, email_digest)
        return NotificationSettingsPayload(email_digest=digest, errors=[])
