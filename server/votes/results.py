"""Closing, counting and publishing votes, and checking a published result.

A result is always computed from the exported ballots file (see ``export``), with the counting
methods of ``server.votes.methods``, so that anyone holding the file and the ballot's definition
(``definition``, served as ``/votes/{id}/definition.json``) recomputes exactly the published
result: ``moot results verify`` runs the very same ``compute``.

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
from fractions import Fraction
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.calls.models import Phase
from server.errors import Conflict
from server.identity.models import Verification
from server.personas.models import Persona
from server.votes import export, methods
from server.votes.eligibility import _old_enough
from server.votes.export import ExportRow
from server.votes.models import (
    Ballot,
    BallotExport,
    BallotKind,
    BallotOption,
    BallotStatus,
    CastBallot,
    ResultMethod,
)
from server.votes.service import close_ballot, get_ballot, options_of

DEFINITION_VERSION = 1


def definition(ballot: Ballot, options: Sequence[BallotOption]) -> dict[str, Any]:
    """What a verifier needs besides the ballots: the kind, options, limits, method and tie
    order (ascending option id: the option created first wins ties)."""
    data: dict[str, Any] = {
        "version": DEFINITION_VERSION,
        "ballot": ballot.id,
        "title": ballot.title,
        "kind": ballot.kind.value,
        "method": ballot.result_method.value,
        "options": [{"id": o.id, "title": o.title, "cost": o.cost} for o in options],
        "budget": ballot.budget,
        "max_choices": ballot.max_choices,
        "threshold": ballot.threshold,
        "secret": ballot.secret,
        "tie_order": sorted(o.id for o in options),
    }
    if ballot.status == BallotStatus.PUBLISHED:
        data["published"] = {"export_sha256": ballot.export_sha256, "result": ballot.result}
    return data


def compute(spec: dict[str, Any], rows: Sequence[ExportRow]) -> Any:
    """The result of the ballot defined by ``spec`` from the exported ``rows``: a result
    dataclass of ``server.votes.methods``. Raises ``ValueError`` on bad input."""
    kind = BallotKind(spec["kind"])
    method = ResultMethod(spec["method"])
    ids = [int(o["id"]) for o in spec["options"]]
    tie_order = [int(i) for i in spec.get("tie_order") or sorted(ids)]
    if kind == BallotKind.STATEMENTS:
        votes: dict[int | str, dict[int, int]] = {}
        for row in rows:
            if not isinstance(row.content, dict):
                raise ValueError(f"Row {row.row_id}: a statements ballot is an object.")
            votes[row.row_id] = {int(k): int(v) for k, v in row.content.items()}
        return methods.opinion_groups(votes, statements=ids)
    ballots = []
    for row in rows:
        if not isinstance(row.content, list):
            raise ValueError(f"Row {row.row_id}: the ballot is not a list of option ids.")
        ballots.append([int(i) for i in row.content])
    if kind == BallotKind.SUPPORT:
        return methods.count_support(
            ids, ballots, threshold=int(spec.get("threshold") or 0), tie_order=tie_order
        )
    if kind == BallotKind.APPROVAL:
        return methods.count_approval(
            ids, ballots, limit=spec.get("max_choices"), tie_order=tie_order
        )
    if kind == BallotKind.RANKED:
        return methods.instant_runoff(ids, ballots, tie_order=tie_order)
    costs = {int(o["id"]): int(o["cost"]) for o in spec["options"]}
    budget = int(spec["budget"])
    if method == ResultMethod.EQUAL_SHARES:
        return methods.equal_shares(
            costs, budget, ballots, max_ballot_cost=budget, tie_order=tie_order
        )
    return methods.greedy_budget(
        costs, budget, ballots, max_ballot_cost=budget, tie_order=tie_order
    )


def compute_json(spec: dict[str, Any], rows: Sequence[ExportRow]) -> dict[str, Any]:
    result = methods.to_jsonable(compute(spec, rows))
    assert isinstance(result, dict)
    return result


def differences(expected: Any, actual: Any, path: str = "result") -> list[str]:
    """Where two JSON values differ, as readable lines (empty when they are equal)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(expected.keys() | actual.keys()):
            if key not in actual:
                out.append(f"{path}.{key}: published but not recomputed")
            elif key not in expected:
                out.append(f"{path}.{key}: recomputed but not published")
            else:
                out += differences(expected[key], actual[key], f"{path}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items published, {len(actual)} recomputed"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out += differences(e, a, f"{path}[{i}]")
        return out
    if expected != actual:
        return [f"{path}: published {expected!r}, recomputed {actual!r}"]
    return []


@dataclass(frozen=True)
class Verdict:
    ok: bool
    sha256: str
    problems: tuple[str, ...]


def verify(spec: dict[str, Any], ballots_csv: str) -> Verdict:
    """Recompute the result of ``spec`` from the file and compare it, and the file's hash,
    with what was published (``spec["published"]``)."""
    digest = export.sha256_of(ballots_csv)
    problems: list[str] = []
    published = spec.get("published")
    if not isinstance(published, dict):
        return Verdict(False, digest, ("The definition has no published result to compare.",))
    if published.get("export_sha256") != digest:
        problems.append(
            f"The file's SHA-256 is {digest}, but the published one is "
            f"{published.get('export_sha256')}."
        )
    try:
        recomputed = compute_json(spec, export.read_csv(ballots_csv))
    except (ValueError, KeyError, TypeError) as exc:
        return Verdict(False, digest, (*problems, f"The ballots cannot be counted: {exc}"))
    problems += differences(published.get("result"), recomputed)
    return Verdict(not problems, digest, tuple(problems))


# --- closing and publishing -------------------------------------------------------------------


async def close_due_ballots(session: AsyncSession, now: dt.datetime) -> list[int]:
    """Close every open vote whose voting phase has ended (as of when it ended)."""
    due = list(
        await session.execute(
            select(Ballot.id, Phase.ends_at)
            .join(Phase, Phase.id == Ballot.phase_id)
            .where(Ballot.status == BallotStatus.OPEN, Phase.ends_at <= now)
            .order_by(Ballot.id)
        )
    )
    closed = []
    for ballot_id, ended in due:
        ballot = await get_ballot(session, ballot_id, lock=True)
        if ballot.status == BallotStatus.OPEN:  # not closed meanwhile by someone else
            await close_ballot(session, ballot_id, now=min(ended, now), actor=None)
            closed.append(ballot_id)
    return closed


async def publish_results(
    session: AsyncSession, ballot_id: int, *, now: dt.datetime, actor: int | None
) -> Ballot:
    """Write the exported ballots file, count it, and publish the result with the file's hash."""
    ballot = await get_ballot(session, ballot_id, lock=True)
    if ballot.status != BallotStatus.CLOSED:
        raise Conflict(
            "Close the vote before publishing its result."
            if ballot.status in (BallotStatus.DRAFT, BallotStatus.OPEN)
            else "The result is already published."
        )
    options = await options_of(session, ballot.id)
    rows = await export.build_rows(session, ballot)
    text = export.write_csv(rows, secret=ballot.secret)
    # Count the file as written (read back), exactly as a verifier will.
    result = compute_json(definition(ballot, options), export.read_csv(text))
    ballot.result = result
    ballot.export_sha256 = export.sha256_of(text)
    ballot.status = BallotStatus.PUBLISHED
    ballot.published_at = now
    session.add(BallotExport(ballot_id=ballot.id, content=text, sha256=ballot.export_sha256))
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=export.PUBLISHED_ACTION,
        subject_type="ballot",
        subject_id=ballot.id,
        sha256=ballot.export_sha256,
        rows=len(rows),
    )
    return ballot


