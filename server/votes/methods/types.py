"""Shared pieces of the vote-counting methods: steps, ballot problems, tie orders, JSON.

Every method in this package is a pure function of its inputs: no database, no clock, no
randomness except from a seed that is passed in. Anything that decides a winner is computed with
``int`` and ``fractions.Fraction``; floats appear only in the opinion map of statement voting.

Tie order, used by every method: a tie is always resolved in favour of the option that comes
*first* in the tie order. The default tie order is ascending option id (the option created first
wins ties); a vote may instead publish a seed and use ``seeded_tie_order(options, seed)``, a
lexicographic order of SHA-256 digests that anyone can recompute.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

OptionId = int
# A flat value a step may carry for a results table: exact numbers, text, a list of option ids;
# floats only in statement voting, where nothing is decided by them.
StepValue = int | Fraction | float | str | bool | None | tuple[int, ...]
JsonValue = int | float | str | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


@dataclass(frozen=True)
class Step:
    """One explained step of a count: a sentence for people plus the numbers behind it.

    ``kind`` is a short machine-readable tag (for example ``"round"``, ``"eliminate"``,
    ``"elect"``, ``"fund"``, ``"skip"``, ``"complete"``); ``option`` is the option the step is
    about, if any; ``values`` holds the exact figures the sentence quotes, keyed by column name.
    """

    kind: str
    message: str
    option: OptionId | None = None
    values: Mapping[str, StepValue] = field(default_factory=dict)


class ProblemCode(enum.StrEnum):
    UNKNOWN_OPTION = "unknown_option"
    DUPLICATE = "duplicate"
    OVER_LIMIT = "over_limit"
    OVER_BUDGET = "over_budget"
    EMPTY = "empty"
    BAD_VALUE = "bad_value"


@dataclass(frozen=True)
class BallotProblem:
    """Why a ballot is invalid, in words and as a code; ``option`` names the offending option."""

    code: ProblemCode
    message: str
    option: OptionId | None = None


class InvalidBallotError(ValueError):
    """A counting function was given a ballot that its validator rejects.

    Counting never silently drops a ballot: exported ballots are supposed to have been validated
    when cast, so an invalid one means the export (or the caller) is wrong.
    """

    def __init__(self, index: int, problems: Sequence[BallotProblem]) -> None:
        self.index = index
        self.problems = tuple(problems)
        reasons = "; ".join(p.message for p in self.problems)
        super().__init__(f"Ballot {index} is invalid: {reasons}")


def check_options(options: Iterable[OptionId]) -> tuple[OptionId, ...]:
    """The options as a tuple, after checking that there are no duplicate ids."""
    result = tuple(options)
    if len(set(result)) != len(result):
        raise ValueError("Option ids must be unique.")
    return result


def tie_ranks(
    options: Collection[OptionId], tie_order: Sequence[OptionId] | None = None
) -> dict[OptionId, int]:
    """Position of each option in the tie order (0 = wins every tie).

    Without ``tie_order`` the order is ascending option id. A given ``tie_order`` must list every
    option exactly once (it may list other ids too, which are ignored).
    """
    if tie_order is None:
        return {option: i for i, option in enumerate(sorted(options))}
    order = tuple(tie_order)
    if len(set(order)) != len(order):
        raise ValueError("The tie order lists an option twice.")
    missing = set(options) - set(order)
    if missing:
        raise ValueError(f"The tie order does not list options {sorted(missing)}.")
    wanted = set(options)
    return {option: i for i, option in enumerate(o for o in order if o in wanted)}


def seeded_tie_order(options: Iterable[OptionId], seed: str) -> tuple[OptionId, ...]:
    """A published, recomputable tie order: options sorted by SHA-256 of ``"{seed}:{id}"``."""

    def key(option: OptionId) -> tuple[str, OptionId]:
        digest = hashlib.sha256(f"{seed}:{option}".encode()).hexdigest()
        return digest, option

    return tuple(sorted(set(options), key=key))


def format_money(pence: int | Fraction) -> str:
    """Pence as pounds for people: ``£1,234.56``; an amount that is not a whole number of pence
    is rounded to the nearest penny and marked with ``≈``."""
    amount = Fraction(pence)
    rounded = round(amount)  # Fraction.__round__ rounds half to even: exact and deterministic
    sign = "-" if rounded < 0 else ""
    pounds, pennies = divmod(abs(rounded), 100)
    text = f"{sign}£{pounds:,}.{pennies:02d}"
    return text if rounded == amount else f"≈{text}"


def format_fraction(value: Fraction) -> str:
    """An exact number for a sentence: ``3``, or ``100/33 (≈3.03)``."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator} (≈{float(value):.2f})"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


def to_jsonable(value: Any) -> JsonValue:
    """Any result of this package as plain JSON data.

    Fractions become exact strings (``"100/33"``, or ``"3"`` for whole numbers) so a verifier can
    compare published results exactly; mapping keys become strings; sets become sorted lists;
    dataclasses become objects with their fields; enums become their values.
    """
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Fraction):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return [to_jsonable(v) for v in sorted(value)]
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    raise TypeError(f"Cannot turn {type(value).__name__} into JSON.")


# --- participatory budgeting results ---------------------------------------------------------

Utilities = Literal["approval", "cost"]
Completion = Literal["add1", "greedy", "none"]


@dataclass(frozen=True)
class GreedyDecision:
    option: OptionId
    votes: int
    cost: int
    funded: bool
    remaining: int  # budget left after this decision


@dataclass(frozen=True)
class GreedyResult:
    budget: int
    funded: tuple[OptionId, ...]  # in the order they were funded
    decisions: tuple[GreedyDecision, ...]
    total_cost: int
    remaining: int
    votes: dict[OptionId, int]
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class GroupPayment:
    """What each voter of one group (voters with the same ballot) paid towards one option."""

    ballot: tuple[OptionId, ...]
    voters: int
    payment: Fraction  # each
    remaining: Fraction  # each voter's money left afterwards


@dataclass(frozen=True)
class MesPurchase:
    round: int
    option: OptionId
    cost: int
    supporters: int
    max_payment: Fraction  # the most any supporter paid
    rho: Fraction  # max_payment (approval utilities) or max_payment / cost (cost utilities)
    payments: tuple[GroupPayment, ...]  # every group of supporters, in ballot order


@dataclass(frozen=True)
class VoterGroup:
    ballot: tuple[OptionId, ...]
    voters: int
    paid: Fraction  # by each voter, in equal-shares purchases of the final run
    left: Fraction  # each voter's unspent share


@dataclass(frozen=True)
class EqualSharesResult:
    budget: int
    voters: int
    utilities: Utilities
    completion: Completion
    initial_share: Fraction  # budget / voters
    share: Fraction  # each voter's share in the final run (raised by add1 completion)
    add1_tries: int  # raised shares tried by add1 completion
    funded: tuple[OptionId, ...]  # equal-shares purchases, then the greedy fill, in order
    purchases: tuple[MesPurchase, ...]
    completed: tuple[OptionId, ...]  # options added by the greedy fill
    groups: tuple[VoterGroup, ...]
    total_cost: int
    remaining: int
    votes: dict[OptionId, int]
    steps: tuple[Step, ...]
