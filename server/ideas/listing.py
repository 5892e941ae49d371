"""Reading ideas: a call's list (filters, sorts, search, keyset pages) and similar ideas.

Hidden and draft ideas never appear here. Every sort ends with the id so that cursors are stable;
the newest, most endorsed and most discussed sorts are range scans of the partial indexes on
listed ideas, and tag, area and status filters use their own indexes."""

from __future__ import annotations

import datetime as dt
import enum
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, cast, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from server.errors import BadRequest
from server.ideas.models import IDEA_STATUSES, Idea
from server.pagination import Page, PageArgs, encode_cursor, keyset_page, page_args, seek

ENGLISH: ColumnElement[Any] = literal_column("'english'::regconfig")
SIMILAR_LIMIT = 5
_WORD = re.compile(r"\w+", re.UNICODE)
_SEED = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class Sort(enum.StrEnum):
    NEWEST = "newest"
    MOST_ENDORSED = "endorsed"
    MOST_DISCUSSED = "discussed"
    RANDOM = "random"


SORT_LABELS = {
    Sort.NEWEST: "Newest first",
    Sort.MOST_ENDORSED: "Most endorsed",
    Sort.MOST_DISCUSSED: "Most discussed",
    Sort.RANDOM: "Random order",
}


def new_seed() -> str:
    return secrets.token_urlsafe(6)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a reader asked for: filters, a sort and an optional full-text search."""

    tag: str | None = None
    area: str | None = None
    status: str | None = None
    search: str | None = None
    sort: Sort = Sort.NEWEST
    seed: str | None = None  # the random sort's seed, kept across pages

    def checked(self) -> ListQuery:
        """Normalised, or BadRequest for values no form offers."""
        if self.status and self.status not in IDEA_STATUSES:
            raise BadRequest("Choose one of the listed statuses.", field="status")
        if self.seed is not None and not _SEED.match(self.seed):
            raise BadRequest("That random order cannot be read.", field="seed")
        return ListQuery(
            tag=(self.tag or "").strip().lower() or None,
            area=(self.area or "").strip() or None,
            status=self.status or None,
            search=(self.search or "").strip()[:200] or None,
            sort=self.sort,
            seed=self.seed or (new_seed() if self.sort == Sort.RANDOM else None),
        )


def listed() -> tuple[ColumnElement[bool], ...]:
    """Published and not hidden: the predicate of the partial listing indexes."""
    return (Idea.published_at.is_not(None), Idea.hidden_at.is_(None))


def _matches(search: str) -> ColumnElement[bool]:
    return Idea.search.bool_op("@@")(func.websearch_to_tsquery(ENGLISH, search))


def _filtered(call_id: int, q: ListQuery) -> Select[Any]:
    query = select(Idea).where(Idea.call_id == call_id, *listed())
    if q.tag:
        query = query.where(Idea.tags.contains(cast([q.tag], ARRAY(String(50)))))
    if q.area:
        query = query.where(Idea.area == q.area)
    if q.status:
        query = query.where(Idea.status == q.status)
    if q.search:
        query = query.where(_matches(q.search))
    return query


def _random_key(seed: str) -> ColumnElement[str]:
    return func.md5(func.concat(seed, cast(Idea.id, String)))


def _ordered(query: Select[Any], q: ListQuery, args: PageArgs) -> Select[Any]:
    """The sort's keyset page: every sort ends with the id, so its cursors are unique."""
    if q.sort == Sort.RANDOM:
        assert q.seed is not None
        key = _random_key(q.seed)
        return seek(query, (key, Idea.id), (str, int), args)
    shape: tuple[type, ...]
    column: Any
    if q.sort == Sort.MOST_ENDORSED:
        column, shape = Idea.endorsement_count, (int, int)
    elif q.sort == Sort.MOST_DISCUSSED:
        column, shape = Idea.comment_count, (int, int)
    else:
        column, shape = Idea.published_at, (dt.datetime, int)
    return seek(query, (column, Idea.id), shape, args, descending=True)


def _cursor(idea: Idea, q: ListQuery, random_keys: dict[int, str]) -> str:
    if q.sort == Sort.RANDOM:
        return encode_cursor((random_keys[idea.id], idea.id))
    if q.sort == Sort.MOST_ENDORSED:
        return encode_cursor((idea.endorsement_count, idea.id))
    if q.sort == Sort.MOST_DISCUSSED:
        return encode_cursor((idea.comment_count, idea.id))
    assert idea.published_at is not None
    return encode_cursor((idea.published_at, idea.id))


async def list_ideas(
    session: AsyncSession,
    call_id: int,
    query: ListQuery | None = None,
    *,
    first: int | None = None,
    after: str | None = None,
    page: PageArgs | None = None,
) -> Page[Idea]:
    """One page of a call's listed ideas, with the total number that match (``page``: forwards
    or backwards; otherwise ``first`` after ``after``)."""
    q = (query or ListQuery()).checked()
    args = page or page_args(first, after)
    base = _filtered(call_id, q)
    ordered = _ordered(base, q, args)
    random_keys: dict[int, str] = {}
    if q.sort == Sort.RANDOM:
        assert q.seed is not None
        result = await session.execute(ordered.add_columns(_random_key(q.seed)))
        rows = []
        for idea, key in result:
            rows.append(idea)
            random_keys[idea.id] = key
    else:
        rows = list(await session.scalars(ordered))
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    return keyset_page(rows, args, lambda i: _cursor(i, q, random_keys), total=total)


def _or_query(*texts: str, limit: int = 16) -> str:
    """A websearch query matching any of the words (websearch_to_tsquery ANDs them)."""
    words: list[str] = []
    for text in texts:
        for word in _WORD.findall(text.lower()):
            if len(word) > 2 and word not in words and word != "or":
                words.append(word)
    return " or ".join(words[:limit])


async def similar_ideas(
    session: AsyncSession,
    call_id: int,
    *,
    title: str,
    body: str = "",
    exclude: int | None = None,
    limit: int = SIMILAR_LIMIT,
) -> list[Idea]:
    """Listed ideas of the call that look like this one: full-text matches on the words of the
    title (and the start of the body), or titles that are close by trigram similarity."""
    title = title.strip()[:200]
    words = _or_query(title, body[:500])
    if not title and not words:
        return []
    conditions: list[ColumnElement[bool]] = []
    rank: ColumnElement[Any] = literal_column("0.0")
    if words:
        tsq = func.websearch_to_tsquery(ENGLISH, words)
        conditions.append(_matches(words))
        rank = rank + func.ts_rank(Idea.search, tsq)
    if title:
        conditions.append(Idea.title.bool_op("%")(title))
        rank = rank + func.similarity(Idea.title, title)
    query = select(Idea).where(Idea.call_id == call_id, *listed(), or_(*conditions))
    if exclude is not None:
        query = query.where(Idea.id != exclude)
    query = query.order_by(rank.desc(), Idea.id.desc()).limit(limit)
    return list(await session.scalars(query))


async def filter_options(session: AsyncSession, call_id: int) -> dict[str, list[str]]:
    """The tags and areas used by a call's listed ideas, for the filter form's choices."""
    tags = await session.scalars(
        select(func.unnest(Idea.tags)).where(Idea.call_id == call_id, *listed()).distinct()
    )
    areas = await session.scalars(
        select(Idea.area)
        .where(Idea.call_id == call_id, Idea.area.is_not(None), *listed())
        .distinct()
    )
    return {"tags": sorted(tags), "areas": sorted(a for a in areas if a)}
