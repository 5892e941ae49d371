"""The verification pages in the browser's terms: forms, permissions, CSRF, micro-participation
and keeping what a venue account did."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEntry
from server.identity import codes, service
from server.identity.auth import SESSION_COOKIE
from server.identity.models import (
    Account,
    AccountKind,
    Register,
    RegisterEntry,
    Role,
    Session,
    Verification,
    VerificationCode,
    VerificationConflict,
)
from server.identity.verification import IdentityInUse
from server.identity.verify_pages import LIGHT_COOKIE
from server.personas import service as personas
from server.personas.models import PersonaKind
from tests.factories import csrf_token, make_account, make_call, make_organiser, sign_in
from tests.identity.factories_verify import (
    ALICE,
    BOB,
    csv_bytes,
    form_of,
    now,
    raw_strings,
    table_text,
)

CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{2}\b")
PASSWORD = "correct horse battery"
DAY = dt.timedelta(days=1)


async def _as(client: httpx.AsyncClient, session: AsyncSession, account: Account) -> str:
    """Sign ``client`` in as ``account``; returns the CSRF token for its forms."""
    client.cookies.delete(SESSION_COOKIE)
    await sign_in(client, session, account)
    return await csrf_token(client)


async def _upload(
    client: httpx.AsyncClient, token: str, content: bytes, *, slug: str = "east-devon"
) -> httpx.Response:
    return await client.post(
        "/admin/registers",
        data={"csrf_token": token, "slug": slug, "name": "East Devon electoral register"},
        files={"file": ("register.csv", content, "text/csv")},
    )


async def _issue(
    client: httpx.AsyncClient, token: str, **fields: Any
) -> tuple[httpx.Response, list[str]]:
    data = {
        "csrf_token": token,
        "label": "Beehive Centre, Honiton",
        "call": "",
        "count": "3",
        "valid_days": "10",
        "attended": "Beehive Centre",
        "postcode_area": "ex",
        "member_of": "",
        **fields,
    }
    response = await client.post("/moderation/codes", data=data)
    return response, CODE.findall(response.text)


def _refused(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words in response.text
    assert 'aria-invalid="true"' in response.text or "error-summary" in response.text


async def test_pages_send_strangers_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in (
        "/account/verify",
        "/account/verify/register",
        "/account/verify/code",
        "/account/claim",
        "/admin/registers",
        "/moderation/codes",
        "/moderation/conflicts",
    ):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/sign-in?next={path}"


async def test_new_forms_refuse_posts_without_a_csrf_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await make_account(session, role=Role.ADMIN)
    call = await make_call(session)
    await _as(client, session, admin)
    for path in (
        "/account/verify/register",
        "/account/verify/code",
        "/account/claim",
        f"/join/{call.slug}",
        f"/join/{call.slug}/register",
        "/admin/registers",
        "/moderation/codes",
        "/moderation/codes/revoke",
        "/moderation/conflicts",
    ):
        response = await client.post(path, data={"code": "ABCD-EFGH-JK"})
        assert response.status_code == 403, path
        assert "This form has expired" in response.text
    multipart = await client.post(
        "/admin/registers",
        data={"slug": "x", "name": "x"},
        files={"file": ("r.csv", csv_bytes([ALICE]), "text/csv")},
    )
    assert multipart.status_code == 403
    assert await session.scalar(select(func.count()).select_from(Register)) == 0


async def test_only_permitted_roles_reach_registers_codes_and_conflicts(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organiser = await make_organiser(session)
    own_call = await make_call(session, organiser=organiser)
    other_call = await make_call(session)
    resident = await make_account(session)
    member = await make_account(session)
    await service.grant_role(session, member, Role.ORGANISER, actor=None, organiser_id=organiser.id)
    moderator = await make_account(session, role=Role.MODERATOR)
    admin = await make_account(session, role=Role.ADMIN)
    expected = {
        resident.id: {
            "/admin/registers": 403,
            "/moderation/codes": 403,
            "/moderation/conflicts": 403,
        },
        member.id: {
            "/admin/registers": 403,
            "/moderation/codes": 200,
            "/moderation/conflicts": 403,
        },
        moderator.id: {
            "/admin/registers": 403,
            "/moderation/codes": 200,
            "/moderation/conflicts": 200,
        },
        admin.id: {"/admin/registers": 200, "/moderation/codes": 200, "/moderation/conflicts": 200},
    }
    for account in (resident, member, moderator, admin):
        token = await _as(client, session, account)
        for path, status in expected[account.id].items():
            page = await client.get(path)
            assert page.status_code == status, (path, account.id)
            if status == 403:
                assert "You are not allowed to do that" in page.text
        upload = await _upload(client, token, csv_bytes([ALICE]), slug=f"r-{account.id}")
        assert upload.status_code == expected[account.id]["/admin/registers"]
        issued, _ = await _issue(client, token, label=f"batch {account.id}", call=own_call.slug)
        assert issued.status_code == expected[account.id]["/moderation/codes"]
        resolve = await client.post(
            "/moderation/conflicts",
            data={"csrf_token": token, "conflict_id": "1", "action": "dismiss"},
        )
        assert (
            resolve.status_code
            == {200: 404, 403: 403}[expected[account.id]["/moderation/conflicts"]]
        )
        revoke = await client.post(
            "/moderation/codes/revoke", data={"csrf_token": token, "batch": "nope"}
        )
        assert revoke.status_code == {200: 404, 403: 403}[expected[account.id]["/moderation/codes"]]
    # An organiser issues only for their own calls; the page offers only those.
    token = await _as(client, session, member)
    page = await client.get("/moderation/codes")
    assert own_call.title in page.text and other_call.title not in page.text
    refused, codes_shown = await _issue(client, token, label="not mine", call=other_call.slug)
    assert refused.status_code == 403 and codes_shown == []
    refused, _ = await _issue(client, token, label="no call", call="")
    assert refused.status_code == 403
    assert await session.scalar(select(func.count()).select_from(Register)) == 1


async def test_register_upload_keeps_no_personal_data_and_bad_files_are_named(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await make_account(session, role=Role.ADMIN)
    token = await _as(client, session, admin)
    bad = await _upload(client, token, csv_bytes([ALICE, ("Bob", "02/11/1985", "TR1 2HE", "")]))
    _refused(bad, 422, "Line 3: the date_of_birth is not a date written YYYY-MM-DD")
    assert await session.scalar(select(func.count()).select_from(Register)) == 0
    missing = await _upload(client, token, b"name,postcode\nAlice,EX14 1AB\n")
    _refused(missing, 422, "there is no date_of_birth column")
    no_file = await client.post(
        "/admin/registers", data={"csrf_token": token, "slug": "x", "name": "X"}
    )
    _refused(no_file, 422, "Choose the register’s CSV file")

    ok = await _upload(client, token, csv_bytes([ALICE, BOB]))
    assert ok.status_code == 200 and "Uploaded “East Devon electoral register”: 2 people" in ok.text
    assert "<code>east-devon</code>" in ok.text
    again = await _upload(client, token, csv_bytes([ALICE]))
    assert "Replaced “East Devon electoral register”: 1 person" in again.text
    stored = " ".join(
        [
            await table_text(session, "registers"),
            await table_text(session, "register_entries"),
            await table_text(session, "audit_log"),
        ]
    ).casefold()
    for raw in raw_strings(ALICE, BOB):
        assert raw.casefold() not in stored, f"{raw!r} was stored"
    assert await session.scalar(select(func.count()).select_from(RegisterEntry)) == 1


async def test_register_match_conflict_and_moderator_transfer(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await make_account(session, role=Role.ADMIN)
    token = await _as(client, session, admin)
    assert (await _upload(client, token, csv_bytes([ALICE, BOB]))).status_code == 200

    first = await make_account(session)
    token = await _as(client, session, first)
    wrong = await client.post(
        "/account/verify/register",
        data={**form_of(ALICE), "postcode": "EX14 9ZZ", "csrf_token": token},
    )
    _refused(wrong, 422, "We could not find you on the register")
    assert 'value="EX14 9ZZ"' in wrong.text  # what they typed stays in the form
    matched = await client.post(
        "/account/verify/register", data={**form_of(ALICE), "csrf_token": token}
    )
    assert matched.status_code == 303
    assert matched.headers["location"] == "/account/verify?done=register"
    hub = await client.get(matched.headers["location"])
    assert "You are verified: we found you on the register." in hub.text
    assert "Council register" in hub.text and "Postcode area: EX" in hub.text
    assert "Aged 16 or over: yes" in hub.text
    person = await session.scalar(select(Account.person_id).where(Account.id == first.id))
    assert person is not None

    second = await make_account(session)
    token = await _as(client, session, second)
    clash = await client.post(
        "/account/verify/register",
        data={**form_of(ALICE, by_reference=True), "csrf_token": token},
    )
    _refused(clash, 409, IdentityInUse.default_message)
    conflict = await session.scalar(
        select(VerificationConflict).where(VerificationConflict.claimant_account_id == second.id)
    )
    assert conflict is not None and conflict.method == "register"

    moderator = await make_account(session, role=Role.MODERATOR)
    token = await _as(client, session, moderator)
    listing = await client.get("/moderation/conflicts")
    assert f"#{conflict.id}" in listing.text and "Council register" in listing.text
    for raw in (*raw_strings(ALICE), "EX", "1990"):
        assert raw not in listing.text.split("<main", 1)[1]
    moved = await client.post(
        "/moderation/conflicts",
        data={"csrf_token": token, "conflict_id": str(conflict.id), "action": "transfer"},
    )
    assert moved.headers["location"] == "/moderation/conflicts?done=transferred"
    after = await client.get(moved.headers["location"])
    assert "The verification has been moved" in after.text and f"#{conflict.id}" not in after.text
    owners = dict(
        (
            await session.execute(
                select(Account.id, Account.person_id).where(Account.id.in_([first.id, second.id]))
            )
        ).all()
    )
    assert owners == {first.id: None, second.id: person}
    again = await client.post(
        "/moderation/conflicts",
        data={"csrf_token": token, "conflict_id": str(conflict.id), "action": "dismiss"},
    )
    _refused(again, 409, "already been resolved")
    trail = [
        (e.action, e.actor_account_id, e.subject_id)
        for e in await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.like("verification.%"))
            .order_by(AuditEntry.id)
        )
    ]
    assert trail == [
        ("verification.added", first.id, first.id),
        ("verification.conflict", second.id, second.id),
        ("verification.transferred", moderator.id, second.id),
    ]


async def test_codes_are_shown_once_and_refusals_are_distinct(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    moderator = await make_account(session, role=Role.MODERATOR)
    call = await make_call(session, title="Energy futures")
    token = await _as(client, session, moderator)
    form = await client.get("/moderation/codes")
    assert form.status_code == 200 and "Energy futures" in form.text
    bad, _ = await _issue(client, token, count="501", valid_days="0", postcode_area="E1")
    assert bad.status_code == 422
    for words in ("from 1 to 500", "from 1 to 365", "letters at the start of a postcode"):
        assert words in bad.text
    issued, shown = await _issue(client, token, call=call.slug)
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    assert len(set(shown)) == 3 and "only time they are shown" in issued.text
    assert "Attended: Beehive Centre; Postcode area: EX" in issued.text
    listing = await client.get("/moderation/codes")
    assert "Beehive Centre, Honiton" in listing.text and not CODE.findall(listing.text)
    duplicate, _ = await _issue(client, token)
    _refused(duplicate, 422, "already a batch with this label")

    resident = await make_account(session)
    token = await _as(client, session, resident)
    used = await client.post(
        "/account/verify/code", data={"csrf_token": token, "code": shown[0].lower()}
    )
    assert used.headers["location"] == "/account/verify?done=code"
    hub = await client.get("/account/verify?done=code")
    assert "Your code worked" in hub.text and "Attended: Beehive Centre" in hub.text

    # Withdraw one code by typing it, then the rest of the batch.
    token = await _as(client, session, moderator)
    revoked = await client.post(
        "/moderation/codes/revoke", data={"csrf_token": token, "code": shown[1]}
    )
    assert revoked.headers["location"] == "/moderation/codes?done=code_revoked"
    expired_batch, expired_codes = await _issue(client, token, label="short-lived", count="1")
    assert expired_batch.status_code == 200
    await session.execute(
        update(VerificationCode)
        .where(VerificationCode.batch == "short-lived")
        .values(expires_at=now() - DAY)
    )

    other = await make_account(session)
    token = await _as(client, session, other)
    before = (
        await session.scalar(select(func.count()).select_from(Verification)),
        await session.scalar(select(func.count()).select_from(AuditEntry)),
    )
    for code, status, words in (
        ("ABCD-EFGH", 422, "has 10 letters and numbers"),
        ("ABCD-EFGH-JK", 422, "do not recognise that code"),
        (shown[0], 409, "already been used"),
        (shown[1], 409, "withdrawn by the organisers"),
        (expired_codes[0], 409, "has expired"),
    ):
        response = await client.post(
            "/account/verify/code", data={"csrf_token": token, "code": code}
        )
        _refused(response, status, words)
    after = (
        await session.scalar(select(func.count()).select_from(Verification)),
        await session.scalar(select(func.count()).select_from(AuditEntry)),
    )
    assert after == before

    token = await _as(client, session, moderator)
    batch = await client.post(
        "/moderation/codes/revoke", data={"csrf_token": token, "batch": "Beehive Centre, Honiton"}
    )
    assert batch.headers["location"] == "/moderation/codes?done=batch_revoked"
    token = await _as(client, session, other)
    last = await client.post("/account/verify/code", data={"csrf_token": token, "code": shown[2]})
    _refused(last, 409, "withdrawn by the organisers")


async def test_join_at_a_venue_then_keep_it_with_a_full_account(
    client: httpx.AsyncClient, session: AsyncSession, app: Any
) -> None:
    call = await make_call(session, title="Honiton high street")
    moderator = await make_account(session, role=Role.MODERATOR)
    batch = await codes.issue_codes(
        session,
        app.state.keys,
        moderator,
        count=2,
        label="market day",
        claims={"attended": "Honiton market"},
        expires_at=now() + DAY,
        now=now(),
        call=call,
    )
    page = await client.get(f"/join/{call.slug}")
    assert page.status_code == 200 and "Take part in Honiton high street" in page.text
    token = await csrf_token(client)
    wrong = await client.post(f"/join/{call.slug}", data={"csrf_token": token, "code": "nope"})
    _refused(wrong, 422, "has 10 letters and numbers")
    assert SESSION_COOKIE not in client.cookies

    joined = await client.post(
        f"/join/{call.slug}", data={"csrf_token": token, "code": batch.codes[0]}
    )
    assert joined.status_code == 303 and joined.headers["location"] == f"/calls/{call.slug}"
    cookies = joined.headers.get_list("set-cookie")
    assert any(c.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in c for c in cookies)
    assert any(c.startswith(f"{LIGHT_COOKIE}=") and "Path=/account" in c for c in cookies)
    venue = await session.scalar(select(Account).where(Account.kind == AccountKind.LIGHT))
    assert venue is not None and venue.light_call_id == call.id and venue.email is None
    assert venue.person_id is not None
    hub = await client.get("/account/verify")
    assert "You are taking part with a venue account" in hub.text
    assert "Attended: Honiton market" in hub.text
    # What the venue account does in the call (other domains write it under its persona).
    persona = await personas.create_persona(
        session,
        venue,
        personas.PersonaInput(kind=PersonaKind.PSEUDONYM, display_name="Market Voice"),
        now=now(),
    )

    # Later, on the same phone: sign in to a full account from the claim page.
    full = await make_account(session, email="keeper@example.org", password=PASSWORD)
    claim_page = await client.get("/account/claim")
    assert 'action="/sign-in?next=/account/claim"' in claim_page.text
    signed_in = await client.post(
        "/sign-in?next=/account/claim",
        data={"csrf_token": token, "email": "keeper@example.org", "password": PASSWORD},
    )
    assert signed_in.headers["location"] == "/account/claim"
    offer = await client.get("/account/claim")
    assert "Honiton high street" in offer.text and "Keep what you did" in offer.text
    assert "Keep what you did at a venue" in (await client.get("/account/verify")).text
    kept = await client.post("/account/claim", data={"csrf_token": token})
    assert kept.headers["location"] == "/account/verify?done=claimed"
    assert any(c.startswith(f'{LIGHT_COOKIE}=""') for c in kept.headers.get_list("set-cookie"))

    await session.refresh(persona)
    assert persona.account_id == full.id
    rows = {
        a.id: a
        for a in await session.scalars(
            select(Account)
            .where(Account.id.in_([venue.id, full.id]))
            .execution_options(populate_existing=True)
        )
    }
    assert rows[full.id].person_id is not None and rows[venue.id].person_id is None
    assert rows[venue.id].deleted_at is not None
    live = await session.scalar(
        select(func.count())
        .select_from(Session)
        .where(Session.account_id == venue.id, Session.revoked_at.is_(None))
    )
    assert live == 0
    done = await client.get("/account/verify?done=claimed")
    assert "what you did at the venue is now part of this account" in done.text
    assert "Attended: Honiton market" in done.text
    nothing = await client.get("/account/claim")
    assert "There is nothing to keep on this browser" in nothing.text
    claimed = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "account.light_claimed")
    )
    assert claimed is not None and claimed.actor_account_id == full.id


async def test_claiming_without_a_venue_account_or_as_one_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    full = await make_account(session)
    token = await _as(client, session, full)
    response = await client.post("/account/claim", data={"csrf_token": token})
    _refused(response, 409, "There is nothing to keep on this browser")
    call = await make_call(session)
    venue = Account(kind=AccountKind.LIGHT, light_call_id=call.id)
    session.add(venue)
    await session.flush()
    token = await _as(client, session, venue)
    forbidden = await client.post("/account/claim", data={"csrf_token": token})
    assert forbidden.status_code == 403


async def test_joining_when_signed_in_verifies_the_current_account(
    client: httpx.AsyncClient, session: AsyncSession, app: Any
) -> None:
    call = await make_call(session)
    closed = await make_call(session, opens=-10 * DAY, closes=-DAY)
    moderator = await make_account(session, role=Role.MODERATOR)
    batch = await codes.issue_codes(
        session,
        app.state.keys,
        moderator,
        count=1,
        label="door",
        claims={},
        expires_at=now() + DAY,
        now=now(),
    )
    resident = await make_account(session)
    token = await _as(client, session, resident)
    page = await client.get(f"/join/{call.slug}")
    assert "You are signed in" in page.text
    shut = await client.get(f"/join/{closed.slug}")
    assert "This call has closed" in shut.text and 'name="code"' not in shut.text
    refused = await client.post(
        f"/join/{closed.slug}", data={"csrf_token": token, "code": batch.codes[0]}
    )
    _refused(refused, 409, "This call has closed")
    joined = await client.post(
        f"/join/{call.slug}", data={"csrf_token": token, "code": batch.codes[0]}
    )
    assert joined.headers["location"] == f"/calls/{call.slug}"
    assert "set-cookie" not in joined.headers or SESSION_COOKIE not in joined.headers["set-cookie"]
    assert (
        await session.scalar(
            select(func.count()).select_from(Account).where(Account.kind == AccountKind.LIGHT)
        )
        == 0
    )
    verified = await session.scalar(select(Account.person_id).where(Account.id == resident.id))
    assert verified is not None
    missing = await client.get("/join/no-such-call")
    assert missing.status_code == 404


async def test_joining_by_the_register_makes_a_venue_account(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    admin = await make_account(session, role=Role.ADMIN)
    token = await _as(client, session, admin)
    await _upload(client, token, csv_bytes([ALICE]))
    client.cookies.delete(SESSION_COOKIE)
    page = await client.get(f"/join/{call.slug}")
    assert "Or find yourself on the council register" in page.text
    no_match = await client.post(
        f"/join/{call.slug}/register",
        data={**form_of(ALICE), "name": "Someone Else", "csrf_token": token},
    )
    _refused(no_match, 422, "We could not find you on the register")
    bad_date = await client.post(
        f"/join/{call.slug}/register",
        data={**form_of(ALICE), "dob_month": "13", "csrf_token": token},
    )
    _refused(bad_date, 422, "Enter your date of birth")
    joined = await client.post(
        f"/join/{call.slug}/register", data={**form_of(ALICE), "csrf_token": token}
    )
    assert joined.headers["location"] == f"/calls/{call.slug}"
    venue = await session.scalar(select(Account).where(Account.kind == AccountKind.LIGHT))
    assert venue is not None and venue.person_id is not None
    claims = await session.scalar(
        select(Verification.claims).where(Verification.person_id == venue.person_id)
    )
    assert claims == {
        "postcode_area": "EX",
        "birth_year": 1990,
        "over_16": True,
        "register": "east-devon",
    }


@pytest.mark.parametrize("path", ["/account/verify/register", "/account/verify/code"])
async def test_attempts_are_throttled(
    client: httpx.AsyncClient, session: AsyncSession, path: str
) -> None:
    account = await make_account(session)
    token = await _as(client, session, account)
    data = {**form_of(ALICE), "code": "ABCD-EFGH-JK", "csrf_token": token}
    statuses = [(await client.post(path, data=data)).status_code for _ in range(11)]
    assert 429 not in statuses[:10] and statuses[10] == 429
    last = await client.post(path, data=data)
    assert "Too many attempts" in last.text and "retry-after" in last.headers
