"""Keyset (cursor) pagination shared by pages and the API.

A cursor is the sort key of the last row seen, so pages stay stable while new rows arrive and
every page is an index range scan whatever its depth.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, tuple_
from sqlalchemy.orm import QueryableAttribute

from server.errors import BadRequest

T = TypeVar("T")

DEFAULT_PAGE = 20
MAX_PAGE = 100

CursorKey = tuple[dt.datetime | int | str, ...]


class InvalidCursor(BadRequest):
    code = "INVALID_CURSOR"
    default_message = "That page link is not valid (the cursor could not be read)."


def encode_cursor(key: CursorKey) -> str:
    parts = [{"t": v.isoformat()} if isinstance(v, dt.datetime) else v for v in key]
    raw = json.dumps(parts, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, shape: Sequence[type]) -> CursorKey:
    """Decode a cursor whose parts must have the given types; anything else is InvalidCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
        if not isinstance(parts, list) or len(parts) != len(shape):
            raise ValueError
        out: list[dt.datetime | int | str] = []
        for value, kind in zip(parts, shape, strict=True):
            if kind is dt.datetime:
                if not isinstance(value, dict) or not isinstance(value.get("t"), str):
                    raise ValueError
                out.append(dt.datetime.fromisoformat(value["t"]))
            elif (kind is int and type(value) is int) or (kind is str and isinstance(value, str)):
                out.append(value)
            else:
                raise ValueError
        return tuple(out)
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidCursor from None


def clamp_page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 1 or first > MAX_PAGE:
        raise BadRequest(f"Page size must be between 1 and {MAX_PAGE}.", field="first")
    return first


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next: bool
    total: int | None = None
    has_previous: bool = False

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


# --- forwards and backwards (Relay: first/after, last/before) ----------------------------------


class InvalidPagination(BadRequest):
    code = "INVALID_PAGINATION"
    default_message = "Page with `first` (and `after`), or backwards with `last` (and `before`)."


@dataclass(frozen=True, slots=True)
class PageArgs:
    """Which page to read: ``size`` items after ``cursor`` (forwards), or the ``size`` items
    just before it (``backward``; no cursor: the last ``size`` items)."""

    size: int = DEFAULT_PAGE
    cursor: str | None = None
    backward: bool = False

    @property
    def after(self) -> str | None:
        return None if self.backward else self.cursor

    @property
    def before(self) -> str | None:
        return self.cursor if self.backward else None

    @property
    def shape(self) -> PageArgs:
        """These arguments with a stand-in for the cursor's value: all that a statement built by
        :func:`seek_bound` depends on, and so a key to keep it by."""
        return PageArgs(self.size, None if self.cursor is None else "", self.backward)


def page_args(
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> PageArgs:
    """Relay's connection arguments, checked: ``first`` with ``after`` pages forwards, ``last``
    with ``before`` backwards (``last`` alone: the end of the list). Mixing the two directions
    is refused with ``INVALID_PAGINATION``; a count outside 1 to MAX_PAGE with ``BAD_REQUEST``."""
    if last is None and before is None:
        return PageArgs(clamp_page_size(first), after)
    if first is not None or after is not None:
        raise InvalidPagination(
            "Page forwards with `first` and `after`, or backwards with `last` and `before`, "
            "not both at once.",
            field="last" if last is not None else "before",
        )
    if last is not None and (last < 1 or last > MAX_PAGE):
        raise BadRequest(f"Page size must be between 1 and {MAX_PAGE}.", field="last")
    return PageArgs(DEFAULT_PAGE if last is None else last, before, backward=True)


SortColumn = ColumnElement[Any] | QueryableAttribute[Any]
SortColumns = Sequence[SortColumn]


def seek(
    query: Select[Any],
    columns: SortColumns,
    shape: Sequence[type],
    args: PageArgs,
    *,
    descending: bool = False,
) -> Select[Any]:
    """One keyset page of ``query``, listed by ``columns`` (all ascending, or all descending),
    whose cursors hold those columns' values with the types of ``shape``. Backwards, the order is
    reversed and the rows come out nearest the cursor first: :func:`keyset_page` turns them
    round. Fetches one row more than the page, to tell whether there are more."""
    key = None if args.cursor is None else decode_cursor(args.cursor, shape)
    return _seek(query, columns, key, args, descending)


def seek_bound(
    query: Select[Any], columns: SortColumns, args: PageArgs, *, descending: bool = False
) -> Select[Any]:
    """:func:`seek` for a statement built once and run many times: the cursor's values are
    bound parameters (``cursor_0``, ``cursor_1``…, given by :func:`cursor_parameters`), so the
    statement depends on the page's size and direction and on whether there is a cursor, but
    not on the cursor itself."""
    key = None
    if args.cursor is not None:
        key = tuple(bindparam(f"cursor_{i}", type_=c.type) for i, c in enumerate(columns))
    return _seek(query, columns, key, args, descending)


def cursor_parameters(args: PageArgs, shape: Sequence[type]) -> dict[str, Any]:
    """The parameters of a statement built by :func:`seek_bound`, from the page's cursor."""
    if args.cursor is None:
        return {}
    return {f"cursor_{i}": v for i, v in enumerate(decode_cursor(args.cursor, shape))}


def _seek(
    query: Select[Any],
    columns: SortColumns,
    cursor_key: Sequence[object] | None,
    args: PageArgs,
    descending: bool,
) -> Select[Any]:
    """:func:`seek` given the cursor's sort key (values, or parameters standing for them)."""
    toward_smaller = descending != args.backward
    if cursor_key is not None:
        key = tuple_(*columns)
        value = tuple_(*cursor_key)
        query = query.where(key < value if toward_smaller else key > value)
    order = [c.desc() if toward_smaller else c.asc() for c in columns]
    return query.order_by(*order).limit(args.size + 1)


def keyset_page(
    rows: Sequence[T],
    args: PageArgs,
    cursor_of: Callable[[T], str],
    *,
    total: int | None = None,
) -> Page[T]:
    """The page from the rows :func:`seek` fetched, in list order whichever way it was read."""
    more = len(rows) > args.size
    items = list(rows[: args.size])
    if args.backward:
        items.reverse()
    # Going one way, the cursor we came from says there are items the other way.
    return Page(
        items=items,
        cursors=[cursor_of(i) for i in items],
        has_next=args.cursor is not None if args.backward else more,
        has_previous=more if args.backward else args.cursor is not None,
        total=total,
    )
