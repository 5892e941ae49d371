"""Reading ideas: a call's list (filters, sorts, search, keyset pages) and similar ideas. The
pages read the list as cards (:func:`list_cards`): only what a card shows, in one statement.

Hidden and draft ideas never appear here. Every sort ends with the id so that cursors are stable;
the newest, most endorsed and most discussed sorts are range scans of the partial indexes on
listed ideas, and tag, area and status filters use their own indexes."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import secrets
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    bindparam,
    cast,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from server.errors import BadRequest
from server.ideas.models import IDEA_STATUSES, Idea
from server.outcomes.models import Outcome, OutcomeStatus
from server.pagination import (
    Page,
    PageArgs,
    SortColumn,
    cursor_parameters,
    encode_cursor,
    keyset_page,
    page_args,
    seek_bound,
)
from server.personas.models import Persona

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


def _matches(search: str | ColumnElement[str]) -> ColumnElement[bool]:
    return Idea.search.bool_op("@@")(func.websearch_to_tsquery(ENGLISH, search))


# --- a call's list -------------------------------------------------------------------------------
#
# Its statements are built once per shape (which filters, which sort, which way through the pages)
# and run with the reader's values as parameters: building a statement of this size afresh, and
# working out its key in SQLAlchemy's compiled cache, takes longer than the database's answer.


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a list statement depends on besides its parameters."""

    tag: bool
    area: bool
    status: bool
    search: bool
    sort: Sort
    page: PageArgs  # PageArgs.shape: the cursor's value is a parameter


def _shape(q: ListQuery, args: PageArgs) -> _Shape:
    return _Shape(bool(q.tag), bool(q.area), bool(q.status), bool(q.search), q.sort, args.shape)


def _parameters(call_id: int, q: ListQuery, args: PageArgs) -> dict[str, Any]:
    """The values of a statement of :func:`_shape` (``BadRequest`` for a cursor of another
    sort)."""
    values: dict[str, Any] = {"call_id": call_id}
    if q.tag:
        values["tag"] = [q.tag]
    if q.area:
        values["area"] = q.area
    if q.status:
        values["status"] = q.status
    if q.search:
        values["search"] = q.search
    if q.sort == Sort.RANDOM:
        values["seed"] = q.seed
    _, shape = _sort_key(q.sort)
    return values | cursor_parameters(args, shape)


def _conditions(shape: _Shape) -> list[ColumnElement[bool]]:
    """Which of the call's ideas the reader asked for."""
    conditions = [Idea.call_id == bindparam("call_id"), *listed()]
    if shape.tag:
        conditions.append(Idea.tags.contains(bindparam("tag", type_=ARRAY(String(50)))))
    if shape.area:
        conditions.append(Idea.area == bindparam("area"))
    if shape.status:
        conditions.append(Idea.status == bindparam("status"))
    if shape.search:
        conditions.append(_matches(bindparam("search", type_=String)))
    return conditions


def _count(shape: _Shape) -> Select[int]:
    return select(func.count()).select_from(Idea).where(*_conditions(shape))


_RANDOM_KEY: ColumnElement[str] = func.md5(
    func.concat(bindparam("seed", type_=String), cast(Idea.id, String))
)


def _sort_key(sort: Sort) -> tuple[SortColumn, tuple[type, ...]]:
    """The column a sort orders by before the id, and the types of its cursors' values."""
    if sort == Sort.RANDOM:
        return _RANDOM_KEY, (str, int)
    if sort == Sort.MOST_ENDORSED:
        return Idea.endorsement_count, (int, int)
    if sort == Sort.MOST_DISCUSSED:
        return Idea.comment_count, (int, int)
    return Idea.published_at, (dt.datetime, int)


def _ordered(query: Select[Any], shape: _Shape) -> Select[Any]:
    """The sort's keyset page: every sort ends with the id, so its cursors are unique. The random
    order is ascending (on a hash of the seed and the id), the others newest or most first."""
    column, _ = _sort_key(shape.sort)
    if shape.sort == Sort.RANDOM:
        query = query.add_columns(column.label("random_key"))
    descending = shape.sort != Sort.RANDOM
    return seek_bound(query, (column, Idea.id), shape.page, descending=descending)


def _cursor(idea: Idea | Row[Any], q: ListQuery, random_keys: dict[int, str]) -> str:
    if q.sort == Sort.RANDOM:
        return encode_cursor((random_keys[idea.id], idea.id))
    if q.sort == Sort.MOST_ENDORSED:
        return encode_cursor((idea.endorsement_count, idea.id))
    if q.sort == Sort.MOST_DISCUSSED:
        return encode_cursor((idea.comment_count, idea.id))
    assert idea.published_at is not None
    return encode_cursor((idea.published_at, idea.id))


