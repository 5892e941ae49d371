"""DataLoaders for comments: each batch is a fixed number of statements however many ideas or
comments a query asks about, so nothing is N+1."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, select
from strawberry.dataloader import DataLoader

from server.comments import service
from server.comments.models import Comment, Stance
from server.db import Database
from server.ideas.models import Idea
from server.loaders import by_id
from server.pagination import Page, PageArgs, decode_cursor, encode_cursor, keyset_page


def comment_by_id(db: Database) -> DataLoader[int, Comment | None]:
    return by_id(db, Comment)


def reply_counts(db: Database) -> DataLoader[int, int]:
    """How many direct replies each comment has (tombstones included: they keep their place)."""

    async def load(ids: Sequence[int]) -> list[int]:
        async with db.session() as session:
            rows = await session.execute(
                select(Comment.parent_id, func.count())
                .where(Comment.parent_id.in_(ids))
                .group_by(Comment.parent_id)
            )
            counts = {parent: n for parent, n in rows}
        return [counts.get(i, 0) for i in ids]

    return DataLoader(load_fn=load)


def stance_tallies(db: Database) -> DataLoader[int, service.Tally]:
    async def load(idea_ids: Sequence[int]) -> list[service.Tally]:
        grouped: dict[int, dict[Stance | None, int]] = defaultdict(dict)
        async with db.session() as session:
            for idea_id, stance, n in await session.execute(service.tally_query(idea_ids)):
                grouped[idea_id][stance] = n
        return [service.tally_from(grouped.get(i, {})) for i in idea_ids]

    return DataLoader(load_fn=load)


@dataclass(frozen=True, slots=True)
class PageKey:
    idea_id: int
    page: PageArgs


def comment_pages(db: Database) -> DataLoader[PageKey, Page[Comment]]:
    """A page of each idea's discussion in thread order: one windowed query per distinct page
    (size, cursor, direction), plus one for which ideas are shown and one for their totals."""

    async def load(keys: Sequence[PageKey]) -> list[Page[Comment]]:
        ids = {k.idea_id for k in keys}
        groups: dict[PageArgs, set[int]] = defaultdict(set)
        for k in keys:
            groups[k.page].add(k.idea_id)
        rows: dict[PageArgs, dict[int, list[Comment]]] = {}
        async with db.session() as session:
            listed = set(
                await session.scalars(
                    select(Idea.id).where(
                        Idea.id.in_(ids), Idea.published_at.is_not(None), Idea.hidden_at.is_(None)
                    )
                )
            )
            totals: dict[int, int] = {}
            if listed:
                counted = await session.execute(
                    select(Comment.idea_id, func.count())
                    .where(Comment.idea_id.in_(listed))
                    .group_by(Comment.idea_id)
                )
                totals = {idea_id: n for idea_id, n in counted}
            for args, group in groups.items():
                shown = group & listed
                found: dict[int, list[Comment]] = defaultdict(list)
                if shown:
                    for c in await session.scalars(_window(shown, args)):
                        found[c.idea_id].append(c)
                rows[args] = found
        return [
            keyset_page(
                rows[k.page].get(k.idea_id, []),
                k.page,
                _cursor,
                total=totals.get(k.idea_id, 0) if k.idea_id in listed else 0,
            )
            if k.idea_id in listed
            else Page(items=[], cursors=[], has_next=False, total=0)
            for k in keys
        ]

    return DataLoader(load_fn=load)


def _cursor(comment: Comment) -> str:
    return encode_cursor((comment.path,))


def _window(idea_ids: set[int], args: PageArgs) -> Select[Comment]:
    """Each idea's page (and one more row), nearest the cursor first as :func:`seek` reads."""
    where: list[ColumnElement[bool]] = [Comment.idea_id.in_(idea_ids)]
    if args.cursor is not None:
        (path,) = decode_cursor(args.cursor, (str,))
        where.append(Comment.path < path if args.backward else Comment.path > path)
    order = Comment.path.desc() if args.backward else Comment.path.asc()
    rank = func.row_number().over(partition_by=Comment.idea_id, order_by=order).label("rank")
    ranked = select(Comment.id, rank).where(*where).subquery()
    return (
        select(Comment)
        .join(ranked, ranked.c.id == Comment.id)
        .where(ranked.c.rank <= args.size + 1)
        .order_by(Comment.idea_id, order)
    )
