"""Vote-counting methods: pure functions from options and ballots to explained results.

No database, no web, no clock. Every method validates its ballots (raising
``InvalidBallotError`` for the first invalid one), decides ties by a documented rule ending in
the tie order (ascending option id unless a ``tie_order`` is given, for example
``seeded_tie_order(options, seed)``), computes anything that decides a winner with ``int`` and
``Fraction``, and returns a frozen dataclass whose ``steps`` explain the count in sentences
backed by exact figures. ``to_jsonable(result)`` turns any result into JSON data (Fractions as
exact strings), so a published result can be recomputed and compared.
"""

from server.votes.methods.approval import (
    ApprovalResult,
    RankedOption,
    SupportResult,
    SupportTally,
    count_approval,
    count_support,
    validate_approval_ballot,
    validate_choice_ballot,
)
from server.votes.methods.budgeting import equal_shares, greedy_budget, validate_budget_ballot
from server.votes.methods.ranked import IrvResult, IrvRound, instant_runoff, validate_ranking
from server.votes.methods.statements import (
    OpinionGroup,
    OpinionMap,
    ParticipantPoint,
    StatementScore,
    StatementShare,
    opinion_groups,
)
from server.votes.methods.types import (
    BallotProblem,
    EqualSharesResult,
    GreedyDecision,
    GreedyResult,
    GroupPayment,
    InvalidBallotError,
    MesPurchase,
    ProblemCode,
    Step,
    VoterGroup,
    format_money,
    seeded_tie_order,
    tie_ranks,
    to_jsonable,
)

__all__ = [
    "ApprovalResult",
    "BallotProblem",
    "EqualSharesResult",
    "GreedyDecision",
    "GreedyResult",
    "GroupPayment",
    "InvalidBallotError",
    "IrvResult",
    "IrvRound",
    "MesPurchase",
    "OpinionGroup",
    "OpinionMap",
    "ParticipantPoint",
    "ProblemCode",
    "RankedOption",
    "StatementScore",
    "StatementShare",
    "Step",
    "SupportResult",
    "SupportTally",
    "VoterGroup",
    "count_approval",
    "count_support",
    "equal_shares",
    "format_money",
    "greedy_budget",
    "instant_runoff",
    "opinion_groups",
    "seeded_tie_order",
    "tie_ranks",
    "to_jsonable",
    "validate_approval_ballot",
    "validate_budget_ballot",
    "validate_choice_ballot",
    "validate_ranking",
]
