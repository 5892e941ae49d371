"""Ideas with their outcomes and endorsements, and threaded comments with stances. The ideas'
counters (``endorsement_count``, ``comment_count``) are computed from the rows written."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from server.bench.generate.base import (
    AREAS,
    CALLS,
    DAY,
    TAGS,
    Plan,
    Writer,
    next_ids,
    paragraphs,
    sentence,
)
from server.bench.generate.calls import Calls
from server.bench.generate.people import People


@dataclass(frozen=True)
class Ideas:
    idea0: int
    call_of: list[int]  # by idea (offset from idea0): its call
    published: list[dt.datetime]
    comments_of: Counter[int]  # by idea: how many comments to write


async def write_ideas(
    w: Writer, plan: Plan, calls: Calls, people: People, *, rng: random.Random, now: dt.datetime
) -> Ideas:
    conn = w.conn
    call_ids = calls.ids
    person0, account0, persona0 = people.person0, people.account0, people.persona0
    idea0 = await next_ids(conn, "ideas")
    idea_call = [call_ids[i % CALLS] for i in range(plan.ideas)]
    published = [
        now - dt.timedelta(minutes=rng.randint(60 * 24 * 21, 60 * 24 * 59)) for _ in idea_call
    ]
    statuses = ["open"] * plan.ideas
    outcome_rows: list[tuple[Any, ...]] = []
    outcome0 = await next_ids(conn, "outcomes")
    outcome_statuses = (
        "under_consideration",
        "accepted",
        "partly_accepted",
        "not_taken_forward",
        "already_happening",
    )
    for i in range(plan.ideas):
        if rng.random() < 0.2:
            statuses[i] = rng.choice(outcome_statuses)
            outcome_rows.append(
                (
                    outcome0 + len(outcome_rows),
                    idea0 + i,
                    statuses[i],
                    paragraphs(rng, 1),
                    published[i] + 15 * DAY,
                )
            )

    endorsed: dict[int, set[int]] = {}
    for _ in range(plan.endorsements):
        i = rng.randrange(plan.ideas)
        endorsed.setdefault(i, set()).add(rng.randrange(plan.people))
    comments_of: Counter[int] = Counter(rng.randrange(plan.ideas) for _ in range(plan.comments))

    ideas = []
    for i in range(plan.ideas):
        has_point = rng.random() < 0.3
        ideas.append(
            (
                idea0 + i,
                idea_call[i],
                persona0 + rng.randrange(plan.people),
                sentence(rng, rng.randint(4, 9))[:-1],
                paragraphs(rng, rng.randint(1, 3)),
                list(rng.sample(TAGS, rng.randint(0, 3))),
                rng.choice(AREAS) if rng.random() < 0.7 else None,
                Decimal(f"{50.5 + rng.random():.6f}") if has_point else None,
                Decimal(f"{-4.5 + rng.random():.6f}") if has_point else None,
                statuses[i],
                published[i],
                published[i],
                published[i],
                len(endorsed.get(i, ())),
                comments_of[i],
            )
        )
    await w.copy(
        "ideas",
        (
            "id",
            "call_id",
            "author_persona_id",
            "title",
            "body",
            "tags",
            "area",
            "latitude",
            "longitude",
            "status",
            "published_at",
            "created_at",
            "updated_at",
            "endorsement_count",
            "comment_count",
        ),
        ideas,
    )
    await w.copy("outcomes", ("id", "idea_id", "status", "response", "decided_at"), outcome_rows)
    endorsement0 = await next_ids(conn, "endorsements")
    endorsement_rows: list[tuple[Any, ...]] = []
    for i, who in sorted(endorsed.items()):
        for p in sorted(who):
            endorsement_rows.append(
                (
                    endorsement0 + len(endorsement_rows),
                    idea0 + i,
                    persona0 + p,
                    account0 + p,
                    person0 + p,
                    published[i] + dt.timedelta(hours=rng.randint(1, 400)),
                )
            )
    await w.copy(
        "endorsements",
        ("id", "idea_id", "persona_id", "account_id", "person_id", "created_at"),
        endorsement_rows,
    )
    return Ideas(idea0, idea_call, published, comments_of)


async def write_comments(
    w: Writer, plan: Plan, people: People, ideas: Ideas, *, rng: random.Random
) -> None:
    conn = w.conn
    persona0 = people.persona0
    idea0, published, comments_of = ideas.idea0, ideas.published, ideas.comments_of
    comment0 = await next_ids(conn, "comments")
    comment_rows: list[tuple[Any, ...]] = []
    stances = ("for", "against", "neutral", None)
    for i in range(plan.ideas):
        thread: list[tuple[int, int, str]] = []  # (id, depth, path) of this idea's comments
        for k in range(comments_of[i]):
            cid = comment0 + len(comment_rows)
            parent = rng.choice(thread) if thread and rng.random() < 0.5 else None
            if parent is not None and parent[1] >= 5:
                parent = None
            depth = parent[1] + 1 if parent else 0
            segment = f"{cid:010d}"
            path = f"{parent[2]}.{segment}" if parent else segment
            thread.append((cid, depth, path))
            comment_rows.append(
                (
                    cid,
                    idea0 + i,
                    parent[0] if parent else None,
                    persona0 + rng.randrange(plan.people),
                    paragraphs(rng, 1),
                    rng.choice(stances),
                    depth,
                    path,
                    published[i] + dt.timedelta(minutes=10 * (k + 1)),
                )
            )
    await w.copy(
        "comments",
        (
            "id",
            "idea_id",
            "parent_id",
            "author_persona_id",
            "body",
            "stance",
            "depth",
            "path",
            "created_at",
        ),
        comment_rows,
    )
