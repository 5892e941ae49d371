"""Comments on ideas: the rules and the writes.

A thread is ordered by ``path``: the zero-padded ids from the root down, joined by dots, so
one range scan on ``ix_comments_idea_path`` returns a whole discussion in reading order (each
comment straight after its parent, siblings oldest first). Every write checks the rules first
and raises before touching anything, so bad input changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import live
from server.audit import service as audit
from server.calls import rules
from server.calls.service import phases_of
from server.comments.models import Comment, Stance
from server.errors import Forbidden, NotFound, ValidationFailed
from server.ideas.models import Idea
from server.identity.light import light_scope_allows
from server.identity.models import Account
from server.notifications.models import NotificationKind
from server.notifications.service import notify
from server.pagination import (
    Page,
    PageArgs,
    cursor_parameters,
    encode_cursor,
    keyset_page,
    page_args,
    seek_bound,
)
from server.personas.models import Persona
from server.personas.service import usable_persona

MAX_BODY = 10_000
EDIT_WINDOW = dt.timedelta(minutes=15)
MAX_DEPTH = 50  # the table's check constraint
PAD = 10  # digits per id in a path: 51 levels x 11 characters fits String(600)
MAX_ID = 2**31 - 1  # ids are PostgreSQL integers: anything larger names nothing


class NotYourComment(Forbidden):
    code = "NOT_YOUR_COMMENT"
    default_message = "You can only change your own comments."


class EditWindowClosed(Forbidden):
    code = "EDIT_WINDOW_CLOSED"
    default_message = "Comments can only be edited in the 15 minutes after they are posted."


class OutsideLightScope(Forbidden):
    code = "OUTSIDE_CALL"
    default_message = "Your account was made for another call, so you cannot comment here."


def topic(idea_id: int) -> str:
    """The live-updates topic of an idea's discussion."""
    return f"idea:{idea_id}"


def parse_stance(raw: str | None) -> Stance | None:
    """A stance from a form or the API: empty means none."""
    value = (raw or "").strip().lower()
    if not value or value == "none":
        return None
    try:
        return Stance(value)
    except ValueError:
        raise ValidationFailed(
            "Choose for, against, neutral or no stance.", field="stance"
        ) from None


def _check_body(body: str) -> str:
    if not body.strip():
        raise ValidationFailed("Write your comment before posting it.", field="body")
    if len(body) > MAX_BODY:
        raise ValidationFailed(
            f"Keep your comment to {MAX_BODY:,} characters or fewer (it has {len(body):,}).",
            field="body",
        )
    return body.strip()


def _is_listed(idea: Idea | None) -> bool:
    return idea is not None and idea.published_at is not None and idea.hidden_at is None


async def open_idea(session: AsyncSession, idea_id: int) -> Idea:
    """A published idea nobody has hidden: the only kind that takes comments."""
    idea = await session.get(Idea, idea_id) if idea_id <= MAX_ID else None
    if idea is None or idea.published_at is None:
        raise NotFound("There is no such idea to comment on.", field="idea_id")
    if idea.hidden_at is not None:
        raise ValidationFailed(
            "This idea has been hidden by a moderator, so it cannot take comments.",
            field="idea_id",
        )
    return idea


async def _may_comment(
    session: AsyncSession, account: Account, idea: Idea, *, now: dt.datetime
) -> None:
    rules.require(await phases_of(session, idea.call_id), rules.Action.COMMENT, now)
    if not await light_scope_allows(account, idea.call_id):
        raise OutsideLightScope


