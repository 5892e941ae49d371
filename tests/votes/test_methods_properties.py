"""Properties of the vote-counting methods, checked on generated ballots with hypothesis."""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from server.votes.methods import (
    count_approval,
    count_support,
    equal_shares,
    greedy_budget,
    instant_runoff,
    to_jsonable,
)

FAST = settings(max_examples=60, deadline=None)

option_sets = st.lists(st.integers(1, 40), min_size=1, max_size=6, unique=True)


@st.composite
def rankings(draw: st.DrawFn) -> tuple[list[int], list[list[int]]]:
    options = draw(option_sets)
    ranking = st.lists(st.sampled_from(options), max_size=len(options), unique=True)
    return options, draw(st.lists(ranking, max_size=30))


@st.composite
def budgets(draw: st.DrawFn) -> tuple[dict[int, int], int, list[list[int]]]:
    options = draw(option_sets)
    costs = {o: draw(st.integers(1, 60)) for o in options}
    budget = draw(st.integers(0, 200))
    ballot = st.lists(st.sampled_from(options), max_size=len(options), unique=True)
    return costs, budget, draw(st.lists(ballot, max_size=12))


def shuffled(ballots: list[list[int]], seed: int) -> list[list[int]]:
    copy = list(ballots)
    random.Random(seed).shuffle(copy)
    return copy


# --- instant runoff --------------------------------------------------------------------------


@FAST
@given(rankings())
def test_irv_winner_has_a_first_preference_whenever_a_ballot_ranks_anything(
    case: tuple[list[int], list[list[int]]],
) -> None:
    options, ballots = case
    result = instant_runoff(options, ballots)
    if any(ballots):
        assert result.winner is not None
        assert result.first_preferences[result.winner] >= 1
        assert result.rounds[-1].elected == result.winner
    else:
        assert result.winner is None


@FAST
@given(rankings())
def test_irv_majority_of_first_preferences_wins(case: tuple[list[int], list[list[int]]]) -> None:
    options, ballots = case
    firsts = Counter(b[0] for b in ballots if b)
    result = instant_runoff(options, ballots)
    for option, votes in firsts.items():
        if 2 * votes > sum(firsts.values()):
            assert result.winner == option
            assert len(result.rounds) == 1


@FAST
@given(rankings())
def test_irv_rounds_account_for_every_ballot(case: tuple[list[int], list[list[int]]]) -> None:
    options, ballots = case
    result = instant_runoff(options, ballots)
    for r in result.rounds:
        assert sum(r.votes.values()) + r.exhausted + result.blank == len(ballots)


# --- greedy ----------------------------------------------------------------------------------


@FAST
@given(budgets(), st.booleans())
def test_greedy_fits_the_budget_and_is_maximal(
    case: tuple[dict[int, int], int, list[list[int]]], fund_unsupported: bool
) -> None:
    costs, budget, ballots = case
    result = greedy_budget(costs, budget, ballots, fund_unsupported=fund_unsupported)
    assert result.total_cost == sum(costs[o] for o in result.funded) <= budget
    for option in costs:
        considered = fund_unsupported or result.votes[option] > 0
        if option not in result.funded and considered:
            assert result.total_cost + costs[option] > budget


# --- equal shares ----------------------------------------------------------------------------


@FAST
@given(
    budgets(),
    st.sampled_from(["approval", "cost"]),
    st.sampled_from(["add1", "none"]),
    st.sampled_from([1, 7, 100]),
)
def test_mes_fits_the_budget_and_nobody_pays_more_than_their_share(
    case: tuple[dict[int, int], int, list[list[int]]], utilities: str, completion: str, step: int
) -> None:
    costs, budget, ballots = case
    result = equal_shares(
        costs,
        budget,
        ballots,
        utilities=utilities,  # type: ignore[arg-type]
        completion=completion,  # type: ignore[arg-type]
        add1_step=step,
    )
    assert result.total_cost == sum(costs[o] for o in result.funded) <= budget
    assert len(set(result.funded)) == len(result.funded)
    for group in result.groups:
        assert 0 <= group.paid <= result.share
        assert group.paid + group.left == result.share
    # Payments cover exactly the cost of what equal shares bought.
    paid = sum(g.paid * g.voters for g in result.groups)
    assert paid == sum(p.cost for p in result.purchases)
    if completion == "none" and ballots:
        assert result.share == Fraction(budget, len(ballots))
    for purchase in result.purchases:
        assert sum(p.payment * p.voters for p in purchase.payments) == purchase.cost
        assert all(p.payment <= purchase.max_payment for p in purchase.payments)


@FAST
@given(budgets(), st.integers(1, 10), st.sampled_from(["approval", "cost"]))
def test_mes_on_unanimous_ballots_funds_greedily(
    case: tuple[dict[int, int], int, list[list[int]]], voters: int, utilities: str
) -> None:
    costs, budget, _ = case
    ballots = [sorted(costs)] * voters
    mes = equal_shares(costs, budget, ballots, utilities=utilities)  # type: ignore[arg-type]
    greedy = greedy_budget(costs, budget, ballots)
    assert mes.funded == greedy.funded
    assert mes.completed == ()  # equal shares alone is already exhaustive


# --- approval and support --------------------------------------------------------------------


@FAST
@given(rankings())
def test_approval_totals_equal_a_naive_recount(case: tuple[list[int], list[list[int]]]) -> None:
    options, ballots = case
    result = count_approval(options, ballots)
    for option in options:
        assert result.totals[option] == sum(1 for b in ballots if option in b)
    assert [r.option for r in result.ranking] == sorted(
        options, key=lambda o: (-result.totals[o], o)
    )
    support = count_support(options, ballots, threshold=2)
    assert {t.option: t.supports for t in support.tallies} == result.totals


# --- order of ballots ------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(budgets(), st.integers(0, 2**32))
def test_shuffling_ballots_never_changes_a_result(
    case: tuple[dict[int, int], int, list[list[int]]], seed: int
) -> None:
    costs, budget, ballots = case
    options = list(costs)
    other = shuffled(ballots, seed)

    def same(method: object) -> None:
        assert callable(method)
        assert to_jsonable(method(ballots)) == to_jsonable(method(other))

    same(lambda b: count_support(options, b, threshold=2))
    same(lambda b: count_approval(options, b, seats=2))
    same(lambda b: instant_runoff(options, b))
    same(lambda b: greedy_budget(costs, budget, b))
    same(lambda b: equal_shares(costs, budget, b, add1_step=1))
    same(lambda b: equal_shares(costs, budget, b, utilities="cost", completion="greedy"))