# --- turnout and breakdowns -------------------------------------------------------------------


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
    from sqlalchemy import func

    total = await session.scalar(
        select(func.coalesce(func.sum(CastBallot.changes), 0)).where(
            CastBallot.ballot_id == ballot_id
        )
    )
    return int(total or 0)


def show_live(ballot: Ballot) -> bool:
    """Running tallies are public during voting only when the vote allows it."""
    return ballot.live_results and ballot.status == BallotStatus.OPEN


# --- presenting results as tables -------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    caption: str
    headers: list[str]
    rows: list[list[str]]


def _money(value: Any) -> str:
    return methods.format_money(Fraction(str(value)))


def _share(value: Any) -> str:
    return "–" if value is None else f"{float(value):.0%}"


def result_tables(ballot: Ballot, titles: dict[int, str], result: dict[str, Any]) -> list[Table]:
    """The published result (its JSON) as tables for the results page."""

    def name(option: Any) -> str:
        return titles.get(int(option), f"Option {option}") if option is not None else "–"

    kind, method = ballot.kind, ballot.result_method
    if kind == BallotKind.SUPPORT:
        return [
            Table(
                "Supports per option",
                ["Option", "Supports", "Reached the threshold"],
                [
                    [name(t["option"]), f"{t['supports']:,}", "Yes" if t["reached"] else "No"]
                    for t in result.get("tallies", [])
                ],
            )
        ]
    if kind == BallotKind.APPROVAL:
        return [
            Table(
                "Approvals per option, most first",
                ["Place", "Option", "Approvals"],
                [
                    [str(r["position"]), name(r["option"]), f"{r['votes']:,}"]
                    for r in result.get("ranking", [])
                ],
            )
        ]
    if kind == BallotKind.RANKED:
        rounds = result.get("rounds", [])
        headers = ["Option"] + [f"Round {r['number']}" for r in rounds]
        rows = [
            [titles[o]]
            + [f"{r['votes'][str(o)]:,}" if str(o) in r["votes"] else "–" for r in rounds]
            for o in sorted(titles)
        ]
        rows.append(["Exhausted ballots"] + [f"{r['exhausted']:,}" for r in rounds])
        outcome = []
        for r in rounds:
            if r.get("elected") is not None:
                outcome.append(f"Elected: {name(r['elected'])}")
            elif r.get("eliminated") is not None:
                outcome.append(f"Eliminated: {name(r['eliminated'])}")
            else:
                outcome.append("–")
        rows.append(["Outcome", *outcome])
        return [Table("Votes in each round of the instant runoff", headers, rows)]
    if kind == BallotKind.BUDGETING and method == ResultMethod.EQUAL_SHARES:
        purchases = result.get("purchases", [])
        tables = [
            Table(
                "Projects bought with equal shares, in order",
                ["Round", "Project", "Cost", "Supporters", "Most paid by one supporter"],
                [
                    [
                        str(p["round"]),
                        name(p["option"]),
                        _money(p["cost"]),
                        f"{p['supporters']:,}",
                        _money(p["max_payment"]),
                    ]
                    for p in purchases
                ],
            ),
            Table(
                "Payments: what each group of voters paid",
                ["Project", "Voters approving", "Voters", "Paid each", "Left each"],
                [
                    [
                        name(p["option"]),
                        ", ".join(name(o) for o in g["ballot"]),
                        f"{g['voters']:,}",
                        _money(g["payment"]),
                        _money(g["remaining"]),
                    ]
                    for p in purchases
                    for g in p["payments"]
                ],
            ),
        ]
        if result.get("completed"):
            tables.append(
                Table(
                    "Added by the greedy completion",
                    ["Project"],
                    [[name(o)] for o in result["completed"]],
                )
            )
        return tables
    if kind == BallotKind.BUDGETING:
        return [
            Table(
                "Decisions, in order of votes",
                ["Project", "Votes", "Cost", "Funded", "Left afterwards"],
                [
                    [
                        name(d["option"]),
                        f"{d['votes']:,}",
                        _money(d["cost"]),
                        "Funded" if d["funded"] else "Not funded",
                        _money(d["remaining"]),
                    ]
                    for d in result.get("decisions", [])
                ],
            )
        ]
    groups = result.get("groups", [])
    by_statement = [
        [name(s["statement"])] + [_share(g["statements"][j]["agree_share"]) for g in groups]
        for j, s in enumerate(groups[0]["statements"] if groups else [])
    ]
    return [
        Table(
            "Opinion groups",
            ["Group", "Members"],
            [[f"Group {g['label']}", f"{g['size']:,}"] for g in groups],
        ),
        Table(
            "Share agreeing in each group",
            ["Statement"] + [f"Group {g['label']}" for g in groups],
            by_statement,
        ),
        Table(
            "Consensus: statements every group agrees (or disagrees) with",
            ["Statement", "Every group", "Lowest share"],
            [
                [name(c["statement"]), f"{c['direction']}s", _share(c["consensus"])]
                for c in result.get("consensus", [])
            ],
        ),
        Table(
            "Divisive: statements that split the groups",
            ["Statement", "Divisiveness"],
            [
                [name(d["statement"]), f"{float(d['divisiveness']):.2f}"]
                for d in result.get("divisive", [])
            ],
        ),
    ]