async def create_comment(
    session: AsyncSession,
    account: Account,
    *,
    idea_id: int,
    persona_id: int,
    body: str,
    stance: Stance | None = None,
    parent_id: int | None = None,
    now: dt.datetime,
) -> Comment:
    text = _check_body(body)
    idea = await open_idea(session, idea_id)
    await _may_comment(session, account, idea, now=now)
    if persona_id > MAX_ID:
        raise ValidationFailed("Choose one of your personas.", field="persona_id")
    persona = await usable_persona(session, account, persona_id)
    parent = None
    if parent_id is not None:
        parent = await session.get(Comment, parent_id) if parent_id <= MAX_ID else None
        if parent is None or parent.idea_id != idea.id:
            raise ValidationFailed(
                "You can only reply to a comment on this idea.", field="parent_id"
            )
        if parent.deleted_at is not None or parent.hidden_at is not None:
            raise ValidationFailed(
                "That comment is no longer shown, so it cannot take replies.", field="parent_id"
            )
        if parent.depth >= MAX_DEPTH:
            raise ValidationFailed(
                "This thread is as deep as it can go: reply further up.", field="parent_id"
            )
    comment = Comment(
        idea_id=idea.id,
        parent_id=parent.id if parent else None,
        author_persona_id=persona.id,
        body=text,
        stance=stance,
        depth=parent.depth + 1 if parent else 0,
        path="",
    )
    session.add(comment)
    await session.flush()
    segment = f"{comment.id:0{PAD}d}"
    comment.path = f"{parent.path}.{segment}" if parent else segment
    await session.execute(
        update(Idea).where(Idea.id == idea.id).values(comment_count=Idea.comment_count + 1)
    )
    await session.flush()
    if parent is not None:
        await _notify_reply(session, account, idea, parent, comment, persona)
    await live.publish(session, topic(idea.id), kind="created", comment=comment.id)
    return comment


async def _notify_reply(
    session: AsyncSession,
    account: Account,
    idea: Idea,
    parent: Comment,
    comment: Comment,
    persona: Persona,
) -> None:
    rows = await session.execute(
        select(Persona.id, Persona.account_id).where(
            Persona.id.in_({parent.author_persona_id, idea.author_persona_id})
        )
    )
    owners = {persona_id: account_id for persona_id, account_id in rows}
    targets = {owners.get(parent.author_persona_id), owners.get(idea.author_persona_id)}
    targets.discard(account.id)
    await notify(
        session,
        targets,
        kind=NotificationKind.REPLY,
        message=f"{persona.display_name} replied in the discussion of “{idea.title}”.",
        link=f"/ideas/{idea.id}#comment-{comment.id}",
    )


async def _own_comment(session: AsyncSession, account: Account, comment_id: int) -> Comment:
    comment = (
        await session.get(Comment, comment_id, with_for_update=True)
        if comment_id <= MAX_ID
        else None
    )
    if comment is None:
        raise NotFound("There is no such comment.", field="id")
    owner = await session.scalar(
        select(Persona.account_id).where(Persona.id == comment.author_persona_id)
    )
    if owner is None or owner != account.id:
        raise NotYourComment
    if comment.deleted_at is not None:
        raise ValidationFailed("That comment has been deleted.", field="id")
    return comment


def editable_until(comment: Comment) -> dt.datetime:
    return comment.created_at + EDIT_WINDOW


def may_edit(comment: Comment, now: dt.datetime) -> bool:
    return (
        comment.deleted_at is None and comment.hidden_at is None and now < editable_until(comment)
    )


async def edit_comment(
    session: AsyncSession,
    account: Account,
    comment_id: int,
    *,
    body: str,
    stance: Stance | None,
    now: dt.datetime,
) -> Comment:
    text = _check_body(body)
    comment = await _own_comment(session, account, comment_id)
    if comment.hidden_at is not None:
        raise ValidationFailed("A moderator has hidden that comment.", field="id")
    if now >= editable_until(comment):
        raise EditWindowClosed
    idea = await open_idea(session, comment.idea_id)
    await _may_comment(session, account, idea, now=now)
    comment.body = text
    comment.stance = stance
    comment.edited_at = now
    await session.flush()
    await audit.record(
        session,
        actor=account.id,
        action="comment.edited",
        subject_type="comment",
        subject_id=comment.id,
    )
    await live.publish(session, topic(comment.idea_id), kind="updated", comment=comment.id)
    return comment


async def delete_comment(
    session: AsyncSession, account: Account, comment_id: int, *, now: dt.datetime
) -> Comment:
    """Leaves a tombstone so replies keep their place; the words themselves are erased."""
    comment = await _own_comment(session, account, comment_id)
    comment.deleted_at = now
    comment.body = ""
    comment.stance = None
    await session.execute(
        update(Idea)
        .where(Idea.id == comment.idea_id)
        .values(comment_count=func.greatest(Idea.comment_count - 1, 0))
    )
    await session.flush()
    await audit.record(
        session,
        actor=account.id,
        action="comment.deleted",
        subject_type="comment",
        subject_id=comment.id,
    )
    await live.publish(session, topic(comment.idea_id), kind="updated", comment=comment.id)
    return comment


