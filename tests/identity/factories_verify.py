"""Private helpers for the register, code, micro-participation and verification page tests."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.identity import registers
from server.identity.keys import Keys
from server.web import LONDON

KEYS = Keys(secret=b"test-secret-for-verification", identity_pepper=b"test-pepper-verify")
HEADER = ("name", "date_of_birth", "postcode", "reference")

# Raw register rows: none of these strings may ever be stored.
ALICE = ("Alice O'Brien-Smith", "1990-03-27", "EX14 1AB", "HON-4471-A")
BOB = ("Bób Ångström", "1985-11-02", "tr1 2he", "HON-5502-B")
CAROL = ("Carol Nguyen", "2001-07-15", "EX2 4QT", "")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    return now().astimezone(LONDON).date()


def csv_bytes(rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


async def upload(
    session: AsyncSession,
    rows: Sequence[Sequence[str]],
    *,
    slug: str = "east-devon",
    name: str = "East Devon electoral register",
    keys: Keys = KEYS,
    uploaded_by: int | None = None,
) -> registers.UploadResult:
    return await registers.upload_register(
        session,
        keys,
        slug=slug,
        name=name,
        source=io.BytesIO(csv_bytes(rows)),
        uploaded_by=uploaded_by,
        now=now(),
    )


def details(
    row: Sequence[str], *, by_reference: bool = False, **changes: object
) -> registers.MatchDetails:
    """What the resident on ``row`` would type."""
    name, born, postcode, reference = row
    values: dict[str, object] = {
        "date_of_birth": dt.date.fromisoformat(born),
        "name": "" if by_reference else name,
        "postcode": "" if by_reference else postcode,
        "reference": reference if by_reference else "",
    }
    values.update(changes)
    return registers.MatchDetails(**values)  # type: ignore[arg-type]


def form_of(row: Sequence[str], *, by_reference: bool = False) -> dict[str, str]:
    """The register form as a resident would fill it in."""
    name, born, postcode, reference = row
    year, month, day = born.split("-")
    return {
        "dob_day": day.lstrip("0"),
        "dob_month": month.lstrip("0"),
        "dob_year": year,
        "name": "" if by_reference else name,
        "postcode": "" if by_reference else postcode,
        "reference": reference if by_reference else "",
    }


async def table_text(session: AsyncSession, table: str) -> str:
    """Every column of every row of ``table`` as JSON text, for scanning."""
    assert table.isidentifier()
    result = await session.scalar(
        text(f"SELECT coalesce(json_agg(t)::text, '') FROM {table} t")  # noqa: S608
    )
    return str(result)


def raw_strings(*rows: Sequence[str]) -> list[str]:
    """Each uploaded value, as written and in the forms normalisation makes of it."""
    found: list[str] = []
    for name, born, postcode, reference in rows:
        found += [name, born, postcode, postcode.replace(" ", "").upper()]
        found.append(registers.normalise_name(name))
        found += [part for part in name.split() if len(part) > 2]
        if reference:
            found += [reference, registers.normalise_reference(reference)]
    return found
