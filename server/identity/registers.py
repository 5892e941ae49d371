"""Register match: verify residents against an electoral or council register.

An admin uploads the register as CSV (``name``, ``date_of_birth``, ``postcode`` and optionally
``reference``). We never keep what it says: each row becomes a keyed hash of the normalised name,
date of birth and postcode (``match_key``), a keyed hash of the council reference if there is one
(``reference_key``), and the coarse claims a verification may carry (postcode area, birth year).
A resident who types the same details (or their reference and date of birth) is matched by
hashing what they typed the same way.

The verification's identity key is derived from ``match_key`` alone (not from a row id or the
register), so replacing a register's rows leaves every verification valid, and the same resident
on two registers is still one real-world identity.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.audit.models import AuditEntry
from server.errors import ValidationFailed
from server.identity.keys import Keys
from server.identity.models import (
    Account,
    Register,
    RegisterEntry,
    Verification,
    VerificationConflict,
)
from server.identity.verification import VerifiedIdentity, attach

METHOD = "register"
REQUIRED_COLUMNS = ("name", "date_of_birth", "postcode")
OPTIONAL_COLUMNS = ("reference",)
MAX_PROBLEMS = 10
_CHUNK = 5000
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Outward code (area letters, district) and inward code (sector digit, two unit letters).
_POSTCODE = re.compile(r"^(?:[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}|GIR0AA)$")
# Letters that NFKD does not decompose into a base letter and accents.
_TRANSLITERATE = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ŀ": "l"}
)
OLDEST = dt.date(1880, 1, 1)


# --- Normalisation: the same for the uploaded file and for what a resident types ------------


def normalise_name(raw: str) -> str:
    """Casefolded, without accents, spacing or punctuation: "O'Brien-Smith", "o brien smith" and
    "OBRIEN SMITH" are one name, as are "Zoë" and "Zoe"."""
    decomposed = unicodedata.normalize("NFKD", raw)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = bare.casefold().translate(_TRANSLITERATE)
    return "".join(ch for ch in folded if ch.isalnum())


def normalise_postcode(raw: str) -> str | None:
    """Upper case without spaces ("ex14 1ab" becomes "EX141AB"), or None if it is not shaped
    like a UK postcode."""
    postcode = re.sub(r"\s+", "", raw).upper()
    return postcode if _POSTCODE.match(postcode) else None


def postcode_area(postcode: str) -> str:
    """The letters before the first digit: "EX" for EX14 1AB, "TR" for TR1 2HE."""
    match = re.match(r"[A-Z]+", postcode)
    return match.group(0) if match else ""


def parse_date(raw: str) -> dt.date | None:
    """Only YYYY-MM-DD, and only real dates."""
    text = raw.strip()
    if not _ISO_DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def normalise_reference(raw: str) -> str:
    return re.sub(r"[\s\-/.]+", "", raw).upper()


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def match_key(keys: Keys, name: str, born: dt.date, postcode: str) -> str:
    """``name`` and ``postcode`` already normalised."""
    return keys.identity_key("register-row", f"{name}|{born.isoformat()}|{postcode}")


def reference_key(keys: Keys, reference: str) -> str:
    return keys.identity_key("register-ref", reference)


def identity_key(keys: Keys, row_match_key: str) -> str:
    """The verification's key: the same resident is the same identity in every upload."""
    return keys.identity_key(METHOD, row_match_key)


# --- Upload -------------------------------------------------------------------------------


