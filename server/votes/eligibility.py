"""Who may vote in a ballot, checked against the person's live verifications at the moment of
casting. Rules are data on the ballot (``Ballot.eligibility``):

- ``{}``: any signed-in resident (a light account only within its own call);
- ``{"verified": true}``: anyone holding a current verification;
- ``{"postcode_areas": ["EX", "TR"]}``: a current verification of a postcode area in the list;
- ``{"min_age": 16}``: a current verification showing that age (``over_16``, or a birth year
  old enough whatever the birthday);
- ``{"member_of": "honiton-traders"}``: a current verification of that membership.
Rules combine with AND; each may be met by a different verification.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from server.errors import Forbidden, ValidationFailed
from server.identity.models import Account, AccountKind

KNOWN_RULES = {"verified", "postcode_areas", "min_age", "member_of"}


class NotEligible(Forbidden):
    code = "NOT_ELIGIBLE"


def check_rules(rules: dict[str, Any]) -> dict[str, Any]:
    """Validate an organiser's rules before they are saved."""
    unknown = set(rules) - KNOWN_RULES
    if unknown:
        raise ValidationFailed(
            f"Unknown eligibility rule: {', '.join(sorted(unknown))}.", field="eligibility"
        )
    areas = rules.get("postcode_areas")
    if areas is not None and (
        not isinstance(areas, list)
        or not areas
        or not all(isinstance(a, str) and a.isalpha() and len(a) <= 2 for a in areas)
    ):
        raise ValidationFailed(
            "Postcode areas are one or two letters, like EX.", field="eligibility"
        )
    age = rules.get("min_age")
    if age is not None and not (isinstance(age, int) and 0 < age < 120):
        raise ValidationFailed("Minimum age must be a whole number of years.", field="eligibility")
    return {**rules, **({"postcode_areas": [a.upper() for a in areas]} if areas else {})}


def _old_enough(claims: Mapping[str, Any], min_age: int, today: dt.date) -> bool:
    if min_age <= 16 and claims.get("over_16") is True:
        return True
    year = claims.get("birth_year")
    # Without the birthday, only a birth year that makes them old enough on any day counts.
    return isinstance(year, int) and today.year - year - 1 >= min_age


def describe(rules: dict[str, Any]) -> str:
    if not rules:
        return "Anyone signed in can vote."
    parts = []
    if rules.get("verified"):
        parts.append("hold a current verification")
    if areas := rules.get("postcode_areas"):
        parts.append(f"live in postcode area {' or '.join(areas)}")
    if age := rules.get("min_age"):
        parts.append(f"be {age} or over")
    if org := rules.get("member_of"):
        parts.append(f"be a verified member of {org}")
    return "To vote you must " + ", and ".join(parts) + "."


def require_eligible(
    rules: dict[str, Any],
    account: Account,
    claims: Sequence[Mapping[str, Any]],
    *,
    call_id: int,
    today: dt.date,
) -> None:
    """``claims``: those of the person's live verifications."""
    if account.deleted_at is not None:
        raise NotEligible("This account has been deleted.")
    if account.kind == AccountKind.LIGHT and account.light_call_id != call_id:
        raise NotEligible("Your venue sign-in only lets you vote in the call it was made for.")
    if rules.get("verified") and not claims:
        raise NotEligible("Only verified residents can vote in this ballot. " + describe(rules))
    if (areas := rules.get("postcode_areas")) and not any(
        c.get("postcode_area") in areas for c in claims
    ):
        raise NotEligible(
            "This ballot is for residents of postcode area "
            f"{' or '.join(areas)}, verified. " + describe(rules)
        )
    if (age := rules.get("min_age")) and not any(_old_enough(c, age, today) for c in claims):
        raise NotEligible(
            f"This ballot is for people aged {age} or over, verified. " + describe(rules)
        )
    if (org := rules.get("member_of")) and not any(c.get("member_of") == org for c in claims):
        raise NotEligible(f"This ballot is for verified members of {org}.")
