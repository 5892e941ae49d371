"""Counting a vote and checking a published result.

A result is always computed from the exported ballots file (see ``export``), with the counting
methods of ``server.votes.methods``, so that anyone holding the file and the ballot's definition
(``definition``, served as ``/votes/{id}/definition.json``) recomputes exactly the published
result: ``moot results verify`` runs the very same ``compute`` (and ``fetch`` downloads both
from a vote's address).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from server.votes import export, methods
from server.votes.export import ExportRow
from server.votes.models import Ballot, BallotKind, BallotOption, BallotStatus, ResultMethod

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
