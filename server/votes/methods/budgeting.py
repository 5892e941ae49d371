"""Participatory budgeting: greedy by votes, and the Method of Equal Shares.

Options have whole-pence costs (at least 1p); a ballot approves a set of options, each at most
once, optionally with a total cost of at most ``max_ballot_cost``. Every amount is exact: costs
and budgets are ``int`` pence, shares and payments are ``Fraction`` pence.

Greedy: options in order of approvals (most first), then the cheaper first, then the tie order;
each is funded if it still fits in what is left of the budget. Options nobody approved are not
funded unless ``fund_unsupported``.

Method of Equal Shares (Peters & Skowron 2020; Peters, Pierczyński & Skowron 2021), following
the reference computation of equalshares.net: the budget is split equally among all voters
(empty ballots included). Repeatedly, among options whose supporters can still pay for them,
fund the one minimising rho and charge each supporter ``min(their money, rho * u)``, where u is
the voter's utility: ``utilities="approval"`` takes u = 1, so rho is the most any supporter pays;
``utilities="cost"`` takes u = the option's cost, so rho is the most any supporter pays per
penny of cost. Ties on rho: the cheaper option, then the one with more supporters, then the tie
order.

Completion, as equalshares.net recommends ("add1" then greedy): while the outcome is not
exhaustive (an unfunded supported option still fits in what is left), rerun the method with each
voter's share raised to ``floor(budget / voters) + k * add1_step`` pence for k = 1, 2, ...,
keeping the last outcome whose cost fits the real budget and stopping at the first that does
not; then fill what is left greedily as above. ``add1_step`` defaults to 100p, one pound more
per voter each time (the reference adds one unit of currency); smaller steps are finer and
slower. ``completion="greedy"`` does only the greedy fill, ``"none"`` neither.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

from server.votes.methods.approval import approval_totals, validate_choice_ballot, validated_ballots
from server.votes.methods.types import (
    BallotProblem,
    Completion,
    EqualSharesResult,
    GreedyDecision,
    GreedyResult,
    GroupPayment,
    MesPurchase,
    OptionId,
    ProblemCode,
    Step,
    Utilities,
    VoterGroup,
    format_fraction,
    format_money,
    plural,
    tie_ranks,
)


def validate_budget_ballot(
    ballot: Sequence[OptionId],
    costs: Mapping[OptionId, int],
    max_cost: int | None,
    *,
    limit: int | None = None,
    allow_empty: bool = True,
) -> tuple[BallotProblem, ...]:
    """Why a budgeting ballot is invalid: unknown option, duplicate, over the limit, or (with
    ``max_cost``) choices costing more than ``max_cost`` pence in all."""
    problems = list(validate_choice_ballot(ballot, costs, limit=limit, allow_empty=allow_empty))
    if max_cost is not None:
        spent = sum(costs[o] for o in set(ballot) if o in costs)
        if spent > max_cost:
            problems.append(
                BallotProblem(
                    ProblemCode.OVER_BUDGET,
                    f"The choices cost {format_money(spent)}, over {format_money(max_cost)}.",
                )
            )
    return tuple(problems)


def _prepare(
    costs: Mapping[OptionId, int],
    budget: int,
    ballots: Iterable[Sequence[OptionId]],
    max_ballot_cost: int | None,
) -> list[tuple[OptionId, ...]]:
    if budget < 0:
        raise ValueError("The budget cannot be negative.")
    if any(cost < 1 for cost in costs.values()):
        raise ValueError("Every option must cost at least 1p.")
    return validated_ballots(ballots, lambda b: validate_budget_ballot(b, costs, max_ballot_cost))


def _greedy_fill(
    candidates: Iterable[OptionId],
    costs: Mapping[OptionId, int],
    votes: Mapping[OptionId, int],
    ranks: Mapping[OptionId, int],
    remaining: int,
) -> list[GreedyDecision]:
    decisions = []
    for option in sorted(candidates, key=lambda o: (-votes[o], costs[o], ranks[o])):
        funded = costs[option] <= remaining
        remaining -= costs[option] if funded else 0
        decisions.append(GreedyDecision(option, votes[option], costs[option], funded, remaining))
    return decisions


def _decision_step(d: GreedyDecision) -> Step:
    head = f"Option {d.option} ({plural(d.votes, 'vote')}, {format_money(d.cost)})"
    if d.funded:
        text, kind = f"{head}: funded; {format_money(d.remaining)} left.", "fund"
    else:
        text = f"{head}: not funded, it costs more than the {format_money(d.remaining)} left."
        kind = "skip"
    values = {"votes": d.votes, "cost": d.cost, "remaining": d.remaining}
    return Step(kind, text, d.option, dict(values))


def greedy_budget(
    costs: Mapping[OptionId, int],
    budget: int,
    ballots: Iterable[Sequence[OptionId]],
    *,
    max_ballot_cost: int | None = None,
    tie_order: Sequence[OptionId] | None = None,
    fund_unsupported: bool = False,
) -> GreedyResult:
    """Fund options by approvals (most first, then cheaper, then tie order) while they fit."""
    checked = _prepare(costs, budget, ballots, max_ballot_cost)
    votes = approval_totals(costs.keys(), checked)
    ranks = tie_ranks(costs.keys(), tie_order)
    candidates = [o for o in costs if fund_unsupported or votes[o] > 0]
    decisions = _greedy_fill(candidates, costs, votes, ranks, budget)
    funded = tuple(d.option for d in decisions if d.funded)
    spent = sum(costs[o] for o in funded)
    steps = [
        Step(
            "setup",
            f"Budget {format_money(budget)}; {plural(len(checked), 'ballot')}; options in "
            "order of votes, the cheaper first on equal votes, then the tie order.",
            values={"budget": budget, "ballots": len(checked)},
        )
    ]
    steps += [_decision_step(d) for d in decisions]
    unsupported = tuple(sorted(o for o in costs if o not in candidates))
    if unsupported:
        steps.append(
            Step(
                "unsupported",
                f"No votes, not considered: options {', '.join(map(str, unsupported))}.",
                values={"options": unsupported},
            )
        )
    steps.append(_summary(funded, spent, budget))
    return GreedyResult(
        budget, funded, tuple(decisions), spent, budget - spent, votes, tuple(steps)
    )


def _summary(funded: Sequence[OptionId], spent: int, budget: int) -> Step:
    return Step(
        "result",
        f"Funded {plural(len(funded), 'option')} costing {format_money(spent)}; "
        f"{format_money(budget - spent)} of {format_money(budget)} unspent.",
        values={"funded": tuple(funded), "total_cost": spent, "remaining": budget - spent},
    )


def _max_payment(cost: int, pool: Sequence[tuple[Fraction, int]]) -> Fraction | None:
    """The least q with sum(voters · min(money, q)) == cost, or None if the pool is too poor.

    ``pool`` lists (each voter's money, voters) for the supporters. Start from an equal split;
    whoever cannot afford it pays all they have and the rest split what is still due; repeat
    until everyone left can pay (each pass only moves poorer voters, so it ends).
    """
    due, payers = Fraction(cost), sum(count for _, count in pool)
    while payers:
        q = due / payers
        top, bottom = q.numerator, q.denominator  # each < q, in integers (this is the hot loop)
        poor = [(e, c) for e, c in pool if e.numerator * bottom < top * e.denominator]
        if not poor:
            return q
        due -= sum(each * count for each, count in poor)
        payers -= sum(count for _, count in poor)
        pool = [(e, c) for e, c in pool if e.numerator * bottom >= top * e.denominator]
    return None


def _run(
    costs: Mapping[OptionId, int],
    groups: Sequence[tuple[tuple[OptionId, ...], int]],
    share: Fraction,
    utilities: Utilities,
    ranks: Mapping[OptionId, int],
) -> tuple[list[MesPurchase], list[Fraction]]:
    """One run of the method of equal shares with ``share`` pence per voter.

    Money only goes down, so an option's rho only goes up: a rho computed earlier is a lower
    bound, and options are examined in order of that bound until none can beat the best so far
    (the pruning of the equalshares.net reference code). Only options sharing a voter with the
    last purchase need their rho recomputed.
    """
    money = [share] * len(groups)
    backers: dict[OptionId, list[int]] = {o: [] for o in costs}
    for index, (ballot, _) in enumerate(groups):
        for option in ballot:
            backers[option].append(index)
    supporters = {o: sum(groups[i][1] for i in backers[o]) for o in costs}
    candidates = {o for o in costs if supporters[o] > 0}
    keys: dict[OptionId, tuple[Fraction, int, int, int]] = {
        o: (Fraction(0), costs[o], -supporters[o], ranks[o]) for o in candidates
    }
    payments_due: dict[OptionId, Fraction] = {}
    stale = set(candidates)
    purchases: list[MesPurchase] = []
    while candidates:
        best: OptionId | None = None
        for option in sorted(candidates, key=keys.__getitem__):
            if best is not None and keys[option] >= keys[best]:
                break
            if option in stale:
                pool = [(money[i], groups[i][1]) for i in backers[option]]
                q = _max_payment(costs[option], pool)
                if q is None:  # money only ever goes down: never affordable again
                    candidates.discard(option)
                    continue
                rho = q if utilities == "approval" else q / costs[option]
                keys[option] = (rho, *keys[option][1:])
                payments_due[option] = q
                stale.discard(option)
            if best is None or keys[option] < keys[best]:
                best = option
        if best is None:
            break
        candidates.discard(best)
        q = payments_due[best]
        payments = []
        for i in backers[best]:
            paid = min(money[i], q)
            money[i] -= paid
            payments.append(GroupPayment(groups[i][0], groups[i][1], paid, money[i]))
            if paid:
                stale.update(groups[i][0])
        purchases.append(
            MesPurchase(
                len(purchases) + 1,
                best,
                costs[best],
                supporters[best],
                q,
                keys[best][0],
                tuple(payments),
            )
        )
    return purchases, money


def equal_shares(
    costs: Mapping[OptionId, int],
    budget: int,
    ballots: Iterable[Sequence[OptionId]],
    *,
    utilities: Utilities = "approval",
    completion: Completion = "add1",
    add1_step: int = 100,
    max_ballot_cost: int | None = None,
    tie_order: Sequence[OptionId] | None = None,
) -> EqualSharesResult:
    """The Method of Equal Shares with approval ballots; see the module docstring."""
    if add1_step < 1:
        raise ValueError("add1_step must be at least 1p.")
    checked = _prepare(costs, budget, ballots, max_ballot_cost)
    votes = approval_totals(costs.keys(), checked)
    ranks = tie_ranks(costs.keys(), tie_order)
    groups = sorted(Counter(tuple(sorted(b)) for b in checked).items())
    voters = len(checked)
    initial = Fraction(budget, voters) if voters else Fraction(0)

    def cost_of(purchases: Sequence[MesPurchase]) -> int:
        return sum(p.cost for p in purchases)

    def exhaustive(purchases: Sequence[MesPurchase]) -> bool:
        bought, left = {p.option for p in purchases}, budget - cost_of(purchases)
        return all(o in bought or votes[o] == 0 or costs[o] > left for o in costs)

    share = initial
    purchases, money = _run(costs, groups, share, utilities, ranks) if voters else ([], [])
    tries = 0
    if completion == "add1" and voters:
        base = budget // voters
        while not exhaustive(purchases):
            tries += 1
            raised = Fraction(base + tries * add1_step)
            attempt, attempt_money = _run(costs, groups, raised, utilities, ranks)
            if cost_of(attempt) > budget:
                break
            share, purchases, money = raised, attempt, attempt_money
    bought = {p.option for p in purchases}
    fill: list[GreedyDecision] = []
    if completion != "none":
        candidates = [o for o in costs if o not in bought and votes[o] > 0]
        fill = _greedy_fill(candidates, costs, votes, ranks, budget - cost_of(purchases))
    completed = tuple(d.option for d in fill if d.funded)
    funded = tuple(p.option for p in purchases) + completed
    spent = sum(costs[o] for o in funded)
    result_groups = tuple(
        VoterGroup(ballot, count, share - money[i], money[i])
        for i, (ballot, count) in enumerate(groups)
    )
    steps = _mes_steps(budget, voters, initial, share, tries, completion, purchases, fill)
    steps.append(_summary(funded, spent, budget))
    return EqualSharesResult(
        budget, voters, utilities, completion, initial, share, tries, funded, tuple(purchases),
        completed, result_groups, spent, budget - spent, votes, tuple(steps),
    )  # fmt: skip


def _mes_steps(
    budget: int,
    voters: int,
    initial: Fraction,
    share: Fraction,
    tries: int,
    completion: Completion,
    purchases: Sequence[MesPurchase],
    fill: Sequence[GreedyDecision],
) -> list[Step]:
    steps = [
        Step(
            "setup",
            f"Budget {format_money(budget)} shared equally among {plural(voters, 'voter')}: "
            f"{format_money(initial)} each.",
            values={"budget": budget, "voters": voters, "share": initial},
        )
    ]
    if tries:
        kept = "the original share" if share == initial else f"{format_money(share)} each"
        steps.append(
            Step(
                "add1",
                "Completion (add1): the outcome left money for another supported option, so the "
                f"count was rerun with each share raised; after {plural(tries, 'try', 'tries')}, "
                f"{kept} is the largest whose outcome fits the budget. The rounds below use it.",
                values={"share": share, "tries": tries},
            )
        )
    for p in purchases:
        steps.append(
            Step(
                "fund",
                f"Round {p.round}: option {p.option} funded ({format_money(p.cost)}, "
                f"{plural(p.supporters, 'supporter')}); each pays at most "
                f"{format_money(p.max_payment)}, ρ = {format_fraction(p.rho)}.",
                p.option,
                {"round": p.round, "cost": p.cost, "max_payment": p.max_payment, "rho": p.rho},
            )
        )
        for g in p.payments:
            steps.append(
                Step(
                    "payment",
                    f"Voters approving {', '.join(map(str, g.ballot))} ({g.voters:,}): paid "
                    f"{format_money(g.payment)} each, {format_money(g.remaining)} left.",
                    p.option,
                    {
                        "ballot": g.ballot,
                        "voters": g.voters,
                        "payment": g.payment,
                        "remaining": g.remaining,
                    },
                )
            )
    steps.append(Step("stop", "No other option can be paid for by its supporters' shares."))
    if fill:
        steps.append(Step("complete", f"Completion ({completion}): the rest filled greedily."))
        steps += [_decision_step(d) for d in fill]
    return steps
