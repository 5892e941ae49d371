"""Events (one open ideas day per call), venues and registrations, with ``venues.registered``
computed from the registrations written (the rest wait-listed past capacity)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from server.bench.generate.base import (
    AREAS,
    DAY,
    VENUES_PER_EVENT,
    Plan,
    Writer,
    next_ids,
    sentence,
)
from server.bench.generate.calls import Calls
from server.bench.generate.people import People


async def write_events(
    w: Writer, plan: Plan, calls: Calls, people: People, *, rng: random.Random, now: dt.datetime
) -> None:
    conn = w.conn
    call_ids = calls.ids
    account0, persona0 = people.account0, people.persona0
    event0 = await next_ids(conn, "events")
    venue0 = await next_ids(conn, "venues")
    registration0 = await next_ids(conn, "registrations")
    events: list[tuple[Any, ...]] = []
    venues: list[tuple[Any, ...]] = []
    registrations: list[tuple[Any, ...]] = []
    capacity = max(5, plan.people // 20)
    for n, call_id in enumerate(call_ids):
        event_id = event0 + n
        starts = now - 15 * DAY
        events.append(
            (
                event_id,
                call_id,
                "Open Ideas Day",
                sentence(rng, 12),
                starts,
                starts + dt.timedelta(hours=7),
            )
        )
        taken = [0] * VENUES_PER_EVENT
        attendees = rng.sample(range(plan.people), k=min(plan.people, plan.people // 5))
        for k, p in enumerate(attendees):
            v = k % VENUES_PER_EVENT
            status = "registered" if taken[v] < capacity else "waitlisted"
            taken[v] += status == "registered"
            registrations.append(
                (
                    registration0 + len(registrations),
                    event_id,
                    venue0 + n * VENUES_PER_EVENT + v,
                    account0 + p,
                    persona0 + p,
                    status,
                )
            )
        for v in range(VENUES_PER_EVENT):
            venues.append(
                (
                    venue0 + n * VENUES_PER_EVENT + v,
                    event_id,
                    f"{AREAS[v]} community hall",
                    f"{v + 1} High Street, {AREAS[v]}",
                    capacity,
                    taken[v],
                    "Step-free access, hearing loop.",
                )
            )
    await w.copy(
        "events", ("id", "call_id", "title", "description", "starts_at", "ends_at"), events
    )
    await w.copy(
        "venues",
        ("id", "event_id", "name", "address", "capacity", "registered", "accessibility"),
        venues,
    )
    await w.copy(
        "registrations",
        ("id", "event_id", "venue_id", "account_id", "persona_id", "status"),
        registrations,
    )
