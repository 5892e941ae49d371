"""Worked examples for the vote-counting methods, each checked against its source."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from server.votes.methods import (
    InvalidBallotError,
    ProblemCode,
    count_approval,
    count_support,
    equal_shares,
    format_money,
    greedy_budget,
    instant_runoff,
    seeded_tie_order,
    tie_ranks,
    to_jsonable,
    validate_approval_ballot,
    validate_budget_ballot,
    validate_ranking,
)

# Lackner & Skowron, "Multi-Winner Voting with Approval Preferences" (Springer 2023,
# arXiv:2007.01795), Example 2.1, the book's running example: 12 voters, candidates a..h, k = 4.
A, B, C, D, E, F, G, H = range(1, 9)
RUNNING_EXAMPLE = (
    [[A, B]] * 3 + [[A, C]] * 3 + [[A, D]] * 2 + [[B, C, F]] + [[E]] + [[F]] + [[G]]
)  # fmt: skip


def codes(problems: tuple[object, ...]) -> list[ProblemCode]:
    return [p.code for p in problems]  # type: ignore[attr-defined]


# --- support ---------------------------------------------------------------------------------


def test_support_marks_options_reaching_the_threshold_with_ties_by_id() -> None:
    # Worked by hand: supports 1: 3, 2: 3, 3: 1, 4: 0; threshold 3.
    result = count_support([4, 3, 2, 1], [[1, 2], [2, 1, 3], [1, 2], []], threshold=3)
    assert [(t.option, t.supports, t.reached, t.short_by) for t in result.tallies] == [
        (1, 3, True, 0),
        (2, 3, True, 0),
        (3, 1, False, 2),
        (4, 0, False, 3),
    ]
    assert result.reached == (1, 2)
    assert result.ballots == 4
    assert "tied with option 2" in result.steps[1].message


def test_support_rejects_a_second_support_for_the_same_option() -> None:
    with pytest.raises(InvalidBallotError) as caught:
        count_support([1, 2], [[1], [2, 2]], threshold=1)
    assert caught.value.index == 1
    assert codes(caught.value.problems) == [ProblemCode.DUPLICATE]


# --- approval --------------------------------------------------------------------------------


def test_approval_on_the_running_example_breaks_the_tie_for_the_last_seat_by_id() -> None:
    # Lackner & Skowron Example 2.1 under Approval Voting (their Example 2.2): scores a 8, b 4,
    # c 4, d 2, f 2, e 1, g 1, h 0; {a, b, c} plus d or f tie for k = 4.
    result = count_approval(range(1, 9), RUNNING_EXAMPLE, seats=4)
    assert result.totals == {A: 8, B: 4, C: 4, D: 2, E: 1, F: 2, G: 1, H: 0}
    assert [(r.option, r.votes, r.rank, r.position) for r in result.ranking] == [
        (A, 8, 1, 1),
        (B, 4, 2, 2),
        (C, 4, 2, 3),
        (D, 2, 4, 4),
        (F, 2, 4, 5),
        (E, 1, 6, 6),
        (G, 1, 6, 7),
        (H, 0, 8, 8),
    ]
    assert result.winners == (A, B, C, D)
    assert result.steps[-1].kind == "tie"
    assert result.steps[-1].message.startswith(f"Options {D} and {F} tied on 2 approvals")
    # A published tie order that favours f elects f instead.
    reordered = count_approval(
        range(1, 9), RUNNING_EXAMPLE, seats=4, tie_order=[F, A, B, C, D, E, G, H]
    )
    assert reordered.winners == (A, B, C, F)


def test_approval_counts_empty_ballots_as_abstentions() -> None:
    result = count_approval([1, 2, 3], [[1, 2], [], [3], [2]], limit=2)
    assert result.totals == {1: 1, 2: 2, 3: 1}
    assert (result.ballots, result.empty_ballots) == (4, 1)
    assert result.winners == ()


def test_approval_validation_says_why() -> None:
    options = [1, 2, 3]
    assert validate_approval_ballot([1, 2], options, 2) == ()
    assert codes(validate_approval_ballot([1, 2, 3], options, 2)) == [ProblemCode.OVER_LIMIT]
    assert codes(validate_approval_ballot([1, 1], options, 2)) == [ProblemCode.DUPLICATE]
    assert codes(validate_approval_ballot([9], options, 2)) == [ProblemCode.UNKNOWN_OPTION]
    assert codes(validate_approval_ballot([], options, 2, allow_empty=False)) == [ProblemCode.EMPTY]
    with pytest.raises(InvalidBallotError, match="Ballot 0 is invalid: 3 options chosen"):
        count_approval(options, [[1, 2, 3]], limit=2)


# --- instant runoff --------------------------------------------------------------------------

# Wikipedia, "Instant-runoff voting" (also "Condorcet method"): the Tennessee capital example.
# 42% Memphis > Nashville > Chattanooga > Knoxville; 26% Nashville > Chattanooga > Knoxville >
# Memphis; 15% Chattanooga > Knoxville > Nashville > Memphis; 17% Knoxville > Chattanooga >
# Nashville > Memphis. Chattanooga then Nashville are eliminated; Knoxville wins 58 to 42.
MEM, NAS, CHA, KNO = 1, 2, 3, 4
TENNESSEE = (
    [[MEM, NAS, CHA, KNO]] * 42
    + [[NAS, CHA, KNO, MEM]] * 26
    + [[CHA, KNO, NAS, MEM]] * 15
    + [[KNO, CHA, NAS, MEM]] * 17
)


def test_irv_tennessee_capital() -> None:
    result = instant_runoff([MEM, NAS, CHA, KNO], TENNESSEE)
    assert result.winner == KNO
    table = [(r.votes, r.exhausted, r.eliminated, r.elected, r.transfers) for r in result.rounds]
    assert table == [
        ({MEM: 42, NAS: 26, CHA: 15, KNO: 17}, 0, CHA, None, {KNO: 15}),
        ({MEM: 42, NAS: 26, KNO: 32}, 0, NAS, None, {KNO: 26}),
        ({MEM: 42, KNO: 58}, 0, None, KNO, {}),
    ]
    assert result.first_preferences == {MEM: 42, NAS: 26, CHA: 15, KNO: 17}
    messages = [s.message for s in result.steps]
    assert "Round 1: option 3 eliminated (15 votes); its ballots: 15 to option 4, 0 exhausted." in (
        messages
    )
    assert messages[-1] == "Round 3: option 4 wins with 58 of 100 continuing votes."


def test_irv_exhausted_ballots_and_a_tie_broken_by_the_tie_order() -> None:
    # Worked by hand. Round 1: 1 has 5, 2 has 4, 3 has 5 (14 votes, none over 7): 2 is out and
    # its 4 bullet votes exhaust. Round 2: 1 and 3 tie on 5 with equal first preferences, so the
    # option last in the tie order (3) is out; all 5 of its ballots exhaust (2 is gone).
    # Round 3: 1 has all 5 continuing votes.
    ballots = [[1]] * 5 + [[2]] * 4 + [[3]] * 3 + [[3, 2]] * 2
    result = instant_runoff([1, 2, 3], ballots)
    assert result.winner == 1
    assert [(r.votes, r.continuing_votes, r.exhausted) for r in result.rounds] == [
        ({1: 5, 2: 4, 3: 5}, 14, 0),
        ({1: 5, 3: 5}, 10, 4),
        ({1: 5}, 5, 9),
    ]
    assert result.rounds[1].eliminated == 3
    assert result.rounds[1].tie_break == "tie between options 1, 3; last in the tie order"
    assert result.rounds[1].newly_exhausted == 5
    assert instant_runoff([1, 2, 3], ballots, tie_order=[3, 2, 1]).winner == 3


def test_irv_tie_for_last_is_broken_by_first_preferences_before_the_tie_order() -> None:
    # Worked by hand. Round 1: 1: 6, 2: 4, 3: 5, 4: 2; 4 is out ([4, 2] to 2, [4] exhausts).
    # Round 2: 2 and 3 tie on 5, but 2 had fewer first preferences (4 < 5), so 2 is out even
    # though the tie order alone would have eliminated 3. Round 3: 1 wins 10 of 15.
    ballots = [[1]] * 6 + [[2, 1]] * 4 + [[3]] * 5 + [[4, 2]] + [[4]]
    result = instant_runoff([1, 2, 3, 4], ballots)
    assert [r.eliminated for r in result.rounds] == [4, 2, None]
    assert result.rounds[1].tie_break == "tie between options 2, 3; fewest first preferences"
    assert result.rounds[1].transfers == {1: 4}
    assert (result.rounds[2].votes, result.rounds[2].exhausted) == ({1: 10, 3: 5}, 2)
    assert result.winner == 1


def test_irv_blank_ballots_and_no_ballots() -> None:
    assert instant_runoff([1, 2], [[], [2], []]).winner == 2
    assert instant_runoff([1, 2], [[], [2], []]).blank == 2
    nobody = instant_runoff([1, 2], [[], []])
    assert nobody.winner is None
    assert nobody.steps[-1].kind == "no_winner"


def test_irv_validation() -> None:
    options = [1, 2, 3]
    assert validate_ranking([3, 1], options) == ()
    assert codes(validate_ranking([1, 2, 1], options)) == [ProblemCode.DUPLICATE]
    assert codes(validate_ranking([1, 7], options)) == [ProblemCode.UNKNOWN_OPTION]
    assert codes(validate_ranking([], options)) == [ProblemCode.EMPTY]
    assert codes(validate_ranking([1, 2, 3], options, max_rankings=2)) == [ProblemCode.OVER_LIMIT]
    with pytest.raises(InvalidBallotError):
        instant_runoff(options, [[1], [2, 2]])


# --- participatory budgeting: greedy ---------------------------------------------------------


def test_greedy_worked_by_hand() -> None:
    # Costs (pence) 1: 500, 2: 300, 3: 400, 4: 200, 5: 100; budget 1000.
    # Votes 1: 5, 2: 4, 3: 4, 4: 2, 5: 0. Fund 1 (500 left); 2 and 3 tie on 4 votes, the cheaper
    # 2 goes first: fund 2 (200 left); 3 does not fit; fund 4 (0 left); 5 had no votes.
    costs = {1: 500, 2: 300, 3: 400, 4: 200, 5: 100}
    ballots = [[1, 2]] * 2 + [[1, 3]] * 2 + [[1, 2, 4], [2, 3], [3, 4]]
    result = greedy_budget(costs, 1000, ballots, max_ballot_cost=1000)
    assert result.votes == {1: 5, 2: 4, 3: 4, 4: 2, 5: 0}
    assert [(d.option, d.funded, d.remaining) for d in result.decisions] == [
        (1, True, 500),
        (2, True, 200),
        (3, False, 200),
        (4, True, 0),
    ]
    assert result.funded == (1, 2, 4)
    assert (result.total_cost, result.remaining) == (1000, 0)
    assert [s.kind for s in result.steps] == [
        "setup",
        "fund",
        "fund",
        "skip",
        "fund",
        "unsupported",
        "result",
    ]
    assert result.steps[3].message == (
        "Option 3 (4 votes, £4.00): not funded, it costs more than the £2.00 left."
    )
    everything = greedy_budget(costs, 1000, ballots, fund_unsupported=True)
    assert everything.funded == (1, 2, 4)  # 5 considered last, and nothing is left for it


def test_budget_ballot_validation() -> None:
    costs = {1: 500, 2: 300, 3: 400}
    assert validate_budget_ballot([1, 2], costs, 800) == ()
    assert codes(validate_budget_ballot([1, 3], costs, 800)) == [ProblemCode.OVER_BUDGET]
    assert codes(validate_budget_ballot([1, 1], costs, 800)) == [ProblemCode.DUPLICATE]
    assert codes(validate_budget_ballot([4], costs, 800)) == [ProblemCode.UNKNOWN_OPTION]
    with pytest.raises(InvalidBallotError):
        greedy_budget(costs, 800, [[1, 3]], max_ballot_cost=800)
    with pytest.raises(ValueError, match="at least 1p"):
        greedy_budget({1: 0}, 800, [])


# --- participatory budgeting: the Method of Equal Shares -------------------------------------


def test_mes_lackner_skowron_example_2_12() -> None:
    # Lackner & Skowron, Example 2.12 (abcvoting examples/abcbook/example212.py): 8 voters,
    # 3 x {c, d}, 2 x {a, b}, 2 x {a, c}, 1 x {b, d}; k = 3 (unit costs, budget 3).
    # MES buys c with q = 1/5, then a with q = 13/40, then nothing is affordable; budgets left
    # (7/40 x 3, 1/20 x 2, 0 x 2, 3/8).
    a, b, c, d = 1, 2, 3, 4
    ballots = [[c, d]] * 3 + [[a, b]] * 2 + [[a, c]] * 2 + [[b, d]]
    costs = dict.fromkeys((a, b, c, d), 1)
    result = equal_shares(costs, 3, ballots, completion="none")
    assert result.initial_share == result.share == Fraction(3, 8)
    assert [(p.option, p.max_payment) for p in result.purchases] == [
        (c, Fraction(1, 5)),
        (a, Fraction(13, 40)),
    ]
    assert [(g.ballot, g.payment) for g in result.purchases[1].payments] == [
        ((a, b), Fraction(13, 40)),
        ((a, c), Fraction(7, 40)),  # the poorer supporters pay all they have left
    ]
    assert {g.ballot: g.left for g in result.groups} == {
        (c, d): Fraction(7, 40),
        (a, b): Fraction(1, 20),
        (a, c): Fraction(0),
        (b, d): Fraction(3, 8),
    }
    assert result.funded == (c, a)
    assert result.remaining == 1
    # Completed (add1 overshoots at once with unit costs, so the greedy fill adds d, 4 votes to
    # b's 3), this instance is one where MES and greedy-by-votes fund the same set.
    completed = equal_shares(costs, 3, ballots, add1_step=1)
    assert (completed.funded, completed.completed, completed.add1_tries) == ((c, a, d), (d,), 1)
    assert set(greedy_budget(costs, 3, ballots).funded) == set(completed.funded)


def test_mes_lackner_skowron_example_2_11_stops_early() -> None:
    # Lackner & Skowron, Example 2.11 (abcvoting examples/abcbook/example211.py), the running
    # example with k = 4: the equal-shares phase buys only a (8 supporters pay 1/8 each);
    # then b and c each have 3 x 5/24 + 1/3 = 23/24 < 1 behind them.
    result = equal_shares(dict.fromkeys(range(1, 9), 1), 4, RUNNING_EXAMPLE, completion="none")
    assert result.funded == (A,)
    assert result.purchases[0].max_payment == Fraction(1, 8)
    assert result.purchases[0].payments[0].remaining == Fraction(5, 24)


def test_mes_and_greedy_differ_on_red_and_blue() -> None:
    # The motivating example of Peters & Skowron (Wikipedia, "Method of equal shares",
    # Motivation; equalshares.net): 51% approve 10 red projects, 49% approve 10 blue ones, the
    # money suffices for 10. Greedy funds the 10 red; equal shares funds 5 red and 5 blue.
    # Worked by hand with 100 voters, each project 100p, budget 1000p: shares are 10p. Red
    # voters pay 100/51 per red project and afford 5; blue voters pay 100/49 and afford 4
    # (5 x 100/49 > 10). add1 then tries 11p each: 5 red + 5 blue = 1000p fits, exhaustively.
    red, blue = list(range(1, 11)), list(range(11, 21))
    costs = dict.fromkeys(red + blue, 100)
    ballots = [red] * 51 + [blue] * 49
    assert greedy_budget(costs, 1000, ballots).funded == tuple(red)
    first_phase = equal_shares(costs, 1000, ballots, completion="none")
    assert first_phase.funded == (1, 2, 3, 4, 5, 11, 12, 13, 14)
    assert {p.max_payment for p in first_phase.purchases} == {Fraction(100, 51), Fraction(100, 49)}
    result = equal_shares(costs, 1000, ballots, add1_step=1)
    assert result.funded == (1, 2, 3, 4, 5, 11, 12, 13, 14, 15)
    assert (result.share, result.add1_tries, result.completed) == (Fraction(11), 1, ())
    assert {g.ballot: (g.paid, g.left) for g in result.groups} == {
        tuple(red): (Fraction(500, 51), Fraction(61, 51)),
        tuple(blue): (Fraction(500, 49), Fraction(39, 49)),
    }
    assert result.steps[1].kind == "add1"


def test_mes_approval_and_cost_utilities_differ() -> None:
    # Worked by hand: 3 voters, budget 300 (100 each). X = 1 costs 200 (voters 1, 2), Y = 2
    # costs 60 (voter 1), Z = 3 costs 100 (voter 3). Approval utilities: Y first (pays 60 <
    # 100), after which X has only 40 + 100 behind it. Cost utilities: X first (rho = 100/200 <
    # 60/60), after which voter 1 has nothing left for Y.
    costs = {1: 200, 2: 60, 3: 100}
    ballots = [[1, 2], [1], [3]]
    approval = equal_shares(costs, 300, ballots, completion="none")
    assert approval.funded == (2, 3)
    by_cost = equal_shares(costs, 300, ballots, utilities="cost", completion="none")
    assert by_cost.funded == (1, 3)
    assert by_cost.purchases[0].rho == Fraction(1, 2)


def test_mes_ties_go_to_the_cheaper_then_the_tie_order() -> None:
    # Two voters approving everything, budget 300 (150 each). With cost utilities options 1
    # (200) and 2 (100) tie on rho = 1/2; the cheaper, 2, is bought first.
    ballots = [[1, 2]] * 2
    by_cost = equal_shares({1: 200, 2: 100}, 300, ballots, utilities="cost", completion="none")
    assert [(p.option, p.rho) for p in by_cost.purchases] == [
        (2, Fraction(1, 2)),
        (1, Fraction(1, 2)),
    ]
    # Equal cost and supporters: the tie order decides, and only one fits.
    assert equal_shares({1: 200, 2: 200}, 200, ballots).funded == (1,)
    assert equal_shares({1: 200, 2: 200}, 200, ballots, tie_order=[2, 1]).funded == (2,)


def test_mes_with_no_ballots_funds_nothing() -> None:
    result = equal_shares({1: 100}, 100, [])
    assert (result.funded, result.voters, result.remaining) == ((), 0, 100)


# --- shared helpers --------------------------------------------------------------------------


def test_results_serialise_to_json_with_exact_fractions() -> None:
    result = equal_shares({1: 100, 2: 100}, 200, [[1], [1], [2]], completion="none")
    data = to_jsonable(result)
    assert json.loads(json.dumps(data)) == data
    assert isinstance(data, dict)
    assert data["initial_share"] == "200/3"
    assert data["purchases"][0]["max_payment"] == "50"  # type: ignore[index,call-overload]
    assert to_jsonable(instant_runoff([1, 2], [[1], [2, 1], [1]]))["winner"] == 1  # type: ignore[index,call-overload]


def test_tie_orders() -> None:
    assert tie_ranks([3, 1, 2]) == {1: 0, 2: 1, 3: 2}
    assert tie_ranks([3, 1], [9, 3, 1]) == {3: 0, 1: 1}
    with pytest.raises(ValueError, match="does not list"):
        tie_ranks([1, 2], [1])
    order = seeded_tie_order([1, 2, 3, 4, 5], "published-seed")
    assert sorted(order) == [1, 2, 3, 4, 5]
    assert order == seeded_tie_order([5, 4, 3, 2, 1], "published-seed")
    assert order != seeded_tie_order([1, 2, 3, 4, 5], "another-seed")


def test_format_money() -> None:
    assert format_money(123456) == "£1,234.56"
    assert format_money(Fraction(1000, 3)) == "≈£3.33"
    assert format_money(0) == "£0.00"
