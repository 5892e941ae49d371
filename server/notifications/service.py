"""In-app notifications: written in the same transaction as the event they report, listed for
their account, and summarised by email in a daily or weekly digest for those who ask."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import NotFound, ValidationFailed
from server.identity import mail
from server.identity.models import Account
from server.notifications.models import Digest, Notification, NotificationKind, NotificationSettings
from server.pagination import Page, PageArgs, encode_cursor, keyset_page, page_args, seek

# A little slack, so that a daily cron job that starts a few seconds early still sends.
DIGEST_PERIODS = {Digest.DAILY: dt.timedelta(hours=23), Digest.WEEKLY: dt.timedelta(days=6.9)}
DIGEST_MAX_ITEMS = 50


async def notify(
    session: AsyncSession,
    account_ids: Iterable[int | None],
    *,
    kind: NotificationKind,
    message: str,
    link: str,
) -> int:
    """Notify each distinct account (None, e.g. a deleted author, is skipped)."""
    targets = sorted({a for a in account_ids if a is not None})
    session.add_all(
        Notification(account_id=a, kind=kind, message=message[:500], link=link) for a in targets
    )
    await session.flush()
    return len(targets)


def _mine(account_id: int, unread_only: bool) -> list[ColumnElement[bool]]:
    where = [Notification.account_id == account_id]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    return where


async def list_notifications(
    session: AsyncSession,
    account_id: int,
    *,
    first: int | None = None,
    after: str | None = None,
    unread_only: bool = False,
    page: PageArgs | None = None,
) -> Page[Notification]:
    """The account's notifications, newest first (keyset on id; ``page``: either way)."""
    args = page or page_args(first, after)
    where = _mine(account_id, unread_only)
    query = seek(
        select(Notification).where(*where), (Notification.id,), (int,), args, descending=True
    )
    rows = list(await session.scalars(query))
    total = await session.scalar(select(func.count()).select_from(Notification).where(*where))
    return keyset_page(rows, args, lambda n: encode_cursor((n.id,)), total=total)


async def unread_count(session: AsyncSession, account_id: int) -> int:
    query = select(func.count()).select_from(Notification).where(*_mine(account_id, True))
    return await session.scalar(query) or 0


async def mark_read(
    session: AsyncSession,
    account_id: int,
    *,
    now: dt.datetime,
    ids: Sequence[int] | None = None,
) -> list[Notification]:
    """Mark the account's notifications read: those in ``ids`` or, without ids, every one.
    Another account's ids are never touched; an id of nobody's is NotFound."""
    query = update(Notification).where(
        Notification.account_id == account_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        owned = set(
            await session.scalars(
                select(Notification.id).where(
                    Notification.account_id == account_id, Notification.id.in_(ids)
                )
            )
        )
        if owned != set(ids):
            raise NotFound("We could not find that notification.")
        query = query.where(Notification.id.in_(ids))
    changed = await session.scalars(
        query.values(read_at=now).returning(Notification),
        execution_options={"populate_existing": True},
    )
    return list(changed)


async def get_notification(session: AsyncSession, account_id: int, id_: int) -> Notification:
    row = await session.get(Notification, id_)
    if row is None or row.account_id != account_id:
        raise NotFound("We could not find that notification.")
    return row


async def digest_setting(session: AsyncSession, account_id: int) -> Digest:
    found = await session.scalar(
        select(NotificationSettings.email_digest).where(
            NotificationSettings.account_id == account_id
        )
    )
    return found or Digest.OFF


def parse_digest(raw: str) -> Digest:
    try:
        return Digest(raw)
    except ValueError:
        raise ValidationFailed(
            "Choose how often to get an email: never, daily or weekly.", field="email_digest"
        ) from None


async def set_digest(session: AsyncSession, account_id: int, digest: Digest) -> Digest:
    await session.execute(
        insert(NotificationSettings)
        .values(account_id=account_id, email_digest=digest)
        .on_conflict_do_update(
            index_elements=[NotificationSettings.account_id], set_={"email_digest": digest}
        )
    )
    return digest


# --- the email digest -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestSent:
    account_id: int
    notifications: int


def _digest_body(items: Sequence[Notification], base_url: str, digest: Digest) -> str:
    base = base_url.rstrip("/")
    period = "day" if digest == Digest.DAILY else "week"
    lines = [f"Here is what happened on Moot for you this {period}:", ""]
    for n in items[:DIGEST_MAX_ITEMS]:
        lines.append(f"- {n.message}\n  {base}{n.link}")
    if len(items) > DIGEST_MAX_ITEMS:
        lines.append(f"- and {len(items) - DIGEST_MAX_ITEMS} more.")
    lines += [
        "",
        f"See them all: {base}/notifications",
        f"Change how often you get this email: {base}/notifications#settings",
        "",
    ]
    return "\n".join(lines)


async def send_digests(
    session: AsyncSession, *, now: dt.datetime, base_url: str
) -> list[DigestSent]:
    """Queue one email per account whose digest is due and who has notifications not emailed
    yet, then mark those notifications emailed. Running it again sends nothing new. Settings
    rows are locked (skipping locked ones) so two runs at once never send twice."""
    due = or_(
        *(
            (NotificationSettings.email_digest == digest)
            & or_(
                NotificationSettings.last_digest_at.is_(None),
                NotificationSettings.last_digest_at <= now - period,
            )
            for digest, period in DIGEST_PERIODS.items()
        )
    )
    settings = {
        s.account_id: s
        for s in await session.scalars(
            select(NotificationSettings)
            .join(Account, Account.id == NotificationSettings.account_id)
            .where(due, Account.deleted_at.is_(None), Account.email.is_not(None))
            .with_for_update(of=NotificationSettings, skip_locked=True)
        )
    }
    if not settings:
        return []
    pending: dict[int, list[Notification]] = {}
    for n in await session.scalars(
        select(Notification)
        .where(Notification.account_id.in_(settings), Notification.emailed_at.is_(None))
        .order_by(Notification.account_id, Notification.id)
    ):
        pending.setdefault(n.account_id, []).append(n)
    if not pending:
        return []
    emails: dict[int, str | None] = {
        account_id: email
        for account_id, email in await session.execute(
            select(Account.id, Account.email).where(Account.id.in_(pending))
        )
    }
    sent = []
    for account_id, items in pending.items():
        address = emails.get(account_id)
        if address is None:
            continue
        count = len(items)
        await mail.queue(
            session,
            to=address,
            subject=f"Moot: {count} new notification{'' if count == 1 else 's'}",
            body=_digest_body(items, base_url, settings[account_id].email_digest),
        )
        sent.append(DigestSent(account_id, count))
    done_ids = [n.id for a in sent for n in pending[a.account_id]]
    await session.execute(
        update(Notification).where(Notification.id.in_(done_ids)).values(emailed_at=now)
    )
    await session.execute(
        update(NotificationSettings)
        .where(NotificationSettings.account_id.in_([a.account_id for a in sent]))
        .values(last_digest_at=now)
    )
    return sent
