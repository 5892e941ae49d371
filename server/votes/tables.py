"""A vote's result, and its running tallies, as tables for the results page; and the opinion
map of a statements vote, scaled to an SVG square."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from server.votes import methods
from server.votes.models import Ballot, BallotKind, BallotOption, ResultMethod


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
