"""Verified people: persons, their accounts, register verifications and resident personas
(one of each per person, with the same offset from each table's first id)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from dataclasses import dataclass

from server.bench.generate.base import AREAS, COLOURS, DAY, EMAIL_DOMAIN, Plan, Writer, next_ids


@dataclass(frozen=True)
class People:
    person0: int
    account0: int
    persona0: int


async def write_people(w: Writer, plan: Plan, *, rng: random.Random, now: dt.datetime) -> People:
    conn = w.conn
    person0 = await next_ids(conn, "persons")
    account0 = await next_ids(conn, "accounts")
    verification0 = await next_ids(conn, "verifications")
    persona0 = await next_ids(conn, "personas")
    people = range(plan.people)
    joined = [now - rng.randint(30, 400) * DAY for _ in people]
    await w.copy("persons", ("id", "created_at"), [(person0 + i, joined[i]) for i in people])
    await w.copy(
        "accounts",
        ("id", "kind", "email", "email_verified_at", "person_id", "created_at"),
        [
            (account0 + i, "full", f"p{i}@{EMAIL_DOMAIN}", joined[i], person0 + i, joined[i])
            for i in people
        ],
    )
    await w.copy(
        "verifications",
        ("id", "person_id", "method", "identity_key", "claims", "verified_at", "created_at"),
        [
            (
                verification0 + i,
                person0 + i,
                "register",
                hashlib.sha256(f"generated:{i}".encode()).hexdigest(),
                json.dumps(
                    {
                        "postcode_area": "EX" if i % 10 else "TR",
                        "birth_year": 1940 + i % 65,
                        "over_16": True,
                    }
                ),
                joined[i],
                joined[i],
            )
            for i in people
        ],
    )
    await w.copy(
        "personas",
        ("id", "account_id", "kind", "display_name", "description", "avatar_colour", "created_at"),
        [
            (
                persona0 + i,
                account0 + i,
                "resident",
                f"Resident {i} of {AREAS[i % len(AREAS)]}",
                "",
                COLOURS[i % len(COLOURS)],
                joined[i],
            )
            for i in people
        ],
    )
    return People(person0, account0, persona0)
