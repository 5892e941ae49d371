"""Turnout and breakdowns of a vote's ballots, and whether its running tallies are public.

Turnout against the electorate: for a vote with eligibility rules, the *eligible* people are
the persons who, at the moment of counting, hold live verifications (not revoked, not expired)
that together meet every rule, by the same test as casting a ballot. A vote open to anyone signed
in has no knowable electorate, so only the number of ballots is shown.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.identity.models import Verification
from server.personas.models import Persona
from server.votes.eligibility import _old_enough
from server.votes.models import Ballot, BallotKind, BallotStatus, CastBallot


def meets(rules: dict[str, Any], claims: Sequence[dict[str, Any]], today: dt.date) -> bool:
    """Whether live verifications with these claims meet every rule (as casting checks)."""
    if not claims:
        return False
    if (areas := rules.get("postcode_areas")) and not any(
        c.get("postcode_area") in areas for c in claims
    ):
        return False
    if (age := rules.get("min_age")) and not any(_old_enough(c, age, today) for c in claims):
        return False
    org = rules.get("member_of")
    return not (org and not any(c.get("member_of") == org for c in claims))


async def _live_claims(session: AsyncSession, now: dt.datetime) -> dict[int, list[dict[str, Any]]]:
    rows = await session.execute(
        select(Verification.person_id, Verification.claims)
        .where(
            Verification.revoked_at.is_(None),
            (Verification.expires_at.is_(None)) | (Verification.expires_at > now),
        )
        .order_by(Verification.verified_at, Verification.id)
    )
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for person_id, claims in rows:
        found[person_id].append(claims or {})
    return found


async def eligible_count(session: AsyncSession, ballot: Ballot, now: dt.datetime) -> int | None:
    """How many persons may vote (see the module docstring), or None when not knowable."""
    if not ballot.eligibility:
        return None
    today = now.date()
    claims = await _live_claims(session, now)
    return sum(1 for found in claims.values() if meets(ballot.eligibility, found, today))


@dataclass(frozen=True)
class Group:
    label: str
    voters: int
    counts: dict[int, int]  # option id -> choices (first preferences; agrees for statements)


def _counted(kind: BallotKind, content: Any) -> list[int]:
    if content is None:
        return []
    if kind == BallotKind.STATEMENTS:
        return [int(k) for k, v in content.items() if v == 1]
    if kind == BallotKind.RANKED:
        return [int(content[0])] if content else []
    return [int(i) for i in content]


PERSONA_KIND_LABELS = {
    "resident": "Residents",
    "organisation": "Organisations",
    "pseudonym": "Pseudonyms",
    "former": "Former accounts",
}


async def breakdowns(
    session: AsyncSession, ballot: Ballot, now: dt.datetime
) -> dict[str, list[Group]]:
    """Ballots by the kind of persona they were (last) cast as, and by the voter's verified
    postcode area. There is one cast ballot per person, so each person counts once, whichever
    personas they used."""
    rows = list(
        await session.execute(
            select(CastBallot.person_id, CastBallot.content, Persona.kind)
            .outerjoin(Persona, Persona.id == CastBallot.persona_id)
            .where(CastBallot.ballot_id == ballot.id)
        )
    )
    claims = await _live_claims(session, ballot.closed_at or now)
    by_kind: dict[str, tuple[int, Counter[int]]] = {}
    by_area: dict[str, tuple[int, Counter[int]]] = {}
    for person_id, content, persona_kind in rows:
        kind_label = PERSONA_KIND_LABELS.get(
            persona_kind.value if persona_kind else "", "Persona removed"
        )
        areas = [c["postcode_area"] for c in claims.get(person_id, []) if c.get("postcode_area")]
        area_label = areas[0] if areas else "No verified postcode area"
        chosen = _counted(ballot.kind, content)
        for table, label in ((by_kind, kind_label), (by_area, area_label)):
            voters, counts = table.get(label, (0, Counter()))
            counts.update(chosen)
            table[label] = (voters + 1, counts)

    def groups(table: dict[str, tuple[int, Counter[int]]]) -> list[Group]:
        return [Group(label, v, dict(c)) for label, (v, c) in sorted(table.items())]

    return {"persona_kind": groups(by_kind), "postcode_area": groups(by_area)}


async def changes_count(session: AsyncSession, ballot_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(CastBallot.changes), 0)).where(
            CastBallot.ballot_id == ballot_id
        )
    )
    return int(total or 0)


def show_live(ballot: Ballot) -> bool:
    """Running tallies are public during voting only when the vote allows it."""
    return ballot.live_results and ballot.status == BallotStatus.OPEN
