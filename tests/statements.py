"""Counting the SQL statements a request sends, for the tests that check a page or an API
operation costs the same number of statements however much it shows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from server.db import Database


@contextmanager
def statements_sent(db: Database) -> Iterator[list[str]]:
    """The statements sent through ``db``'s engine while the block runs, in order."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
