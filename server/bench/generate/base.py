"""What every part of the generator shares: the sizes (:class:`Plan`), the names that mark
generated rows, made-up text, and :class:`Writer`, which COPYs rows and counts them. Ids are
allocated up front (:func:`next_ids`) and the sequences moved past them afterwards
(:func:`bump_sequence`)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

REGION_SLUG = "generated"
ORGANISER_SLUG = "generated-council"
EMAIL_DOMAIN = "generated.invalid"
CALLS = 5
BALLOTS_PER_CALL = 2
OPTIONS_PER_BALLOT = 5
VENUES_PER_EVENT = 3
TAGS = ("transport", "housing", "energy", "nature", "culture", "work", "health", "schools")
AREAS = ("Exeter", "Honiton", "Penryn", "Crediton", "Cullompton", "Falmouth", "Truro")
WORDS = [
    "bus",
    "route",
    "library",
    "park",
    "river",
    "school",
    "energy",
    "housing",
    "cycle",
    "path",
    "community",
    "garden",
    "market",
    "street",
    "light",
    "bench",
    "repair",
    "cafe",
    "youth",
    "club",
    "night",
    "service",
    "train",
    "station",
    "harbour",
    "trees",
    "allotment",
    "solar",
    "roof",
    "flood",
    "defence",
    "footpath",
    "square",
    "playground",
    "clinic",
    "broadband",
]
COLOURS = ("#0b4f6c", "#7a306c", "#2e6f40", "#8a4b08", "#3d3b8e", "#6b2737")
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Plan:
    """How many of each, for a scale."""

    scale: float
    people: int
    ideas: int
    comments: int
    endorsements: int

    @classmethod
    def for_scale(cls, scale: float) -> Plan:
        if not 0 < scale <= 1000:
            raise ValueError("scale must be above 0 and at most 1000")
        return cls(
            scale=scale,
            people=max(10, round(5_000 * scale)),
            ideas=max(CALLS, round(1_000 * scale)),
            comments=round(20_000 * scale),
            endorsements=round(10_000 * scale),
        )

    @property
    def ballots(self) -> int:
        return CALLS * BALLOTS_PER_CALL

    @property
    def cast_ballots(self) -> int:
        # Every person votes in every ballot: 10 x 5,000 = 50,000 at scale 1.
        return self.ballots * self.people


def raw_dsn(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy URL (drops the +asyncpg driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def label(scale: float) -> str:
    return f"Generated data (scale {scale:g})"


async def next_ids(conn: asyncpg.Connection, table: str) -> int:
    """The first free id of ``table`` (ids are given explicitly; sequences are moved after)."""
    value: int = await conn.fetchval(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")  # noqa: S608
    return value


async def bump_sequence(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our table names
        f"greatest((SELECT max(id) FROM {table}), 1))"
    )


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def paragraphs(rng: random.Random, count: int) -> str:
    return "\n\n".join(
        " ".join(sentence(rng, rng.randint(8, 16)) for _ in range(rng.randint(2, 4)))
        for _ in range(count)
    )


class Writer:
    """Collects rows per table and COPYs them, counting what was written."""

    def __init__(self, conn: asyncpg.Connection, log: Callable[[str], None]) -> None:
        self.conn = conn
        self.rows: dict[str, int] = {}
        self.log = log

    async def copy(
        self, table: str, columns: Sequence[str], records: list[tuple[Any, ...]]
    ) -> None:
        if records:
            await self.conn.copy_records_to_table(table, records=records, columns=list(columns))
        self.rows[table] = self.rows.get(table, 0) + len(records)
