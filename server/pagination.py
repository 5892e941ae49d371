"""Keyset (cursor) pagination shared by pages and the API.

A cursor is the sort key of the last row seen, so pages stay stable while new rows arrive and
every page is an index range scan whatever its depth.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

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

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None
