"""A person's own data: the download has everything; deletion leaves nothing personal."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.identity import mail, privacy
from server.identity import service as identity
from server.identity.keys import Keys
from server.identity.models import Account, Person, Verification
from server.identity.verification import VerifiedIdentity, attach
from server.personas import service as personas
from server.personas.models import Persona, PersonaKind
from server.personas.service import PersonaInput
from tests.factories import csrf_token, make_account, now, sign_in

KEYS = Keys(secret=b"s" * 32, identity_pepper=b"p" * 32)
MARK = "zq7marker"


async def _tables_containing(session: AsyncSession, needle: str) -> list[str]:
    tables = await session.scalars(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    )
    found = []
    for table in list(tables):
        # A whole row cast to text covers every column, JSON and arrays included.
        hit = await session.scalar(
            text(f'SELECT count(*) FROM "{table}" AS t WHERE t::text ILIKE :needle'),  # noqa: S608
            {"needle": f"%{needle}%"},
        )
        if hit:
            found.append(table)
    return found


async def _seeded_account(session: AsyncSession) -> Account:
    account = await make_account(
        session, email=f"{MARK}.email@example.org", password="a fine passphrase"
    )
    await attach(
        session,
        account,
        VerifiedIdentity(
            method="code",
            identity_key=KEYS.identity_key("t", MARK),
            claims={"member_of": f"{MARK}-club", "postcode_area": "EX"},
        ),
        actor=account.id,
    )
    verification = await session.scalar(
        select(Verification).where(Verification.person_id == account.person_id)
    )
    assert verification is not None
    await personas.create_persona(
        session,
        account,
        PersonaInput(
            PersonaKind.ORGANISATION,
            f"{MARK} Traders",
            description=f"About {MARK}",
            verification_id=verification.id,
        ),
        now=now(),
    )
    await personas.create_persona(
        session, account, PersonaInput(PersonaKind.RESIDENT, f"Jane {MARK}"), now=now()
    )
    await mail.queue(session, to=account.email or "", subject=f"Hello {MARK}", body=f"Body {MARK}")
    await identity.start_session(session, account, now=now())
    return account


async def test_export_holds_everything_about_the_account(session: AsyncSession) -> None:
    account = await _seeded_account(session)
    data = await privacy.export_account(session, account)
    blob = json.dumps(data)
    assert data["account"]["email"] == f"{MARK}.email@example.org"
    assert {p["display_name"] for p in data["personas"]} == {f"{MARK} Traders", f"Jane {MARK}"}
    assert data["verifications"][0]["claims"]["member_of"] == f"{MARK}-club"
    assert len(data["sessions"]) == 1 and data["emails"][0]["subject"] == f"Hello {MARK}"
    assert any(e["action"] == "verification.added" for e in data["audit_log"])
    assert "password_hash" not in blob and "argon2" not in blob and "token_hash" not in blob


async def test_after_deletion_no_personal_field_remains_in_any_table(session: AsyncSession) -> None:
    account = await _seeded_account(session)
    person_id = account.person_id
    assert set(await _tables_containing(session, MARK)) >= {
        "accounts",
        "personas",
        "verifications",
        "outbox",
    }
    await privacy.delete_account(session, account, remove_contributions=False, now=now())
    assert await _tables_containing(session, MARK) == []
    refreshed = await session.get(Account, account.id)
    assert refreshed is not None and refreshed.deleted_at is not None
    assert (
        refreshed.email is None and refreshed.password_hash is None and refreshed.person_id is None
    )
    # Contributions stay under an anonymised persona; the verified person stays, unlinked.
    former = list(await session.scalars(select(Persona).where(Persona.kind == PersonaKind.FORMER)))
    assert [p.display_name for p in former] == ["Former participant", "Former participant"]
    assert all(p.account_id is None for p in former)
    assert await session.get(Person, person_id) is not None


async def test_same_person_back_after_deletion_is_recognised(session: AsyncSession) -> None:
    first = await make_account(session)
    identity_ = VerifiedIdentity(method="code", identity_key=KEYS.identity_key("t", "same-human"))
    await attach(session, first, identity_, actor=first.id)
    person = first.person_id
    await privacy.delete_account(session, first, remove_contributions=False, now=now())
    second = await make_account(session)
    result = await attach(session, second, identity_, actor=second.id)
    assert isinstance(result, Verification)
    assert second.person_id == person  # same voter: no second vote


async def test_account_pages_download_and_delete(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session, email="pages@example.org")
    await sign_in(client, session, account)
    page = await client.get("/account")
    assert (
        page.status_code == 200
        and "pages@example.org" in page.text
        and "You have no personas yet" in page.text
    )
    download = await client.get("/account/data")
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.json()["account"]["email"] == "pages@example.org"
    token = await csrf_token(client)
    unconfirmed = await client.post("/account/delete", data={"csrf_token": token})
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.text
    assert (await session.get(Account, account.id)).deleted_at is None  # type: ignore[union-attr]
    done = await client.post("/account/delete", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == "/?done=deleted"
    home = await client.get("/?done=deleted")
    assert "Your account has been deleted." in home.text and "Sign in" in home.text
    await session.refresh(account)
    assert account.deleted_at is not None and account.email is None


async def test_persona_pages(client: httpx.AsyncClient, session: AsyncSession) -> None:
    account = await make_account(session)
    await sign_in(client, session, account)
    token = await csrf_token(client)
    bad = await client.post(
        "/account/personas", data={"csrf_token": token, "kind": "resident", "display_name": ""}
    )
    assert bad.status_code == 422 and "Give the persona a name" in bad.text
    ok = await client.post(
        "/account/personas",
        data={
            "csrf_token": token,
            "kind": "resident",
            "display_name": "Jane, resident of Honiton",
            "avatar_colour": "#aa3300",
        },
    )
    assert ok.status_code == 303
    page = await client.get(ok.headers["location"])
    assert (
        "Your new persona is ready to use." in page.text
        and "Jane, resident of Honiton" in page.text
    )
    persona = await session.scalar(select(Persona).where(Persona.account_id == account.id))
    assert persona is not None
    edited = await client.post(
        f"/account/personas/{persona.id}",
        data={
            "csrf_token": token,
            "kind": "resident",
            "display_name": "Jane H",
            "avatar_colour": "#aa3300",
        },
    )
    assert edited.status_code == 303
    archived = await client.post(
        f"/account/personas/{persona.id}/archive", data={"csrf_token": token}
    )
    assert archived.status_code == 303
    await session.refresh(persona)
    assert persona.display_name == "Jane H" and persona.archived_at is not None
