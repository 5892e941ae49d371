"""Register match: normalisation, hashed uploads, bad files, re-uploads and matching."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEntry
from server.identity import registers
from server.identity.models import Register, RegisterEntry, Verification, VerificationConflict
from tests.factories import make_account
from tests.identity.factories_verify import (
    ALICE,
    BOB,
    CAROL,
    KEYS,
    csv_bytes,
    details,
    now,
    raw_strings,
    table_text,
    today,
    upload,
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("O'Brien-Smith", "obriensmith"),
        ("o brien smith", "obriensmith"),
        ("OBRIEN   SMITH", "obriensmith"),
        ("O’Brien–Smith", "obriensmith"),  # curly apostrophe, en dash
        ("  O'Brien\tSmith. ", "obriensmith"),
        ("Zoë Ångström", "zoeangstrom"),
        ("ZOE ANGSTROM", "zoeangstrom"),
        ("José Núñez", "josenunez"),
        ("Søren Æbelø", "sorenaebelo"),
        ("Weiß", "weiss"),
        ("Łukasz", "lukasz"),
    ],
)
def test_names_normalise_case_accents_spacing_and_punctuation(typed: str, expected: str) -> None:
    assert registers.normalise_name(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected", "area"),
    [
        ("EX14 1AB", "EX141AB", "EX"),
        ("ex14 1ab", "EX141AB", "EX"),
        ("  Ex141Ab ", "EX141AB", "EX"),
        ("EX14  1AB", "EX141AB", "EX"),
        ("tr1 2he", "TR12HE", "TR"),
        ("SW1A 1AA", "SW1A1AA", "SW"),
        ("M1 1AE", "M11AE", "M"),
        ("B33 8TH", "B338TH", "B"),
    ],
)
def test_postcodes_normalise_and_give_their_area(typed: str, expected: str, area: str) -> None:
    assert registers.normalise_postcode(typed) == expected
    assert registers.postcode_area(expected) == area


@pytest.mark.parametrize("typed", ["", "EX14", "EX14 1A", "141 1AB", "EX14 1AB X", "EX-14 1AB"])
def test_postcodes_that_are_not_uk_shaped_are_refused(typed: str) -> None:
    assert registers.normalise_postcode(typed) is None


def test_dates_must_be_iso_and_real() -> None:
    assert registers.parse_date(" 1990-03-27 ") == dt.date(1990, 3, 27)
    for bad in ("27/03/1990", "1990-02-30", "19900327", "1990-3-27", "", "next tuesday"):
        assert registers.parse_date(bad) is None


def test_the_same_person_typed_differently_has_one_match_key() -> None:
    born = dt.date(1990, 3, 27)
    keys = {
        registers.match_key(
            KEYS,
            registers.normalise_name(name),
            born,
            registers.normalise_postcode(postcode) or "",
        )
        for name, postcode in [
            ("Alice O'Brien-Smith", "EX14 1AB"),
            ("alice obrien smith", "ex141ab"),
            ("ALICE O’BRIEN SMITH", " Ex14 1aB "),
        ]
    }
    assert len(keys) == 1


async def test_upload_keeps_only_hashes_and_coarse_claims(session: AsyncSession) -> None:
    account = await make_account(session)
    result = await upload(session, [ALICE, BOB, CAROL], uploaded_by=account.id)
    assert result.rows == 3 and not result.replaced
    entries = list(
        await session.scalars(
            select(RegisterEntry).where(RegisterEntry.register_id == result.register.id)
        )
    )
    assert sorted(e.claims["postcode_area"] for e in entries) == ["EX", "EX", "TR"]
    assert sorted(e.claims["birth_year"] for e in entries) == [1985, 1990, 2001]
    assert sum(e.reference_key is not None for e in entries) == 2
    assert all(len(e.match_key) == 64 for e in entries)
    stored = " ".join(
        [
            await table_text(session, "registers"),
            await table_text(session, "register_entries"),
            await table_text(session, "audit_log"),
        ]
    ).casefold()
    for raw in raw_strings(ALICE, BOB, CAROL):
        assert raw.casefold() not in stored, f"{raw!r} was stored"
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "register.uploaded"))
    assert entry is not None and entry.details["rows"] == 3


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        (b"", None, "The file is empty"),
        (b"name,postcode\nAlice,EX14 1AB\n", "Line 1", "no date_of_birth column"),
        (csv_bytes([ALICE, ("Bob", "02/11/1985", "TR1 2HE", "")]), "Line 3", "YYYY-MM-DD"),
        (
            csv_bytes([ALICE, BOB, ("Carol", "2001-07-15", "EX2", "")]),
            "Line 4",
            "not a UK postcode",
        ),
        (csv_bytes([ALICE, ("", "2001-07-15", "EX2 4QT", "")]), "Line 3", "name is empty"),
        (csv_bytes([ALICE, ("Dan", "2001-02-30", "EX2 4QT", "")]), "Line 3", "YYYY-MM-DD"),
        (csv_bytes([ALICE]) + b"Bob,1985-11-02\n", "Line 3", "has 2 values"),
        (b"name,date_of_birth,postcode\nZo\xeb,1990-01-01,EX1 1AA\n", "Line 2", "not UTF-8"),
        (
            csv_bytes([ALICE, ("Dan Smith", "1970-01-01", "EX1 1AA", "HON-4471-A")]),
            "Line 3",
            "reference is the same as on line 2",
        ),
    ],
)
async def test_a_bad_file_names_the_line_and_writes_nothing(
    session: AsyncSession, content: bytes, line: str | None, problem: str
) -> None:
    audit_before = await session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(registers.RegisterFileInvalid) as caught:
        await registers.upload_register(
            session,
            KEYS,
            slug="bad",
            name="Bad register",
            source=io.BytesIO(content),
            uploaded_by=None,
            now=now(),
        )
    message = caught.value.message
    assert problem in message
    if line is not None:
        assert message.startswith(line)
    assert caught.value.errors == {"file": message}
    assert await session.scalar(select(func.count()).select_from(Register)) == 0
    assert await session.scalar(select(func.count()).select_from(RegisterEntry)) == 0
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before


async def test_a_bad_file_lists_several_problems(session: AsyncSession) -> None:
    rows = [ALICE, ("Bob", "1985/11/02", "TR1 2HE", ""), ("Carol", "2001-07-15", "nowhere", "")]
    with pytest.raises(registers.RegisterFileInvalid) as caught:
        await upload(session, rows)
    assert [p.split(":")[0] for p in caught.value.problems] == ["Line 3", "Line 4"]


async def test_a_bad_slug_or_name_is_refused_before_reading(session: AsyncSession) -> None:
    with pytest.raises(registers.ValidationFailed) as caught:
        await upload(session, [ALICE], slug="East Devon!", name=" ")
    assert set(caught.value.errors) == {"slug", "name"}


async def test_repeated_people_are_counted_once(session: AsyncSession) -> None:
    shouty = ("ALICE O'BRIEN SMITH", "1990-03-27", "ex14 1ab", "HON 4471 A")
    result = await upload(session, [ALICE, BOB, shouty])
    assert (result.rows, result.duplicates) == (2, 1)


async def test_matching_by_details_or_by_reference(session: AsyncSession) -> None:
    await upload(session, [ALICE, BOB, CAROL])
    alice = await make_account(session)
    verification = await registers.match_register(
        session,
        KEYS,
        alice,
        details(ALICE, name="ALICE OBRIEN SMITH", postcode="ex141ab"),
        today=today(),
    )
    assert isinstance(verification, Verification)
    assert verification.method == "register"
    assert verification.claims == {
        "postcode_area": "EX",
        "birth_year": 1990,
        "over_16": True,
        "register": "east-devon",
    }
    assert verification.identity_key not in {
        e.match_key for e in await session.scalars(select(RegisterEntry))
    }
    bob = await make_account(session)
    by_ref = await registers.match_register(
        session, KEYS, bob, details(BOB, by_reference=True, reference="hon 5502 b"), today=today()
    )
    assert isinstance(by_ref, Verification) and by_ref.claims["postcode_area"] == "TR"
    # The same person found by reference is the same identity as found by details.
    carol = await make_account(session)
    again = await registers.match_register(session, KEYS, carol, details(BOB), today=today())
    assert isinstance(again, VerificationConflict)


async def test_a_reference_needs_the_right_year_of_birth(session: AsyncSession) -> None:
    await upload(session, [ALICE])
    account = await make_account(session)
    wrong_year = details(ALICE, by_reference=True, date_of_birth=dt.date(1991, 3, 27))
    with pytest.raises(registers.NoMatch) as caught:
        await registers.match_register(session, KEYS, account, wrong_year, today=today())
    assert caught.value.errors == {"reference": caught.value.message}


async def test_no_match_says_so_and_changes_nothing(session: AsyncSession) -> None:
    await upload(session, [ALICE])
    account = await make_account(session)
    audit_before = await session.scalar(select(func.count()).select_from(AuditEntry))
    for wrong in (
        details(ALICE, name="Alice Smith"),
        details(ALICE, postcode="EX14 1AD"),
        details(ALICE, date_of_birth=dt.date(1990, 3, 28)),
        details(ALICE, by_reference=True, reference="HON-0000-X"),
    ):
        with pytest.raises(registers.NoMatch, match="could not find you on the register"):
            await registers.match_register(session, KEYS, account, wrong, today=today())
    assert await session.scalar(select(func.count()).select_from(Verification)) == 0
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
    assert account.person_id is None


async def test_typed_details_are_checked(session: AsyncSession) -> None:
    await upload(session, [ALICE])
    account = await make_account(session)
    bad = registers.MatchDetails(date_of_birth=None, name=" ", postcode="nowhere")
    with pytest.raises(registers.ValidationFailed) as caught:
        await registers.match_register(session, KEYS, account, bad, today=today())
    assert set(caught.value.errors) == {"dob", "name", "postcode"}


async def test_over_16_is_worked_out_on_the_day(session: AsyncSession) -> None:
    day = today()
    if (day.month, day.day) == (2, 29):  # pragma: no cover
        pytest.skip("16 years ago there was no 29 February")
    sixteen_today = day.replace(year=day.year - 16)
    nearly = sixteen_today + dt.timedelta(days=1)
    young = ("Young Person", nearly.isoformat(), "EX1 1AA", "")
    birthday = ("Birthday Person", sixteen_today.isoformat(), "EX1 1AA", "")
    await upload(session, [young, birthday])
    for row, expected in ((young, False), (birthday, True)):
        account = await make_account(session)
        verification = await registers.match_register(
            session, KEYS, account, details(row), today=day
        )
        assert isinstance(verification, Verification)
        assert verification.claims["over_16"] is expected


async def test_reupload_replaces_rows_and_keeps_verifications(session: AsyncSession) -> None:
    first = await upload(session, [ALICE, BOB])
    alice = await make_account(session)
    verification = await registers.match_register(
        session, KEYS, alice, details(ALICE), today=today()
    )
    assert isinstance(verification, Verification)
    old_entries = set(await session.scalars(select(RegisterEntry.id)))

    second = await upload(session, [ALICE, CAROL], name="East Devon register, spring")
    assert second.replaced and second.register.id == first.register.id
    assert second.register.row_count == 2
    assert not old_entries & set(await session.scalars(select(RegisterEntry.id)))
    # Alice's verification is untouched, and matching her again finds the same identity.
    still = await session.get(Verification, verification.id, populate_existing=True)
    assert still is not None and still.revoked_at is None
    again = await registers.match_register(session, KEYS, alice, details(ALICE), today=today())
    assert isinstance(again, Verification) and again.id == verification.id
    # The new file matches; Bob, who left the register, no longer does.
    carol = await make_account(session)
    assert isinstance(
        await registers.match_register(session, KEYS, carol, details(CAROL), today=today()),
        Verification,
    )
    bob = await make_account(session)
    with pytest.raises(registers.NoMatch):
        await registers.match_register(session, KEYS, bob, details(BOB), today=today())
    actions = list(
        await session.scalars(
            select(AuditEntry.details["replaced"].as_boolean()).where(
                AuditEntry.action == "register.uploaded"
            )
        )
    )
    assert sorted(actions) == [False, True]
