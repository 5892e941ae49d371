"""DataLoader building blocks.

Loaders are built per request (``server.api.context``) so nothing is cached across users. Each
batch opens its own short-lived session: one AsyncSession cannot run two queries at once, and
several loaders may dispatch in the same tick.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute
from strawberry.dataloader import DataLoader

from server.db import Base, Database

M = TypeVar("M", bound=Base)
K = TypeVar("K", bound=Hashable)


def by_id(db: Database, model: type[M]) -> DataLoader[int, M | None]:
    async def load(ids: Sequence[int]) -> list[M | None]:
        async with db.session() as session:
            rows = await session.scalars(select(model).where(model.id.in_(ids)))  # type: ignore[attr-defined]
            found = {row.id: row for row in rows}  # type: ignore[attr-defined]
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def one_by(
    db: Database, model: type[M], column: InstrumentedAttribute[Any]
) -> DataLoader[K, M | None]:
    """At most one row per key, e.g. the outcome of an idea."""

    async def load(keys: Sequence[K]) -> list[M | None]:
        async with db.session() as session:
            rows = await session.scalars(select(model).where(column.in_(keys)))
            found = {getattr(row, column.key): row for row in rows}
        return [found.get(k) for k in keys]

    return DataLoader(load_fn=load)


def many_by(
    db: Database,
    model: type[M],
    column: InstrumentedAttribute[Any],
    order_by: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]] = (),
    where: Callable[[], ColumnElement[bool]] | None = None,
) -> DataLoader[K, list[M]]:
    """Every row per key, in order, e.g. the phases of each call."""

    async def load(keys: Sequence[K]) -> list[list[M]]:
        query = select(model).where(column.in_(keys)).order_by(*order_by)
        if where is not None:
            query = query.where(where())
        grouped: dict[K, list[M]] = defaultdict(list)
        async with db.session() as session:
            for row in await session.scalars(query):
                grouped[getattr(row, column.key)].append(row)
        return [grouped.get(k, []) for k in keys]

    return DataLoader(load_fn=load)
