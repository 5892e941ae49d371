"""Ranked choice: instant-runoff voting for a single winner.

Each ballot ranks some options, most preferred first, each at most once; ballots need not rank
every option. Every round, each ballot counts for its highest-ranked option still in the count
(continuing); a ballot whose ranked options have all been eliminated is *exhausted* and counts
no more. An option with more than half of the continuing votes of a round wins. Otherwise one
option is eliminated, the one with the fewest votes; a tie for fewest is broken by

1. the fewest first-preference votes (round 1), then
2. the tie order (see ``types``): the option that comes *last* in it is eliminated, so by
   default the highest id goes first.

If every ballot is empty there is no winner. Empty ballots are valid here (counted as blank) so
that exported ballots can be recounted; ``validate_ranking`` rejects them by default so that the
voting page can ask for at least one choice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from server.votes.methods.approval import validate_choice_ballot, validated_ballots
from server.votes.methods.types import (
    BallotProblem,
    OptionId,
    Step,
    check_options,
    plural,
    tie_ranks,
)


@dataclass(frozen=True)
class IrvRound:
    """One round of the count: one row of the results table."""

    number: int
    votes: dict[OptionId, int]  # votes of each continuing option (every one listed)
    continuing_votes: int  # ballots counting for a continuing option
    exhausted: int  # ballots exhausted so far (blank ballots not included)
    elected: OptionId | None  # the winner, in the last round
    eliminated: OptionId | None  # the option eliminated at the end of this round
    tie_break: str | None  # how a tie for elimination was broken, if there was one
    transfers: dict[OptionId, int]  # where the eliminated option's ballots went next
    newly_exhausted: int  # ballots of the eliminated option that had no further choice


@dataclass(frozen=True)
class IrvResult:
    winner: OptionId | None
    ballots: int  # all ballots, blanks included
    blank: int  # ballots that ranked nothing
    first_preferences: dict[OptionId, int]
    rounds: tuple[IrvRound, ...]
    steps: tuple[Step, ...]


def validate_ranking(
    ranking: Sequence[OptionId],
    options: Collection[OptionId],
    *,
    max_rankings: int | None = None,
    allow_empty: bool = False,
) -> tuple[BallotProblem, ...]:
    """Why a ranking is invalid: an option ranked twice, an unknown option, ranking more than
    ``max_rankings`` options, or (unless ``allow_empty``) ranking nothing."""
    return validate_choice_ballot(ranking, options, limit=max_rankings, allow_empty=allow_empty)


def _top(ranking: tuple[OptionId, ...], continuing: set[OptionId]) -> OptionId | None:
    return next((option for option in ranking if option in continuing), None)


def instant_runoff(
    options: Iterable[OptionId],
    ballots: Iterable[Sequence[OptionId]],
    *,
    tie_order: Sequence[OptionId] | None = None,
) -> IrvResult:
    """Count ranked ballots by instant runoff; see the module docstring for the rules."""
    option_ids = check_options(options)
    known = frozenset(option_ids)
    checked = validated_ballots(ballots, lambda b: validate_ranking(b, known, allow_empty=True))
    ranks = tie_ranks(option_ids, tie_order)
    piles = Counter(b for b in checked if b)  # identical rankings counted together
    blank = len(checked) - sum(piles.values())
    first = {o: 0 for o in sorted(option_ids, key=ranks.__getitem__)}
    for ranking, count in piles.items():
        first[ranking[0]] += count
    continuing = set(option_ids)
    rounds: list[IrvRound] = []
    steps = [
        Step(
            "count",
            f"Counted {plural(len(checked), 'ballot')} ({blank:,} blank); a winner needs more "
            "than half of the votes still in the count in a round.",
            values={"ballots": len(checked), "blank": blank},
        )
    ]
    winner: OptionId | None = None
    while continuing:
        number = len(rounds) + 1
        votes = {o: 0 for o in first if o in continuing}
        exhausted = 0
        for ranking, count in piles.items():
            top = _top(ranking, continuing)
            if top is None:
                exhausted += count
            else:
                votes[top] += count
        total = sum(votes.values())
        order = sorted(votes, key=lambda o: (-votes[o], ranks[o]))
        table = ", ".join(f"option {o} {votes[o]:,}" for o in order)
        steps.append(
            Step(
                "round",
                f"Round {number}: {table}; {plural(exhausted, 'ballot')} exhausted.",
                values={"round": number, "continuing_votes": total, "exhausted": exhausted},
            )
        )
        if total == 0:
            steps.append(Step("no_winner", "No ballot ranks any option: there is no winner."))
            rounds.append(IrvRound(number, votes, 0, exhausted, None, None, None, {}, 0))
            break
        leader = order[0]
        if 2 * votes[leader] > total or len(continuing) == 1:
            winner = leader
            steps.append(
                Step(
                    "elect",
                    f"Round {number}: option {leader} wins with {votes[leader]:,} of "
                    f"{total:,} continuing votes.",
                    leader,
                    {"round": number, "votes": votes[leader], "continuing_votes": total},
                )
            )
            rounds.append(IrvRound(number, votes, total, exhausted, leader, None, None, {}, 0))
            break
        loser, tie_break = _loser(votes, first, ranks)
        before = set(continuing)
        continuing.discard(loser)
        transfers: Counter[OptionId] = Counter()
        lost = 0
        for ranking, count in piles.items():
            if _top(ranking, before) == loser:
                after = _top(ranking, continuing)
                if after is None:
                    lost += count
                else:
                    transfers[after] += count
        moved = {o: transfers[o] for o in sorted(transfers, key=ranks.__getitem__)}
        went = ", ".join(f"{n:,} to option {o}" for o, n in moved.items()) or "none transferred"
        steps.append(
            Step(
                "eliminate",
                f"Round {number}: option {loser} eliminated ({plural(votes[loser], 'vote')})"
                + (f" – {tie_break}" if tie_break else "")
                + f"; its ballots: {went}, {lost:,} exhausted.",
                loser,
                {"round": number, "votes": votes[loser], "exhausted": lost},
            )
        )
        rounds.append(
            IrvRound(number, votes, total, exhausted, None, loser, tie_break, moved, lost)
        )
    return IrvResult(winner, len(checked), blank, first, tuple(rounds), tuple(steps))


def _loser(
    votes: dict[OptionId, int], first: dict[OptionId, int], ranks: dict[OptionId, int]
) -> tuple[OptionId, str | None]:
    """The option to eliminate, and how a tie was broken (None if there was no tie)."""
    fewest = min(votes.values())
    tied = [o for o in votes if votes[o] == fewest]
    if len(tied) == 1:
        return tied[0], None
    names = ", ".join(str(o) for o in sorted(tied, key=ranks.__getitem__))
    least_first = min(first[o] for o in tied)
    by_first = [o for o in tied if first[o] == least_first]
    if len(by_first) == 1:
        return by_first[0], f"tie between options {names}; fewest first preferences"
    loser = max(by_first, key=ranks.__getitem__)
    if len(by_first) == len(tied):
        return loser, f"tie between options {names}; last in the tie order"
    return loser, f"tie between options {names}; fewest first preferences, then the tie order"
