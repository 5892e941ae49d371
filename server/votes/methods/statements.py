"""Statement voting (Pol.is style): an opinion map, opinion groups, consensus and division.

Input: for each participant, their votes on statements: agree (+1), disagree (-1) or pass (0);
a statement a participant has not voted on is *missing*. Method:

1. Participants with fewer than ``min_votes`` votes (passes count, missing do not; capped at the
   number of statements) are excluded from the map and from every share below.
2. The participants-by-statements matrix (missing read as 0, like a pass) is centred per
   statement and projected on its first two principal components (SVD). Each component's sign
   is fixed so that its largest loading is positive, so the map does not flip between runs.
3. The points are clustered by k-means (k-means++ starts from ``numpy.random.default_rng(seed)``,
   ``n_init`` starts, the lowest inertia kept): with a fixed ``k``, or for each k from 2 to 5 the
   one with the highest mean silhouette (ties: the smaller k). k never exceeds the number of
   distinct points. Groups are labelled A, B, ... from the largest (ties: the group holding the
   first participant in sorted order).
4. Per group and statement: counts and shares (of the members who voted on it) of agree and
   disagree. A statement every group has voted on scores *consensus* = the lowest agree share
   of any group (or the lowest disagree share, when that is higher: consensus against), and
   *divisiveness* = half the spread of (agree share - disagree share) across groups, in 0..1.

Floats here describe opinion and decide no winner; the same input always gives the same output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from server.votes.methods.types import Step, plural

ParticipantId = int | str
Floats = npt.NDArray[np.float64]
Labels = npt.NDArray[np.intp]


@dataclass(frozen=True)
class StatementShare:
    statement: int
    agree: int
    disagree: int
    passed: int
    seen: int  # agree + disagree + passed
    agree_share: float | None  # of those who voted on it; None if nobody did
    disagree_share: float | None


@dataclass(frozen=True)
class OpinionGroup:
    label: str  # "A", "B", ...
    size: int
    participants: tuple[ParticipantId, ...]
    centre: tuple[float, float]
    statements: tuple[StatementShare, ...]


@dataclass(frozen=True)
class ParticipantPoint:
    participant: ParticipantId
    x: float
    y: float
    group: str


@dataclass(frozen=True)
class StatementScore:
    statement: int
    overall: StatementShare  # everyone in the map
    consensus: float | None  # None unless every group voted on it
    direction: str | None  # "agree" or "disagree": what the groups agree on
    divisiveness: float | None


@dataclass(frozen=True)
class OpinionMap:
    statements: tuple[int, ...]
    points: tuple[ParticipantPoint, ...]
    excluded: tuple[ParticipantId, ...]  # fewer than min_votes votes
    min_votes: int
    components: tuple[tuple[float, ...], tuple[float, ...]]  # loading of each statement
    explained_variance: tuple[float, float]  # share of variance of each component
    k: int
    silhouettes: dict[int, float]  # mean silhouette of each k tried
    groups: tuple[OpinionGroup, ...]
    scores: tuple[StatementScore, ...]  # every statement, in statement order
    consensus: tuple[StatementScore, ...]  # consensus >= threshold, highest first
    divisive: tuple[StatementScore, ...]  # divisiveness >= threshold, highest first
    steps: tuple[Step, ...]


def _participant_key(p: ParticipantId) -> tuple[int, int, str]:
    return (0, p, "") if isinstance(p, int) else (1, 0, p)


def _r(x: float) -> float:
    return round(float(x), 6)


def _pca(matrix: Floats) -> tuple[Floats, Floats, tuple[float, float]]:
    centred = matrix - matrix.mean(axis=0)
    _, sing, vt = np.linalg.svd(centred, full_matrices=False)
    comps = np.zeros((2, matrix.shape[1]))
    rows = min(2, vt.shape[0])
    comps[:rows] = vt[:rows]
    for i in range(2):
        if np.any(comps[i]) and comps[i][np.argmax(np.abs(comps[i]))] < 0:
            comps[i] = -comps[i]
    power = sing**2
    total = float(power.sum())
    ratios = [float(power[i]) / total if total > 0 and i < len(power) else 0.0 for i in range(2)]
    return centred @ comps.T, comps, (ratios[0], ratios[1])


def _kmeans(points: Floats, k: int, seed: int, n_init: int) -> Labels:
    rng = np.random.default_rng(seed)
    n = len(points)
    best: tuple[float, Labels] | None = None
    for _ in range(n_init):
        centres = points[[int(rng.integers(n))]]
        while len(centres) < k:  # k-means++: the next start far from the chosen ones
            d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1).min(1)
            pick = int(rng.choice(n, p=d2 / d2.sum()))
            centres = np.vstack([centres, points[pick]])
        labels = np.full(n, -1, dtype=np.intp)
        for _ in range(300):
            dist = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
            new = dist.argmin(axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            for j in range(k):
                if np.any(labels == j):
                    centres[j] = points[labels == j].mean(axis=0)
        inertia = float(dist[np.arange(n), labels].sum())
        if best is None or inertia < best[0] - 1e-9:
            best = (inertia, labels)
    assert best is not None
    return best[1]


def _silhouette(points: Floats, labels: Labels) -> float:
    n, k = len(points), int(labels.max()) + 1
    onehot = np.zeros((n, k))
    onehot[np.arange(n), labels] = 1.0
    sizes = onehot.sum(axis=0)
    scores = np.zeros(n)
    chunk = max(1, 4_000_000 // max(n, 1))
    for start in range(0, n, chunk):
        part = points[start : start + chunk]
        dist = np.sqrt(((part[:, None, :] - points[None, :, :]) ** 2).sum(-1))
        sums = dist @ onehot
        own = labels[start : start + chunk]
        rows = np.arange(len(part))
        own_size = sizes[own]
        a = np.where(own_size > 1, sums[rows, own] / np.maximum(own_size - 1, 1), 0.0)
        mean_other = np.where(sizes[None, :] > 0, sums / np.maximum(sizes[None, :], 1), np.inf)
        mean_other[rows, own] = np.inf
        b = mean_other.min(axis=1)
        denom = np.maximum(a, b)
        s = np.where((own_size > 1) & (denom > 0) & np.isfinite(b), (b - a) / denom, 0.0)
        scores[start : start + chunk] = s
    return float(scores.mean())


def _shares(statement: int, column: Iterable[int | None]) -> StatementShare:
    values = [v for v in column if v is not None]
    agree, disagree = values.count(1), values.count(-1)
    seen = len(values)
    return StatementShare(
        statement,
        agree,
        disagree,
        seen - agree - disagree,
        seen,
        _r(agree / seen) if seen else None,
        _r(disagree / seen) if seen else None,
    )


def opinion_groups(
    votes: Mapping[ParticipantId, Mapping[int, int]],
    *,
    statements: Iterable[int] | None = None,
    min_votes: int = 7,
    k: int | None = None,
    seed: int = 0,
    n_init: int = 10,
    consensus_threshold: float = 0.6,
    divisive_threshold: float = 0.5,
) -> OpinionMap:
    """Opinion map, groups, consensus and divisive statements; see the module docstring."""
    stmts = tuple(sorted(set(statements) if statements is not None else set()))
    known = set(stmts) if statements is not None else None
    for who, row in votes.items():
        for statement, value in row.items():
            if value not in (-1, 0, 1):
                raise ValueError(f"Participant {who} voted {value!r}; votes are -1, 0 or 1.")
            if known is not None and statement not in known:
                raise ValueError(f"Participant {who} voted on unknown statement {statement}.")
    if statements is None:
        stmts = tuple(sorted({s for row in votes.values() for s in row}))
    needed = min(min_votes, len(stmts))
    everyone = sorted(votes, key=_participant_key)
    included = [p for p in everyone if len(votes[p]) >= max(needed, 1)]
    excluded = tuple(p for p in everyone if p not in set(included))
    grid = [[votes[p].get(s) for s in stmts] for p in included]
    matrix = np.array([[v or 0 for v in row] for row in grid], dtype=np.float64)
    matrix = matrix.reshape(len(included), len(stmts))
    steps = [
        Step(
            "matrix",
            f"{plural(len(votes), 'participant')} voted on {plural(len(stmts), 'statement')}; "
            f"{plural(len(excluded), 'participant')} with fewer than {needed} votes left out.",
            values={"participants": len(included), "excluded": len(excluded), "min": needed},
        )
    ]
    if included and stmts:
        coords, comps, variance = _pca(matrix)
    else:
        coords, comps, variance = np.zeros((len(included), 2)), np.zeros((2, 0)), (0.0, 0.0)
    distinct = len({(float(x), float(y)) for x, y in coords})
    silhouettes: dict[int, float] = {}
    if distinct < 2:
        labels = np.zeros(len(included), dtype=np.intp)
    elif k is not None:
        labels = _kmeans(coords, max(1, min(k, distinct)), seed, n_init)
    else:
        tried = {j: _kmeans(coords, j, seed, n_init) for j in range(2, min(5, distinct) + 1)}
        silhouettes = {j: _r(_silhouette(coords, lab)) for j, lab in tried.items()}
        chosen = max(silhouettes, key=lambda j: (silhouettes[j], -j))
        labels = tried[chosen]
    members: dict[int, list[int]] = {}
    for index, cluster in enumerate(labels.tolist()):
        members.setdefault(cluster, []).append(index)
    ordered = sorted(members.values(), key=lambda m: (-len(m), m[0]))
    groups = []
    group_of: dict[int, str] = {}
    for number, rows in enumerate(ordered):
        label = chr(ord("A") + number)
        group_of.update({r: label for r in rows})
        centre = coords[rows].mean(axis=0)
        shares = tuple(_shares(s, (grid[r][j] for r in rows)) for j, s in enumerate(stmts))
        groups.append(
            OpinionGroup(
                label, len(rows), tuple(included[r] for r in rows),
                (_r(centre[0]), _r(centre[1])), shares,
            )
        )  # fmt: skip
    scores = tuple(_score(j, s, grid, groups) for j, s in enumerate(stmts))
    consensus = tuple(
        sorted(
            (c for c in scores if c.consensus is not None and c.consensus >= consensus_threshold),
            key=lambda c: (-(c.consensus or 0.0), c.statement),
        )
    )
    divisive = tuple(
        sorted(
            (c for c in scores if (c.divisiveness or 0.0) >= divisive_threshold and c.divisiveness),
            key=lambda c: (-(c.divisiveness or 0.0), c.statement),
        )
    )
    points = tuple(
        ParticipantPoint(p, _r(coords[i][0]), _r(coords[i][1]), group_of[i])
        for i, p in enumerate(included)
    )
    steps += _steps(variance, silhouettes, groups, consensus, divisive)
    return OpinionMap(
        stmts, points, excluded, needed,
        (tuple(_r(v) for v in comps[0]), tuple(_r(v) for v in comps[1])),
        (_r(variance[0]), _r(variance[1])), len(groups), silhouettes, tuple(groups),
        scores, consensus, divisive, tuple(steps),
    )  # fmt: skip


def _score(
    j: int, statement: int, grid: list[list[int | None]], groups: list[OpinionGroup]
) -> StatementScore:
    overall = _shares(statement, (row[j] for row in grid))
    per_group = [g.statements[j] for g in groups]
    if not groups or any(s.seen == 0 for s in per_group):
        return StatementScore(statement, overall, None, None, None)
    agree = min(s.agree_share or 0.0 for s in per_group)
    disagree = min(s.disagree_share or 0.0 for s in per_group)
    nets = [(s.agree_share or 0.0) - (s.disagree_share or 0.0) for s in per_group]
    direction = "agree" if agree >= disagree else "disagree"
    return StatementScore(
        statement, overall, _r(max(agree, disagree)), direction, _r((max(nets) - min(nets)) / 2)
    )


def _steps(
    variance: tuple[float, float],
    silhouettes: dict[int, float],
    groups: list[OpinionGroup],
    consensus: tuple[StatementScore, ...],
    divisive: tuple[StatementScore, ...],
) -> list[Step]:
    steps = [
        Step(
            "map",
            f"Two principal components explain {variance[0]:.0%} and {variance[1]:.0%} of the "
            "variation in votes.",
            values={"component_1": variance[0], "component_2": variance[1]},
        )
    ]
    if silhouettes:
        tried = ", ".join(f"k={j}: {s:.3f}" for j, s in silhouettes.items())
        steps.append(Step("k", f"Mean silhouette by number of groups: {tried}."))
    sizes = ", ".join(f"{g.label} ({g.size})" for g in groups)
    steps.append(Step("groups", f"{plural(len(groups), 'opinion group')}: {sizes or 'none'}."))
    for c in consensus:
        steps.append(
            Step(
                "consensus",
                f"Statement {c.statement}: every group {c.direction}s "
                f"(at least {c.consensus:.0%} in each group).",
                values={"score": c.consensus, "direction": c.direction},
            )
        )
    for d in divisive:
        steps.append(
            Step(
                "divisive",
                f"Statement {d.statement} divides the groups (divisiveness {d.divisiveness:.2f}).",
                values={"score": d.divisiveness},
            )
        )
    return steps
