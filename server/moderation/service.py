"""Moderation: residents report ideas and comments; moderators work through the open reports and
hide, restore, warn or dismiss. Used by the pages and the API alike.

Every moderator action resolves the item's open reports and is written to the audit log in the
same transaction. Reporters' identities never leave this module."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.comments.models import Comment
from server.errors import Forbidden, NotFound, ValidationFailed
from server.ideas.models import Idea
from server.identity.models import Account, Role
from server.identity.service import has_role
from server.moderation.models import Report
from server.notifications.models import NotificationKind
from server.notifications.service import notify
from server.pagination import Page, clamp_page_size, decode_cursor, encode_cursor
from server.personas.models import Persona

SUBJECT_TYPES = ("idea", "comment")
MAX_REASON = 1000
MAX_PUBLIC_REASON = 500  # ideas.hidden_reason / comments.hidden_reason
MAX_REASONS_SHOWN = 20
MAX_WARNING = 450  # fits a notification with its preamble


class Action(enum.StrEnum):
    HIDE = "hide"
    RESTORE = "restore"
    WARN = "warn"
    DISMISS = "dismiss"


RESOLUTIONS = {
    Action.HIDE: "hidden",
    Action.RESTORE: "restored",
    Action.WARN: "warned",
    Action.DISMISS: "dismissed",
}

Subject = Idea | Comment


def subject_link(subject: Subject) -> str:
    if isinstance(subject, Idea):
        return f"/ideas/{subject.id}"
    return f"/ideas/{subject.idea_id}#comment-{subject.id}"


def check_subject_type(subject_type: str) -> str:
    if subject_type not in SUBJECT_TYPES:
        raise ValidationFailed("Report an idea or a comment.", field="subject_type")
    return subject_type


async def find_subject(
    session: AsyncSession, subject_type: str, subject_id: int, *, public: bool = False
) -> Subject:
    """The idea or comment, or NotFound. ``public``: only what residents can see (a published
    idea; a comment not deleted)."""
    check_subject_type(subject_type)
    subject: Subject | None
    if subject_type == "idea":
        subject = await session.get(Idea, subject_id, with_for_update=not public)
        if subject is not None and public and subject.published_at is None:
            subject = None
    else:
        subject = await session.get(Comment, subject_id, with_for_update=not public)
        if subject is not None and public and subject.deleted_at is not None:
            subject = None
    if subject is None:
        raise NotFound(f"We could not find that {subject_type}. It may have been deleted.")
    return subject


async def report(
    session: AsyncSession, reporter: Account, subject_type: str, subject_id: int, reason: str
) -> bool:
    """Report an idea or comment. Returns False when this person already has an open report on
    it (nothing changes: one open report per person per item)."""
    check_subject_type(subject_type)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Tell the moderators what is wrong with it.", field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationFailed(
            f"Keep the reason to {MAX_REASON:,} characters or fewer.", field="reason"
        )
    await find_subject(session, subject_type, subject_id, public=True)
    created = await session.scalar(
        insert(Report)
        .values(
            subject_type=subject_type,
            subject_id=subject_id,
            reporter_account_id=reporter.id,
            reason=reason,
        )
        .on_conflict_do_nothing(
            index_elements=[Report.subject_type, Report.subject_id, Report.reporter_account_id],
            index_where=text("resolved_at IS NULL"),
        )
        .returning(Report.id)
    )
    return created is not None


async def is_moderator(session: AsyncSession, account_id: int) -> bool:
    return await has_role(session, account_id, Role.MODERATOR)


async def require_moderator(session: AsyncSession, account: Account) -> None:
    if not await is_moderator(session, account.id):
        raise Forbidden("Only moderators can do that.")


# --- the queue ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueItem:
    """Reported content with its open reports: no reporter is named."""

    subject_type: str
    subject_id: int
    first_reported_at: dt.datetime
    report_count: int
    reasons: list[str]
    subject: Subject | None  # None when the item has since been deleted
    idea_title: str | None  # the idea, or the idea a comment is on

    @property
    def link(self) -> str | None:
        return subject_link(self.subject) if self.subject is not None else None

    @property
    def text(self) -> str:
        if self.subject is None:
            return ""
        return self.subject.body

    @property
    def hidden(self) -> bool:
        return self.subject is not None and self.subject.hidden_at is not None


async def _subjects(
    session: AsyncSession, keys: list[tuple[str, int]]
) -> dict[tuple[str, int], tuple[Subject, str]]:
    """Each reported item with the title of its idea: two queries whatever the page size."""
    idea_ids = [i for t, i in keys if t == "idea"]
    comment_ids = [i for t, i in keys if t == "comment"]
    found: dict[tuple[str, int], tuple[Subject, str]] = {}
    if idea_ids:
        for idea in await session.scalars(select(Idea).where(Idea.id.in_(idea_ids))):
            found["idea", idea.id] = (idea, idea.title)
    if comment_ids:
        rows = await session.execute(
            select(Comment, Idea.title)
            .join(Idea, Idea.id == Comment.idea_id)
            .where(Comment.id.in_(comment_ids))
        )
        for comment, title in rows:
            found["comment", comment.id] = (comment, title)
    return found


async def queue(
    session: AsyncSession, *, first: int | None = None, after: str | None = None
) -> Page[QueueItem]:
    """Items with open reports, the longest-waiting first (by their oldest open report)."""
    size = clamp_page_size(first)
    is_open = Report.resolved_at.is_(None)
    oldest = func.min(Report.created_at)
    query = (
        select(
            Report.subject_type,
            Report.subject_id,
            oldest,
            func.count(),
            func.array_agg(aggregate_order_by(Report.reason, Report.created_at, Report.id)),
        )
        .where(is_open)
        .group_by(Report.subject_type, Report.subject_id)
    )
    if after is not None:
        at, kind, sid = decode_cursor(after, (dt.datetime, str, int))
        query = query.having(
            tuple_(oldest, Report.subject_type, Report.subject_id) > tuple_(at, kind, sid)
        )
    query = query.order_by(oldest, Report.subject_type, Report.subject_id).limit(size + 1)
    rows = list(await session.execute(query))
    page = rows[:size]
    subjects = await _subjects(session, [(t, i) for t, i, *_ in page])
    items = []
    for subject_type, subject_id, at, count, reasons in page:
        subject, title = subjects.get((subject_type, subject_id), (None, None))
        items.append(
            QueueItem(
                subject_type=subject_type,
                subject_id=subject_id,
                first_reported_at=at,
                report_count=count,
                reasons=list(reasons)[:MAX_REASONS_SHOWN],
                subject=subject,
                idea_title=title,
            )
        )
    distinct = select(Report.subject_type, Report.subject_id).where(is_open).distinct().subquery()
    total = await session.scalar(select(func.count()).select_from(distinct))
    return Page(
        items=items,
        cursors=[encode_cursor((i.first_reported_at, i.subject_type, i.subject_id)) for i in items],
        has_next=len(rows) > size,
        total=total,
    )


async def queue_item(session: AsyncSession, subject_type: str, subject_id: int) -> QueueItem:
    """One item with its open reports (possibly none), for the review page."""
    check_subject_type(subject_type)
    row = (
        await session.execute(
            select(
                func.min(Report.created_at),
                func.count(Report.id),
                func.array_agg(aggregate_order_by(Report.reason, Report.created_at, Report.id)),
            ).where(
                Report.subject_type == subject_type,
                Report.subject_id == subject_id,
                Report.resolved_at.is_(None),
            )
        )
    ).one()
    found = await _subjects(session, [(subject_type, subject_id)])
    if (subject_type, subject_id) not in found and not row[1]:
        raise NotFound(f"We could not find that {subject_type}.")
    subject, title = found.get((subject_type, subject_id), (None, None))
    return QueueItem(
        subject_type=subject_type,
        subject_id=subject_id,
        first_reported_at=row[0] or dt.datetime.now(dt.UTC),
        report_count=row[1],
        reasons=[r for r in (row[2] or []) if r][:MAX_REASONS_SHOWN],
        subject=subject,
        idea_title=title,
    )


# --- acting on an item --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModerationResult:
    subject_type: str
    subject_id: int
    subject: Subject | None
    action: Action
    reports_resolved: int


def _message(action: Action, reason: str) -> str:
    if action in (Action.HIDE, Action.WARN) and not reason:
        what = "the reason shown in its place" if action == Action.HIDE else "your message"
        raise ValidationFailed(f"Write {what}.", field="reason")
    limits = {Action.HIDE: MAX_PUBLIC_REASON, Action.WARN: MAX_WARNING}
    limit = limits.get(action, MAX_REASON)
    if len(reason) > limit:
        raise ValidationFailed(f"Keep it to {limit} characters or fewer.", field="reason")
    return reason


async def _resolve_reports(
    session: AsyncSession,
    subject_type: str,
    subject_id: int,
    *,
    moderator: Account,
    action: Action,
    now: dt.datetime,
) -> int:
    result = await session.execute(
        update(Report)
        .where(
            Report.subject_type == subject_type,
            Report.subject_id == subject_id,
            Report.resolved_at.is_(None),
        )
        .values(resolved_at=now, resolved_by=moderator.id, resolution=RESOLUTIONS[action])
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def moderate(
    session: AsyncSession,
    moderator: Account,
    subject_type: str,
    subject_id: int,
    action: Action,
    *,
    reason: str = "",
    now: dt.datetime,
) -> ModerationResult:
    """Hide (with a public reason), restore, warn the author (with a message) or dismiss the
    reports of an idea or comment; resolves its open reports and audits the action."""
    await require_moderator(session, moderator)
    reason = _message(action, reason.strip())
    try:
        subject: Subject | None = await find_subject(session, subject_type, subject_id)
    except NotFound:
        # Reports can outlive what they are about: they may still be dismissed.
        if action != Action.DISMISS:
            raise
        subject = None
    if action == Action.HIDE and subject is not None:
        subject.hidden_at = now
        subject.hidden_reason = reason
    elif action == Action.RESTORE and subject is not None:
        if subject.hidden_at is None:
            raise ValidationFailed("This is not hidden, so there is nothing to restore.")
        subject.hidden_at = None
        subject.hidden_reason = None
    elif action == Action.WARN and subject is not None:
        author = await session.scalar(
            select(Persona.account_id).where(Persona.id == subject.author_persona_id)
        )
        if author is None:
            raise ValidationFailed("The author's account no longer exists, so it cannot be warned.")
        what = "idea" if isinstance(subject, Idea) else "comment"
        await notify(
            session,
            [author],
            kind=NotificationKind.MODERATION,
            message=f"A moderator wrote about your {what}: {reason}",
            link=subject_link(subject),
        )
    await session.flush()
    resolved = await _resolve_reports(
        session, subject_type, subject_id, moderator=moderator, action=action, now=now
    )
    if action == Action.DISMISS and not resolved:
        raise ValidationFailed("There are no open reports on this to dismiss.")
    await audit.record(
        session,
        actor=moderator.id,
        action=f"moderation.{action.value}",
        subject_type=subject_type,
        subject_id=subject_id,
        reason=reason or None,
        reports_resolved=resolved,
    )
    return ModerationResult(subject_type, subject_id, subject, action, resolved)