def tally_table(
    kind: BallotKind, options: Sequence[BallotOption], tally: dict[tuple[int, str], int]
) -> Table:
    """The running tallies during voting (when the vote shows live results)."""
    if kind == BallotKind.STATEMENTS:
        return Table(
            "Answers so far",
            ["Statement", "Agree", "Disagree", "Pass"],
            [
                [o.title] + [f"{tally.get((o.id, k), 0):,}" for k in ("agree", "disagree", "pass")]
                for o in options
            ],
        )
    caption = "First preferences so far" if kind == BallotKind.RANKED else "Choices so far"
    return Table(
        caption,
        ["Option", "Votes"],
        [[o.title, f"{tally.get((o.id, 'count'), 0):,}"] for o in options],
    )


def vote_address(url: str) -> str:
    """A vote's base address from any of its pages' addresses (…/votes/12/results → …/votes/12)."""
    base = url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    for page in ("/results", "/verify", "/ballots.csv", "/definition.json"):
        base = base.removesuffix(page)
    return base


def fetch(url: str, client: httpx.Client) -> tuple[dict[str, Any], str]:
    """Download a published vote's definition and exported ballots file from its address."""
    base = vote_address(url)
    definition_response = client.get(f"{base}/definition.json")
    definition_response.raise_for_status()
    ballots_response = client.get(f"{base}/ballots.csv")
    ballots_response.raise_for_status()
    spec = definition_response.json()
    if not isinstance(spec, dict):
        raise ValueError("The definition is not a JSON object.")
    return spec, ballots_response.content.decode("utf-8")


# --- the opinion map of a statements vote ------------------------------------------------------

MAP_SIZE = 320
MAP_MARGIN = 16


def opinion_map(result: dict[str, Any]) -> dict[str, Any] | None:
    """Participants' positions on the two main axes of disagreement, scaled to an SVG square.
    Each point is drawn as its group's letter, so the map does not rely on colour."""
    points = result.get("points") or []
    if not points:
        return None
    xs = [float(p["x"]) for p in points]
    ys = [float(p["y"]) for p in points]

    def scale(value: float, low: float, high: float) -> float:
        span = (high - low) or 1.0
        return round(MAP_MARGIN + (value - low) / span * (MAP_SIZE - 2 * MAP_MARGIN), 1)

    return {
        "size": MAP_SIZE,
        "points": [
            {
                "x": scale(float(p["x"]), min(xs), max(xs)),
                "y": scale(-float(p["y"]), -max(ys), -min(ys)),
                "group": str(p["group"]),
            }
            for p in points
        ],
        "groups": sorted({str(p["group"]) for p in points}),
    }
