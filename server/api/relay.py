"""Relay plumbing shared by the domains' GraphQL types: global ids and keyset connections."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Self, TypeVar

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader

from server.api.context import Info
from server.db import Database
from server.errors import BadRequest
from server.pagination import Page, PageArgs, page_args

FIRST = "How many items to return from the start (or after `after`): 1 to 100, default 20."
AFTER = "Page forwards: the items after this cursor (`pageInfo.endCursor`)."
LAST = (
    "Page backwards: how many items to return from the end (or before `before`): 1 to 100. "
    "Not with `first` or `after`."
)
BEFORE = "Page backwards: the items before this cursor (`pageInfo.startCursor`)."


def paging(first: int | None, after: str | None, last: int | None, before: str | None) -> PageArgs:
    """Relay's connection arguments, checked (``INVALID_PAGINATION`` when they are mixed)."""
    return page_args(first, after, last, before)


class InvalidGlobalId(BadRequest):
    code = "INVALID_ID"
    default_message = "That id is not a valid Moot id."


def int_ids(node_ids: Iterable[str]) -> list[int]:
    out = []
    for raw in node_ids:
        if not raw.isdigit() or len(raw) > 18:
            raise InvalidGlobalId
        out.append(int(raw))
    return out


class RowNode(relay.Node):
    """A Node backed by one table row: fetched by id through the request's by-id DataLoader."""

    loader: ClassVar[staticmethod[[Database], DataLoader[int, Any]]]

    @classmethod
    def from_row(cls, row: Any) -> Self:
        raise NotImplementedError

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        rows = await info.context.loaders.get(cls.loader).load_many(int_ids(node_ids))
        return [cls.from_row(r) if r is not None else None for r in rows]


RN = TypeVar("RN", bound=RowNode)


async def related(
    info: Info, loader: Callable[[Database], DataLoader[int, Any]], key: int, node: type[RN]
) -> RN:
    """The object a foreign key points at, through the request's DataLoader (a foreign key
    guarantees it exists)."""
    row = await info.context.loaders.get(loader).load(key)
    assert row is not None
    return node.from_row(row)


async def related_or_none(
    info: Info,
    loader: Callable[[Database], DataLoader[int, Any]],
    key: int | None,
    node: type[RN],
) -> RN | None:
    """:func:`related` for a key that may be null, or a row the loader may not find (say, hidden
    from the caller): None in either case."""
    if key is None:
        return None
    row = await info.context.loaders.get(loader).load(key)
    return node.from_row(row) if row is not None else None


@strawberry.type(description="A page of results, with the total number of matches.")
class CountedConnection(relay.Connection[relay.NodeType]):
    total_count: int = strawberry.field(description="How many items match, across all pages.")


R = TypeVar("R")
C = TypeVar("C", bound=CountedConnection[Any])


def to_connection(
    cls: type[C], page: Page[R], convert: Callable[[R], Any], *, after: str | None = None
) -> C:
    edges = [
        relay.Edge(cursor=cursor, node=convert(item))
        for cursor, item in zip(page.cursors, page.items, strict=True)
    ]
    return cls(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous or after is not None,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.end_cursor,
        ),
        total_count=page.total or 0,
    )
