"""Support ballots and approval voting.

Support: each person supports any number of options (at most once each); an option that gathers
at least ``threshold`` supports has *reached the threshold* (for example, to go forward to the
council). Approval: each ballot approves up to ``limit`` options; options are ranked by their
number of approvals, and the first ``seats`` of the ranking win.

Ties in the ranking are resolved by the tie order (see ``types``): by default the lower option
id is placed first. Tied options still share the same ``rank`` (1, 2, 2, 4, ...); ``position``
is the strict order after the tie order has been applied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from server.votes.methods.types import (
    BallotProblem,
    InvalidBallotError,
    OptionId,
    ProblemCode,
    Step,
    check_options,
    plural,
    tie_ranks,
)


@dataclass(frozen=True)
class RankedOption:
    """One row of a ranking by vote count."""

    option: OptionId
    votes: int
    rank: int  # 1 + the number of options with strictly more votes: tied options share it
    position: int  # 1-based place once the tie order has resolved ties
    tied: bool  # another option has the same number of votes


@dataclass(frozen=True)
class SupportTally:
    option: OptionId
    supports: int
    reached: bool
    short_by: int  # supports still needed to reach the threshold (0 once reached)
    position: int


@dataclass(frozen=True)
class SupportResult:
    threshold: int
    ballots: int  # one per person, empty ones included
    tallies: tuple[SupportTally, ...]  # most supports first, ties by the tie order
    reached: tuple[OptionId, ...]  # options at or over the threshold, in the same order
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class ApprovalResult:
    limit: int | None
    seats: int | None
    ballots: int
    empty_ballots: int
    totals: dict[OptionId, int]  # approvals per option, every option listed
    ranking: tuple[RankedOption, ...]
    winners: tuple[OptionId, ...]  # the first ``seats`` positions; () when seats is None
    steps: tuple[Step, ...]


def validate_choice_ballot(
    ballot: Sequence[OptionId],
    options: Collection[OptionId],
    *,
    limit: int | None = None,
    allow_empty: bool = True,
) -> tuple[BallotProblem, ...]:
    """Problems with a ballot that chooses a set of options (support, approval, budgeting).

    Reports each unknown option, each option chosen more than once, more than ``limit``
    choices, and (unless ``allow_empty``) a ballot that chooses nothing. ``()`` means valid.
    """
    problems: list[BallotProblem] = []
    known = options if isinstance(options, AbstractSet | Mapping) else frozenset(options)
    seen: set[OptionId] = set()
    reported: set[OptionId] = set()
    for option in ballot:
        if option not in known:
            if option not in reported:
                problems.append(
                    BallotProblem(
                        ProblemCode.UNKNOWN_OPTION, f"Option {option} is not on the ballot.", option
                    )
                )
                reported.add(option)
        elif option in seen and option not in reported:
            problems.append(
                BallotProblem(ProblemCode.DUPLICATE, f"Option {option} is chosen twice.", option)
            )
            reported.add(option)
        seen.add(option)
    if limit is not None and len(seen) > limit:
        problems.append(
            BallotProblem(
                ProblemCode.OVER_LIMIT,
                f"{plural(len(seen), 'option')} chosen; the limit is {limit}.",
            )
        )
    if not ballot and not allow_empty:
        problems.append(BallotProblem(ProblemCode.EMPTY, "No option is chosen."))
    return tuple(problems)


def validate_approval_ballot(
    ballot: Sequence[OptionId],
    options: Collection[OptionId],
    limit: int | None = None,
    *,
    allow_empty: bool = True,
) -> tuple[BallotProblem, ...]:
    """Why an approval ballot is invalid: over the limit, a duplicate, an unknown option."""
    return validate_choice_ballot(ballot, options, limit=limit, allow_empty=allow_empty)


def validated_ballots(
    ballots: Iterable[Sequence[OptionId]],
    validate: Callable[[Sequence[OptionId]], tuple[BallotProblem, ...]],
) -> list[tuple[OptionId, ...]]:
    """The ballots as tuples; raises ``InvalidBallotError`` for the first invalid one."""
    result: list[tuple[OptionId, ...]] = []
    for index, ballot in enumerate(ballots):
        choice = tuple(ballot)
        problems = validate(choice)
        if problems:
            raise InvalidBallotError(index, problems)
        result.append(choice)
    return result


def approval_totals(
    options: Collection[OptionId], ballots: Iterable[Sequence[OptionId]]
) -> dict[OptionId, int]:
    """Approvals per option (every option listed) from already validated ballots."""
    counts: Counter[OptionId] = Counter()
    for ballot in ballots:
        counts.update(ballot)
    return {option: counts[option] for option in sorted(options)}


def rank_by_votes(
    totals: dict[OptionId, int], tie_order: Sequence[OptionId] | None = None
) -> tuple[RankedOption, ...]:
    """Most votes first; equal votes in tie order. Tied options share ``rank``."""
    ranks = tie_ranks(totals.keys(), tie_order)
    order = sorted(totals, key=lambda o: (-totals[o], ranks[o]))
    frequency = Counter(totals.values())
    rows: list[RankedOption] = []
    for position, option in enumerate(order, start=1):
        votes = totals[option]
        rank = rows[-1].rank if rows and rows[-1].votes == votes else position
        rows.append(RankedOption(option, votes, rank, position, frequency[votes] > 1))
    return tuple(rows)


def _tie_note(row: RankedOption, ranking: Sequence[RankedOption]) -> str:
    if not row.tied:
        return ""
    others = [r.option for r in ranking if r.votes == row.votes and r.option != row.option]
    names = ", ".join(str(o) for o in others)
    return f" (tied with option{'s' if len(others) > 1 else ''} {names}; placed by the tie order)"


def count_support(
    options: Iterable[OptionId],
    ballots: Iterable[Sequence[OptionId]],
    *,
    threshold: int,
    tie_order: Sequence[OptionId] | None = None,
) -> SupportResult:
    """Supports per option and which options reach ``threshold``.

    A ballot is one person's supports: option ids, each at most once. Invalid ballots raise
    ``InvalidBallotError``.
    """
    if threshold < 0:
        raise ValueError("The threshold cannot be negative.")
    option_ids = check_options(options)
    known = frozenset(option_ids)
    checked = validated_ballots(ballots, lambda b: validate_choice_ballot(b, known))
    totals = approval_totals(option_ids, checked)
    ranking = rank_by_votes(totals, tie_order)
    tallies = tuple(
        SupportTally(
            r.option, r.votes, r.votes >= threshold, max(threshold - r.votes, 0), r.position
        )
        for r in ranking
    )
    reached = tuple(t.option for t in tallies if t.reached)
    steps = [
        Step(
            "count",
            f"Counted {plural(len(checked), 'ballot')} with "
            f"{plural(sum(totals.values()), 'support')} in all; the threshold is {threshold:,}.",
            values={"ballots": len(checked), "supports": sum(totals.values())},
        )
    ]
    for tally, row in zip(tallies, ranking, strict=True):
        outcome = "reached the threshold" if tally.reached else f"{tally.short_by:,} short of it"
        steps.append(
            Step(
                "tally",
                f"Option {tally.option}: {plural(tally.supports, 'support')}, {outcome}."
                + _tie_note(row, ranking),
                tally.option,
                {"supports": tally.supports, "reached": tally.reached, "short_by": tally.short_by},
            )
        )
    return SupportResult(threshold, len(checked), tallies, reached, tuple(steps))


def count_approval(
    options: Iterable[OptionId],
    ballots: Iterable[Sequence[OptionId]],
    *,
    limit: int | None = None,
    seats: int | None = None,
    tie_order: Sequence[OptionId] | None = None,
) -> ApprovalResult:
    """Approval totals and ranking; with ``seats``, the winners are the first ``seats`` rows.

    Each ballot approves at most ``limit`` options (``None``: no limit), each at most once; an
    empty ballot is valid and counted as an abstention. Invalid ballots raise
    ``InvalidBallotError``.
    """
    if limit is not None and limit < 1:
        raise ValueError("The limit must be at least 1.")
    if seats is not None and seats < 0:
        raise ValueError("The number of seats cannot be negative.")
    option_ids = check_options(options)
    known = frozenset(option_ids)
    checked = validated_ballots(ballots, lambda b: validate_choice_ballot(b, known, limit=limit))
    totals = approval_totals(option_ids, checked)
    ranking = rank_by_votes(totals, tie_order)
    empty = sum(1 for b in checked if not b)
    winners = tuple(r.option for r in ranking[:seats]) if seats is not None else ()
    steps = [
        Step(
            "count",
            f"Counted {plural(len(checked), 'ballot')} ({empty:,} empty) with "
            f"{plural(sum(totals.values()), 'approval')} in all.",
            values={"ballots": len(checked), "empty": empty, "approvals": sum(totals.values())},
        )
    ]
    for row in ranking:
        won = " – elected" if row.option in winners else ""
        steps.append(
            Step(
                "place",
                f"Place {row.position}: option {row.option} with "
                f"{plural(row.votes, 'approval')}{won}." + _tie_note(row, ranking),
                row.option,
                {"votes": row.votes, "rank": row.rank, "position": row.position},
            )
        )
    if seats is not None and 0 < seats < len(ranking):
        last, first_out = ranking[seats - 1], ranking[seats]
        if last.votes == first_out.votes:
            steps.append(
                Step(
                    "tie",
                    f"Options {last.option} and {first_out.option} tied on "
                    f"{plural(last.votes, 'approval')} at the cut-off; the tie order elected "
                    f"option {last.option}.",
                    last.option,
                    {"votes": last.votes, "beaten": first_out.option},
                )
            )
    return ApprovalResult(limit, seats, len(checked), empty, totals, ranking, winners, tuple(steps))
