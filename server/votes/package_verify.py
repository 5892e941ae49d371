"""Recount every published vote in an open-data package (``moot results verify --package``).

The package's ``cast_ballots.csv`` holds each ballot's content under an id of its own (not the
row ids of the vote's own ballots file), so this recount compares the result itself. Every
counted result must match exactly, except a statements vote's opinion map: its groups are named
and placed by participant, and participants have other ids here, so for those votes the
comparison is of what does not depend on names: each statement's scores and the group sizes.
(The vote's own ballots file, with `moot results verify <address>`, checks the map exactly.)
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.votes.counting import compute_json, differences
from server.votes.export import ExportRow


@dataclass(frozen=True, slots=True)
class PackageVerdict:
    ballot_id: int
    title: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(directory: Path, name: str) -> list[dict[str, str]]:
    with (directory / f"{name}.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _int(value: str) -> int | None:
    return int(value) if value.strip() else None


def _comparable(kind: str, result: dict[str, Any]) -> Any:
    if kind != "statements":
        return result
    return {
        "k": result.get("k"),
        "group_sizes": sorted(g.get("size") for g in result.get("groups", [])),
        "scores": result.get("scores"),
    }


def verify_package(directory: Path) -> list[PackageVerdict]:
    ballots = {int(b["id"]): b for b in _rows(directory, "ballots")}
    options: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for o in _rows(directory, "ballot_options"):
        options[int(o["ballot_id"])].append(
            {"id": int(o["id"]), "title": o["title"], "cost": _int(o["cost"])}
        )
    cast: dict[int, list[ExportRow]] = defaultdict(list)
    for c in _rows(directory, "cast_ballots"):
        cast[int(c["ballot_id"])].append(
            ExportRow(row_id=c["id"], content=json.loads(c["content"]))
        )
    verdicts = []
    for row in _rows(directory, "results"):
        ballot_id = int(row["ballot_id"])
        ballot = ballots[ballot_id]
        spec = {
            "kind": ballot["kind"],
            "method": ballot["result_method"],
            "options": sorted(options[ballot_id], key=lambda o: o["id"]),
            "budget": _int(ballot["budget"]),
            "max_choices": _int(ballot["max_choices"]),
            "threshold": _int(ballot["threshold"]),
            "tie_order": sorted(o["id"] for o in options[ballot_id]),
        }
        published = json.loads(row["result"])
        try:
            recomputed = compute_json(spec, cast[ballot_id])
            kind = ballot["kind"]
            problems = differences(_comparable(kind, published), _comparable(kind, recomputed))
        except (ValueError, KeyError, TypeError) as exc:
            problems = [f"The ballots cannot be counted: {exc}"]
        verdicts.append(PackageVerdict(ballot_id, ballot["title"], tuple(problems)))
    return verdicts