class RegisterFileInvalid(ValidationFailed):
    """The file cannot be used; ``problems`` names each line and what is wrong with it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        message = problems[0]
        if len(problems) > 1:
            more = len(problems) - 1
            message = f"{message} (and {more} more problem{'' if more == 1 else 's'}, listed below)"
        super().__init__(message, field="file")


@dataclass(slots=True)
class ParsedRegister:
    # (match_key, reference_key, postcode area, birth year): tuples, as a register is large.
    entries: list[tuple[str, str | None, str, int]] = field(default_factory=list)
    duplicates: int = 0


@dataclass(frozen=True, slots=True)
class UploadResult:
    register: Register
    rows: int
    duplicates: int
    replaced: bool


def _lines(source: IO[bytes]) -> Iterator[str]:
    """Decode line by line, so a bad byte is reported on its own line."""
    for number, raw in enumerate(source, start=1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise RegisterFileInvalid(
                [
                    f"Line {number}: this is not UTF-8 text. Save the file as “CSV UTF-8” and "
                    "upload it again."
                ]
            ) from None


def _rows(source: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(_lines(source), strict=True)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise RegisterFileInvalid(
            [f"Line {reader.line_num}: this line could not be read as CSV ({exc})."]
        ) from None


def parse_register(keys: Keys, source: IO[bytes], *, today: dt.date) -> ParsedRegister:
    """Read and check the whole file, streaming; keep only hashes and coarse claims.

    Raises :class:`RegisterFileInvalid` naming each bad line (up to ``MAX_PROBLEMS``)."""
    rows = _rows(source)
    header: list[str] | None = None
    for _, row in rows:
        if any(cell.strip() for cell in row):
            header = [cell.strip().lower().replace(" ", "_") for cell in row]
            break
    if header is None:
        raise RegisterFileInvalid(["The file is empty."])
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        names = " and ".join(missing)
        raise RegisterFileInvalid(
            [
                f"Line 1: there is no {names} column. The first line must name the columns "
                "name, date_of_birth and postcode (and, if you have them, reference)."
            ]
        )
    index = {c: header.index(c) for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in header}
    parsed = ParsedRegister()
    seen: dict[str, int] = {}
    references: dict[str, int] = {}
    problems: list[str] = []
    for line, row in rows:
        if len(problems) >= MAX_PROBLEMS:
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(
                f"Line {line}: it has {len(row)} values but the first line names "
                f"{len(header)} columns."
            )
            continue
        name = normalise_name(row[index["name"]])
        born = parse_date(row[index["date_of_birth"]])
        postcode = normalise_postcode(row[index["postcode"]])
        if not name:
            problems.append(f"Line {line}: the name is empty.")
        if born is None:
            problems.append(
                f"Line {line}: the date_of_birth is not a date written YYYY-MM-DD, "
                "such as 1990-03-27."
            )
        elif not OLDEST <= born <= today:
            problems.append(f"Line {line}: the date_of_birth is not a possible date of birth.")
        if postcode is None:
            problems.append(f"Line {line}: the postcode is not a UK postcode.")
        if not name or born is None or postcode is None or not OLDEST <= born <= today:
            continue
        row_key = match_key(keys, name, born, postcode)
        reference = normalise_reference(row[index["reference"]]) if "reference" in index else ""
        ref_key = reference_key(keys, reference) if reference else None
        if ref_key is not None:
            first = references.setdefault(ref_key, line)
            if first != line and seen.get(row_key) != first:
                problems.append(f"Line {line}: the reference is the same as on line {first}.")
                continue
        if row_key in seen:
            # The same person listed twice (the same name, date of birth and postcode).
            parsed.duplicates += 1
            continue
        seen[row_key] = line
        parsed.entries.append((row_key, ref_key, postcode_area(postcode), born.year))
    if problems:
        raise RegisterFileInvalid(problems[:MAX_PROBLEMS])
    if not parsed.entries:
        raise RegisterFileInvalid(["The file has a header line but no people in it."])
    return parsed


async def upload_register(
    session: AsyncSession,
    keys: Keys,
    *,
    slug: str,
    name: str,
    source: IO[bytes],
    uploaded_by: int | None,
    now: dt.datetime,
) -> UploadResult:
    """Create the register ``slug``, or replace all its rows, in the caller's transaction.

    The file is checked in full before anything is written. Verifications made from earlier
    uploads are not touched (their keys do not depend on rows)."""
    slug = slug.strip()
    label = " ".join(name.split())
    errors: dict[str, str] = {}
    if not _SLUG.match(slug) or len(slug) > 80:
        errors["slug"] = (
            "Enter a short name of lower-case letters, numbers and hyphens, like "
            "east-devon-electoral."
        )
    if not label or len(label) > 200:
        errors["name"] = "Enter the register’s name (up to 200 characters)."
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    # Parsing hashes every row: off the event loop, so other requests carry on.
    parsed = await asyncio.to_thread(parse_register, keys, source, today=now.date())

    register = await session.scalar(select(Register).where(Register.slug == slug).with_for_update())
    replaced = register is not None
    if register is None:
        register = Register(slug=slug, name=label)
        session.add(register)
        await session.flush()
    else:
        await session.execute(delete(RegisterEntry).where(RegisterEntry.register_id == register.id))
    register.name = label
    register.uploaded_by = uploaded_by
    register.row_count = len(parsed.entries)
    for start in range(0, len(parsed.entries), _CHUNK):
        chunk = parsed.entries[start : start + _CHUNK]
        await session.execute(
            insert(RegisterEntry),
            [
                {
                    "register_id": register.id,
                    "match_key": row_key,
                    "reference_key": ref_key,
                    "claims": {"postcode_area": area, "birth_year": year},
                }
                for row_key, ref_key, area, year in chunk
            ],
        )
    await session.flush()
    await audit.record(
        session,
        actor=uploaded_by,
        action="register.uploaded",
        subject_type="register",
        subject_id=register.id,
        slug=slug,
        rows=len(parsed.entries),
        duplicates=parsed.duplicates,
        replaced=replaced,
    )
    return UploadResult(
        register=register, rows=len(parsed.entries), duplicates=parsed.duplicates, replaced=replaced
    )


@dataclass(frozen=True, slots=True)
class RegisterSummary:
    register: Register
    last_uploaded_at: dt.datetime | None


async def list_registers(session: AsyncSession) -> list[RegisterSummary]:
    last = (
        select(AuditEntry.subject_id, func.max(AuditEntry.at).label("at"))
        .where(AuditEntry.action == "register.uploaded", AuditEntry.subject_type == "register")
        .group_by(AuditEntry.subject_id)
        .subquery()
    )
    rows = await session.execute(
        select(Register, last.c.at)
        .outerjoin(last, last.c.subject_id == Register.id)
        .order_by(Register.name, Register.id)
    )
    return [RegisterSummary(register, at) for register, at in rows]


async def any_registers(session: AsyncSession) -> bool:
    return (await session.scalar(select(func.count()).select_from(Register))) != 0


# --- Matching -----------------------------------------------------------------------------


class NoMatch(ValidationFailed):
    default_message = (
        "We could not find you on the register with those details. Check they are exactly as "
        "on your poll card or council letter (the postcode of the address you are registered "
        "at, and your date of birth), or use the reference number instead."
    )
    by_reference = (
        "We could not find you on the register with that reference number and date of birth. "
        "Check the reference on your letter, or enter your name and postcode instead."
    )

    def __init__(self, message: str | None = None, *, field: str = "name") -> None:
        super().__init__(message or self.default_message, field=field)


@dataclass(frozen=True, slots=True)
class MatchDetails:
    """What a resident typed. Either ``reference``, or ``name`` and ``postcode``; always the
    date of birth (it also confirms a reference, and tells us whether they are 16 or over)."""

    date_of_birth: dt.date | None
    name: str = ""
    postcode: str = ""
    reference: str = ""


def parse_date_parts(day: str, month: str, year: str) -> dt.date | None:
    """A date of birth typed as three numbers, the way paper forms ask for it."""
    try:
        return dt.date(int(year.strip()), int(month.strip()), int(day.strip()))
    except ValueError:
        return None


def _check(details: MatchDetails, today: dt.date) -> tuple[dt.date, str, str | None]:
    """Validated date of birth, normalised name, normalised postcode (None when matching by
    reference)."""
    errors: dict[str, str] = {}
    born = details.date_of_birth
    if born is None:
        errors["dob"] = "Enter your date of birth as day, month and year, like 27 3 1990."
    elif not OLDEST <= born <= today:
        errors["dob"] = "Enter your real date of birth."
    name = normalise_name(details.name)
    postcode: str | None = None
    if not normalise_reference(details.reference):
        if not name:
            errors["name"] = "Enter your full name as it is on the register."
        postcode = normalise_postcode(details.postcode)
        if postcode is None:
            errors["postcode"] = "Enter a UK postcode, like EX14 1AB."
    if errors or born is None:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    return born, name, postcode


async def find_identity(
    session: AsyncSession,
    keys: Keys,
    details: MatchDetails,
    *,
    today: dt.date,
    register_slug: str | None = None,
) -> VerifiedIdentity:
    """The identity the details prove, or :class:`NoMatch`. Reads only."""
    born, name, postcode = _check(details, today)
    query = select(Register.id, Register.slug)
    if register_slug is not None:
        query = query.where(Register.slug == register_slug)
    registers = dict((await session.execute(query)).all())
    if not registers:
        raise NoMatch("There is no register to match against yet.", field="name")
    reference = normalise_reference(details.reference)
    entry_query = select(RegisterEntry).where(RegisterEntry.register_id.in_(list(registers)))
    if reference:
        entry_query = entry_query.where(
            RegisterEntry.reference_key == reference_key(keys, reference)
        )
        error_field = "reference"
    else:
        assert postcode is not None
        entry_query = entry_query.where(
            RegisterEntry.match_key == match_key(keys, name, born, postcode)
        )
        error_field = "name"
    # The newest upload wins when a resident is on more than one register.
    entries = list(await session.scalars(entry_query.order_by(RegisterEntry.register_id.desc())))
    if reference:
        # A reference is confirmed by the year of birth on the same row.
        entries = [e for e in entries if e.claims.get("birth_year") == born.year]
    if not entries:
        raise NoMatch(NoMatch.by_reference if reference else None, field=error_field)
    entry = entries[0]
    claims = {
        "postcode_area": entry.claims.get("postcode_area"),
        "birth_year": entry.claims.get("birth_year"),
        "over_16": age_on(born, today) >= 16,
        "register": registers[entry.register_id],
    }
    return VerifiedIdentity(
        method=METHOD, identity_key=identity_key(keys, entry.match_key), claims=claims
    )


async def match_register(
    session: AsyncSession,
    keys: Keys,
    account: Account,
    details: MatchDetails,
    *,
    today: dt.date,
    register_slug: str | None = None,
) -> Verification | VerificationConflict:
    """Verify ``account`` from the register. Raises :class:`NoMatch` (nothing written) or
    returns what :func:`attach` returns: a conflict must be committed, then shown with
    :class:`IdentityInUse`'s message."""
    identity = await find_identity(session, keys, details, today=today, register_slug=register_slug)
    return await attach(session, account, identity, actor=account.id)
