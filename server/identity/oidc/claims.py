"""How a provider's claims become Moot verification claims: coarse (a postcode area, a year of
birth, over 16), and never an identifier or the raw value; and the email address a provider
vouches for."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from server.errors import ValidationFailed
from server.identity import service
from server.identity.oidc.config import Provider

_POSTCODE_AREA = re.compile(r"^([A-Z]{1,2})[0-9]")
_BIRTHDATE = re.compile(r"^(\d{4})(?:-(\d{2})-(\d{2}))?$")


def _lookup(claims: Mapping[str, Any], path: str) -> Any:
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _birthdate_claims(value: object, today: dt.date) -> dict[str, Any]:
    match = _BIRTHDATE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        return {}
    year = int(match.group(1))
    found: dict[str, Any] = {}
    if 1900 <= year <= today.year:  # "0000-MM-DD" means the year was withheld
        found["birth_year"] = year
    if match.group(2) is not None and "birth_year" in found:
        try:
            born = dt.date(year, int(match.group(2)), int(match.group(3)))
        except ValueError:
            return {}
        found["over_16"] = _age_on(born, today) >= 16
    elif "birth_year" in found and today.year - year > 16:
        found["over_16"] = True  # 17 or more this year: over 16 whatever the day
    return found


def map_claims(provider: Provider, claims: Mapping[str, Any], *, today: dt.date) -> dict[str, Any]:
    """Moot's verification claims from a provider's: coarse, and never an identifier."""
    mapped: dict[str, Any] = {"provider": provider.name}
    for path, kind in provider.claims.items():
        value = _lookup(claims, path)
        if value is None:
            continue
        if kind == "postcode" and isinstance(value, str):
            area = _POSTCODE_AREA.match(re.sub(r"\s+", "", value).upper())
            if area:
                mapped.setdefault("postcode_area", area.group(1))
        elif kind == "birthdate":
            for key, found in _birthdate_claims(value, today).items():
                mapped.setdefault(key, found)
        elif kind == "member_of" and isinstance(value, str) and 0 < len(value.strip()) <= 200:
            mapped.setdefault("member_of", value.strip())
    return mapped


def verified_email(claims: Mapping[str, Any]) -> str | None:
    """The email address, only when the provider says it has verified it."""
    if claims.get("email_verified") not in (True, "true"):
        return None
    email = claims.get("email")
    if not isinstance(email, str):
        return None
    try:
        return service.normalise_email(email)
    except ValidationFailed:
        return None