# --- reading ----------------------------------------------------------------------------------


async def list_comments(
    session: AsyncSession,
    idea_id: int,
    *,
    first: int | None = None,
    after: str | None = None,
    page: PageArgs | None = None,
) -> Page[Comment]:
    """An idea's discussion in thread order (tombstones included, so replies keep their place).
    An unpublished or hidden idea has no discussion to show."""
    args = page or page_args(first, after)
    if idea_id > MAX_ID or not _is_listed(await session.get(Idea, idea_id)):
        return Page(items=[], cursors=[], has_next=False, total=0)
    values = {"idea_id": idea_id} | cursor_parameters(args, (str,))
    rows = list(await session.scalars(_thread_page(args.shape), values))
    total: int | None
    if args.cursor is None and len(rows) <= args.size:
        total = len(rows)  # the whole discussion fits on this page: nothing left to count
    else:
        total = await session.scalar(_COMMENT_COUNT, values)
    return keyset_page(rows, args, lambda c: encode_cursor((c.path,)), total=total)


# The idea page reads the discussion, its tally and its newest id on every view: their statements
# are built once and run with the idea as a parameter.


@functools.lru_cache(maxsize=64)
def _thread_page(shape: PageArgs) -> Select[Comment]:
    """A page of an idea's discussion in thread order (``shape``: :attr:`PageArgs.shape`)."""
    thread = select(Comment).where(Comment.idea_id == bindparam("idea_id"))
    return seek_bound(thread, (Comment.path,), shape)


_COMMENT_COUNT = (
    select(func.count()).select_from(Comment).where(Comment.idea_id == bindparam("idea_id"))
)


@dataclass(frozen=True, slots=True)
class Tally:
    for_: int = 0
    against: int = 0
    neutral: int = 0

    @property
    def total(self) -> int:
        return self.for_ + self.against + self.neutral


def tally_from(counts: dict[Stance | None, int]) -> Tally:
    return Tally(
        for_=counts.get(Stance.FOR, 0),
        against=counts.get(Stance.AGAINST, 0),
        neutral=counts.get(Stance.NEUTRAL, 0),
    )


def _stances(ideas: ColumnElement[bool]) -> Select[int, Stance | None, int]:
    return (
        select(Comment.idea_id, Comment.stance, func.count())
        .where(
            ideas,
            Comment.deleted_at.is_(None),
            Comment.hidden_at.is_(None),
            Comment.stance.is_not(None),
        )
        .group_by(Comment.idea_id, Comment.stance)
    )


def tally_query(idea_ids: Sequence[int]) -> Select[int, Stance | None, int]:
    """Stances of shown comments per idea: one GROUP BY on ix_comments_idea_stance."""
    return _stances(Comment.idea_id.in_(idea_ids))


_STANCES_OF_ONE = _stances(Comment.idea_id == bindparam("idea_id"))


async def stance_tally(session: AsyncSession, idea_id: int) -> Tally:
    rows = await session.execute(_STANCES_OF_ONE, {"idea_id": idea_id})
    return tally_from({stance: n for _, stance, n in rows})


async def new_since(
    session: AsyncSession, idea_id: int, after_id: int, *, limit: int = 50
) -> list[Comment]:
    """Comments posted to an idea after ``after_id``, oldest first (for live updates)."""
    rows = await session.scalars(
        select(Comment)
        .where(Comment.idea_id == idea_id, Comment.id > after_id)
        .order_by(Comment.id)
        .limit(limit)
    )
    return list(rows)


_NEWEST_ID = select(func.max(Comment.id)).where(Comment.idea_id == bindparam("idea_id"))


async def newest_id(session: AsyncSession, idea_id: int) -> int:
    """The id of the idea's newest comment (0 if none): where live updates carry on from."""
    newest = await session.scalar(_NEWEST_ID, {"idea_id": idea_id})
    return newest or 0
