"""Dates in the reader's words: "closes in 3 days", "opened yesterday"."""

from __future__ import annotations

import datetime as dt

_UNITS = (
    (365 * 86400, "year"),
    (30 * 86400, "month"),
    (7 * 86400, "week"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
)


def _amount(seconds: float) -> str:
    for size, name in _UNITS:
        if seconds >= size:
            n = round(seconds / size)
            return f"{n} {name}{'' if n == 1 else 's'}"
    return "a moment"


def relative(when: dt.datetime, now: dt.datetime) -> str:
    """'in 3 days', '2 hours ago', 'tomorrow', 'yesterday', 'now'."""
    delta = (when - now).total_seconds()
    if abs(delta) < 60:
        return "now"
    days = (when.date() - now.date()).days
    if abs(delta) >= 86400 and days == 1:
        return "tomorrow"
    if abs(delta) >= 86400 and days == -1:
        return "yesterday"
    amount = _amount(abs(delta))
    return f"in {amount}" if delta > 0 else f"{amount} ago"


def long_date(when: dt.datetime) -> str:
    """'Saturday 5 December 2026, 10:00' in UK style (the time zone is the stored one)."""
    return f"{when:%A} {when.day} {when:%B %Y, %H:%M}"


def short_date(when: dt.datetime) -> str:
    return f"{when.day} {when:%b %Y}"
