from __future__ import annotations

import datetime as dt
import enum

import strawberry
from strawberry import relay

from server.api.context import Info
from server.api.payloads import UserError, attempt
from server.errors import ValidationFailed
from server.ideas.models import Idea
from server.identity.models import TokenScope
from server.moderation import service
from server.moderation.service import Action, ModerationResult, QueueItem, Subject


@strawberry.enum(description="What can be reported to the moderators.")
class ReportSubject(enum.Enum):
    IDEA = "idea"
    COMMENT = "comment"


TYPE_NAMES = {ReportSubject.IDEA: "Idea", ReportSubject.COMMENT: "Comment"}


def row_id(raw: str, type_name: str, *, field: str) -> int:
    """The database id in a global id of ``type_name`` (a plain number is accepted too)."""
    if raw.isdigit() and len(raw) <= 18:
        return int(raw)
    try:
        gid = relay.GlobalID.from_id(raw)
    except ValueError:
        gid = None
    if gid is None or gid.type_name != type_name or not gid.node_id.isdigit():
        raise ValidationFailed(f"That is not a valid {type_name} id.", field=field)
    return int(gid.node_id)


@strawberry.type(description="An idea or comment as moderators see it.")
class ModeratedItem:
    subject_type: ReportSubject = strawberry.field(description="Idea or comment.")
    subject_id: strawberry.ID = strawberry.field(description="The item's global id.")
    exists: bool = strawberry.field(description="False when the item has since been deleted.")
    title: str | None = strawberry.field(description="The idea's title (null for a comment).")
    text: str = strawberry.field(description="What the item says, in Markdown.")
    link: str | None = strawberry.field(description="Where the item is on this site.")
    hidden: bool = strawberry.field(description="Whether moderators have hidden it.")
    hidden_reason: str | None = strawberry.field(description="The reason shown in its place.")

    @classmethod
    def of(cls, subject_type: str, subject_id: int, subject: Subject | None) -> ModeratedItem:
        kind = ReportSubject(subject_type)
        return cls(
            subject_type=kind,
            subject_id=strawberry.ID(relay.to_base64(TYPE_NAMES[kind], subject_id)),
            exists=subject is not None,
            title=subject.title if isinstance(subject, Idea) else None,
            text=subject.body if subject is not None else "",
            link=service.subject_link(subject) if subject is not None else None,
            hidden=subject is not None and subject.hidden_at is not None,
            hidden_reason=subject.hidden_reason if subject is not None else None,
        )


@strawberry.type(description="Reported content and its open reports (reporters are not named).")
class ModerationQueueItem:
    item: ModeratedItem = strawberry.field(description="What was reported.")
    report_count: int = strawberry.field(description="How many open reports it has.")
    reasons: list[str] = strawberry.field(description="The reporters' reasons, oldest first.")
    first_reported_at: dt.datetime = strawberry.field(description="Its oldest open report.")

    @classmethod
    def of(cls, row: QueueItem) -> ModerationQueueItem:
        return cls(
            item=ModeratedItem.of(row.subject_type, row.subject_id, row.subject),
            report_count=row.report_count,
            reasons=row.reasons,
            first_reported_at=row.first_reported_at,
        )


@strawberry.type(description="A page of the moderation queue, longest-waiting first.")
class ModerationQueuePage:
    items: list[ModerationQueueItem] = strawberry.field(description="The items on this page.")
    total_count: int = strawberry.field(description="How many items have open reports.")
    has_next_page: bool = strawberry.field(description="Whether more items follow.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")


@strawberry.type(description="The result of reporting content.")
class ReportPayload:
    reported: bool = strawberry.field(description="Whether you now have an open report on it.")
    already_reported: bool = strawberry.field(
        description="True when you had already reported it: nothing new was recorded."
    )
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


@strawberry.type(description="The result of a moderator's action.")
class ModerationPayload:
    item: ModeratedItem | None = strawberry.field(description="The item, as it is now.")
    reports_resolved: int = strawberry.field(description="How many open reports were resolved.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


@strawberry.type
class ModerationQuery:
    @strawberry.field(description="Reported content awaiting a moderator (moderators only).")
    async def moderation_queue(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> ModerationQueuePage:
        account = info.context.require(TokenScope.MODERATE)
        async with info.context.db.session() as session:
            await service.require_moderator(session, account)
            page = await service.queue(session, first=first, after=after)
        return ModerationQueuePage(
            items=[ModerationQueueItem.of(i) for i in page.items],
            total_count=page.total or 0,
            has_next_page=page.has_next,
            end_cursor=page.end_cursor,
        )


async def _act(
    info: Info, subject_type: ReportSubject, subject_id: strawberry.ID, action: Action, reason: str
) -> ModerationPayload:
    account = info.context.require(TokenScope.MODERATE)

    async def work() -> ModerationResult:
        sid = row_id(str(subject_id), TYPE_NAMES[subject_type], field="subject_id")
        async with info.context.db.session() as session, session.begin():
            return await service.moderate(
                session,
                account,
                subject_type.value,
                sid,
                action,
                reason=reason,
                now=info.context.now,
            )

    result, errors = await attempt(work)
    if result is None:
        return ModerationPayload(item=None, reports_resolved=0, errors=errors)
    item = ModeratedItem.of(result.subject_type, result.subject_id, result.subject)
    return ModerationPayload(item=item, reports_resolved=result.reports_resolved, errors=[])


@strawberry.type
class ModerationMutations:
    @strawberry.mutation(description="Report an idea or comment to the moderators.")
    async def report_content(
        self,
        info: Info,
        subject_type: ReportSubject,
        subject_id: strawberry.ID,
        reason: str,
    ) -> ReportPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> bool:
            sid = row_id(str(subject_id), TYPE_NAMES[subject_type], field="subject_id")
            async with info.context.db.session() as session, session.begin():
                return await service.report(session, account, subject_type.value, sid, reason)

        created, errors = await attempt(work)
        if errors:
            return ReportPayload(reported=False, already_reported=False, errors=errors)
        return ReportPayload(reported=True, already_reported=not created, errors=[])

    @strawberry.mutation(description="Hide an item, showing a public reason in its place.")
    async def hide_content(
        self, info: Info, subject_type: ReportSubject, subject_id: strawberry.ID, reason: str
    ) -> ModerationPayload:
        return await _act(info, subject_type, subject_id, Action.HIDE, reason)

    @strawberry.mutation(description="Show a hidden item again.")
    async def restore_content(
        self,
        info: Info,
        subject_type: ReportSubject,
        subject_id: strawberry.ID,
        reason: str = "",
    ) -> ModerationPayload:
        return await _act(info, subject_type, subject_id, Action.RESTORE, reason)

    @strawberry.mutation(description="Send the item's author a moderation notice.")
    async def warn_author(
        self, info: Info, subject_type: ReportSubject, subject_id: strawberry.ID, message: str
    ) -> ModerationPayload:
        return await _act(info, subject_type, subject_id, Action.WARN, message)

    @strawberry.mutation(description="Close an item's open reports without acting on it.")
    async def dismiss_reports(
        self,
        info: Info,
        subject_type: ReportSubject,
        subject_id: strawberry.ID,
        reason: str = "",
    ) -> ModerationPayload:
        return await _act(info, subject_type, subject_id, Action.DISMISS, reason)