@functools.lru_cache(maxsize=256)
def _ideas_statement(shape: _Shape) -> Select[Any]:
    return _ordered(select(Idea).where(*_conditions(shape)), shape)


@functools.lru_cache(maxsize=256)
def _count_statement(shape: _Shape) -> Select[int]:
    return _count(shape)


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
    shape = _shape(q, args)
    values = _parameters(call_id, q, args)
    random_keys: dict[int, str] = {}
    if q.sort == Sort.RANDOM:
        rows = []
        for idea, key in await session.execute(_ideas_statement(shape), values):
            rows.append(idea)
            random_keys[idea.id] = key
    else:
        rows = list(await session.scalars(_ideas_statement(shape), values))
    total = await session.scalar(_count_statement(shape), values)
    return keyset_page(rows, args, lambda i: _cursor(i, q, random_keys), total=total)


# --- the pages' list: cards ----------------------------------------------------------------------


class Byline(NamedTuple):
    """An author as a card shows them (ideas/_persona.html)."""

    display_name: str
    avatar_colour: str


class Answer(NamedTuple):
    """The council's answer as a card shows it."""

    status: OutcomeStatus
    response: str


@dataclass(frozen=True, slots=True)
class Cards:
    """A page of a call's ideas as ideas/_card.html shows them: ``page`` holds rows of the
    columns a card shows (not the body, nor the search vector), ``authors`` and ``outcomes``
    what it shows beside them, by persona and idea id."""

    page: Page[Row[Any]]
    authors: dict[int, Byline]
    outcomes: dict[int, Answer]


@functools.lru_cache(maxsize=256)
def _cards_statement(shape: _Shape) -> Select[Any]:
    cards: Select[*tuple[Any, ...]] = (
        select(
            Idea.id,
            Idea.title,
            Idea.author_persona_id,
            Idea.published_at,
            Idea.area,
            Idea.tags,
            Idea.endorsement_count,
            Idea.comment_count,
            Persona.display_name,
            Persona.avatar_colour,
            Outcome.status.label("outcome_status"),
            Outcome.response.label("outcome_response"),
            _count(shape).scalar_subquery().label("total"),
        )
        .select_from(Idea)
        .join(Persona, Persona.id == Idea.author_persona_id)
        .outerjoin(Outcome, Outcome.idea_id == Idea.id)
        .where(*_conditions(shape))
    )
    return _ordered(cards, shape)


async def list_cards(
    session: AsyncSession,
    call_id: int,
    query: ListQuery | None = None,
    *,
    first: int | None = None,
    after: str | None = None,
) -> Cards:
    """:func:`list_ideas` for the pages, in one statement: the page of ideas with their authors,
    the council's answers and the number that match."""
    q = (query or ListQuery()).checked()
    args = page_args(first, after)
    shape = _shape(q, args)
    values = _parameters(call_id, q, args)
    rows = list(await session.execute(_cards_statement(shape), values))
    random_keys = {r.id: r.random_key for r in rows} if q.sort == Sort.RANDOM else {}
    total: int | None = rows[0].total if rows else 0
    if not rows and args.cursor is not None:
        # Past the last page there is no row to carry the count.
        total = await session.scalar(_count_statement(shape), values)
    page = keyset_page(rows, args, lambda r: _cursor(r, q, random_keys), total=total)
    return Cards(
        page,
        authors={r.author_persona_id: Byline(r.display_name, r.avatar_colour) for r in page.items},
        outcomes={
            r.id: Answer(r.outcome_status, r.outcome_response)
            for r in page.items
            if r.outcome_status is not None
        },
    )


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
    """The tags and areas used by a call's listed ideas, for the filter form's choices: one
    statement, two index-only scans of ix_ideas_listed_facets (never the ideas' rows, which
    carry their bodies)."""
    here = (Idea.call_id == call_id, *listed())
    tags = select(func.unnest(Idea.tags)).where(*here).distinct()
    areas = select(Idea.area).where(*here, Idea.area.is_not(None)).distinct()
    row = (
        await session.execute(
            select(func.array(tags.scalar_subquery()), func.array(areas.scalar_subquery()))
        )
    ).one()
    return {"tags": sorted(row[0]), "areas": sorted(a for a in row[1] if a)}
