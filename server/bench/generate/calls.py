"""The region, organiser, calls and phases every other generated row hangs from."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from server.bench.generate.base import (
    AREAS,
    CALLS,
    DAY,
    ORGANISER_SLUG,
    REGION_SLUG,
    TAGS,
    Plan,
    Writer,
    label,
    next_ids,
    paragraphs,
    sentence,
)


@dataclass(frozen=True)
class Calls:
    ids: list[int]
    voting_phase: dict[int, int]  # call id -> the id of its voting phase


async def write_calls(w: Writer, plan: Plan, *, rng: random.Random, now: dt.datetime) -> Calls:
    conn = w.conn
    region_id = await next_ids(conn, "regions")
    await w.copy("regions", ("id", "slug", "name"), [(region_id, REGION_SLUG, label(plan.scale))])
    organiser_id = await next_ids(conn, "organisers")
    await w.copy(
        "organisers",
        ("id", "slug", "name", "region_id", "website"),
        [(organiser_id, ORGANISER_SLUG, "Generated Council", region_id, None)],
    )
    call0 = await next_ids(conn, "calls")
    call_ids = [call0 + i for i in range(CALLS)]
    # Ideas (closed), an event day, voting (open now), follow-up: voting is open in every call.
    spans = [
        ("ideas", "Call for ideas", now - 60 * DAY, now - 20 * DAY),
        ("event", "Open Ideas Day", now - 20 * DAY, now - 10 * DAY),
        ("voting", "Vote", now - 10 * DAY, now + 20 * DAY),
        ("follow_up", "Follow-up", now + 20 * DAY, now + 60 * DAY),
    ]
    calls, phases = [], []
    phase0 = await next_ids(conn, "phases")
    voting_phase: dict[int, int] = {}
    for n, call_id in enumerate(call_ids):
        calls.append(
            (
                call_id,
                f"generated-call-{n + 1}",
                f"Generated call {n + 1}: {rng.choice(TAGS)} in {rng.choice(AREAS)}",
                sentence(rng, 12),
                paragraphs(rng, 3),
                organiser_id,
                region_id,
                list(rng.sample(TAGS, 3)),
                spans[0][2],
                spans[-1][3],
                now - 61 * DAY,
            )
        )
        for position, (kind, title, starts, ends) in enumerate(spans):
            phase_id = phase0 + n * len(spans) + position
            if kind == "voting":
                voting_phase[call_id] = phase_id
            phases.append(
                (phase_id, call_id, position, kind, title, sentence(rng, 10), starts, ends)
            )
    await w.copy(
        "calls",
        (
            "id",
            "slug",
            "title",
            "summary",
            "description",
            "organiser_id",
            "region_id",
            "tags",
            "opens_at",
            "closes_at",
            "created_at",
        ),
        calls,
    )
    await w.copy(
        "phases",
        ("id", "call_id", "position", "kind", "title", "description", "starts_at", "ends_at"),
        phases,
    )
    return Calls(call_ids, voting_phase)
