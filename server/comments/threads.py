"""Comments as the idea page shows them: a tree of :class:`Entry` (author, where each sits, what
the viewer may do), nested at most ``SHOWN_LEVELS`` deep on screen; deeper replies sit in the
last level, "in reply to" their parent's author. Shared by the pages (``comments.pages``) and
the live stream (``comments.stream``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Integer, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from server.comments import service
from server.comments.models import Comment
from server.errors import NotFound
from server.identity.models import Account
from server.personas.models import Persona
from server.personas.service import personas_of

SHOWN_LEVELS = 4  # nesting on screen; deeper replies sit in the fourth level, "in reply to" X


@dataclass
class Entry:
    """One comment ready to show: its author, where it sits, what the viewer may do."""

    comment: Comment
    author: Persona | None
    in_reply_to: Persona | None = None  # named when nesting stops showing the parent
    mine: bool = False
    editable: bool = False
    children: list[Entry] = field(default_factory=list)

    @property
    def has_replies_list(self) -> bool:
        return self.comment.depth < SHOWN_LEVELS - 1


def container_owner(comment: Comment) -> int | None:
    """The comment whose reply list holds ``comment`` on screen (None: the top level)."""
    if comment.depth == 0:
        return None
    return int(comment.path.split(".")[min(comment.depth - 1, SHOWN_LEVELS - 2)])


@dataclass
class Viewer:
    account: Account | None
    persona_ids: set[int] = field(default_factory=set)
    personas: list[Persona] = field(default_factory=list)


async def viewer_for(session: AsyncSession, account: Account | None) -> Viewer:
    if account is None:
        return Viewer(None)
    everything = await personas_of(session, account.id, include_archived=True)
    return Viewer(
        account,
        {p.id for p in everything},
        [p for p in everything if p.archived_at is None],
    )


# Built once (each page view needs both): one array parameter, whatever the number of ids.
_PARENT_AUTHORS = select(Comment.id, Comment.author_persona_id).where(
    Comment.id == any_(bindparam("ids", type_=ARRAY(Integer)))
)
_AUTHORS = select(Persona).where(Persona.id == any_(bindparam("ids", type_=ARRAY(Integer))))


async def entry_tree(
    session: AsyncSession, comments: Sequence[Comment], viewer: Viewer, moment: dt.datetime
) -> tuple[list[Entry], dict[int, Entry]]:
    """The comments as a tree for the page, in thread order; one query for their authors."""
    ids = {c.author_persona_id for c in comments}
    parents = [c.parent_id for c in comments if c.depth >= SHOWN_LEVELS and c.parent_id]
    wanted = {c.id for c in comments}
    parent_authors: dict[int, int] = {}
    if parents:
        rows = await session.execute(_PARENT_AUTHORS, {"ids": parents})
        parent_authors = {cid: pid for cid, pid in rows}
        ids |= set(parent_authors.values())
    authors = {p.id: p for p in await session.scalars(_AUTHORS, {"ids": list(ids)})}
    roots: list[Entry] = []
    by_id: dict[int, Entry] = {}
    for c in comments:
        entry = Entry(
            c,
            authors.get(c.author_persona_id),
            mine=c.author_persona_id in viewer.persona_ids,
            editable=c.author_persona_id in viewer.persona_ids and service.may_edit(c, moment),
        )
        if c.depth >= SHOWN_LEVELS and c.parent_id in parent_authors:
            entry.in_reply_to = authors.get(parent_authors[c.parent_id])
        by_id[c.id] = entry
        owner = container_owner(c)
        if owner is not None and owner in by_id and owner in wanted:
            by_id[owner].children.append(entry)
        else:
            roots.append(entry)
    return roots, by_id


def check_ids(*ids: int) -> None:
    if any(i > service.MAX_ID for i in ids):
        raise NotFound
