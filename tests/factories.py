"""Plain async factories: every row is built through the same services the app uses."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Collection, Sequence

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.calls import service as calls
from server.calls.models import Call, Organiser, PhaseKind, Region
from server.calls.service import CallInput, PhaseInput
from server.ideas import service as ideas
from server.ideas.models import Idea
from server.identity import service as identity
from server.identity import tokens
from server.identity.auth import SESSION_COOKIE
from server.identity.keys import Keys
from server.identity.models import Account, Role
from server.personas import service as personas
from server.personas.models import Persona, PersonaKind
from server.personas.service import PersonaInput

_seq = itertools.count(1)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def make_region(session: AsyncSession, *, name: str = "Test Region") -> Region:
    return await calls.create_region(session, slug=f"region-{next(_seq)}", name=name)


async def make_organiser(session: AsyncSession, region: Region | None = None) -> Organiser:
    region = region or await make_region(session)
    n = next(_seq)
    return await calls.create_organiser(
        session, slug=f"organiser-{n}", name=f"Organiser {n}", region=region
    )


async def make_call(
    session: AsyncSession,
    *,
    opens: dt.timedelta = dt.timedelta(days=-1),
    closes: dt.timedelta = dt.timedelta(days=10),
    title: str | None = None,
    organiser: Organiser | None = None,
) -> Call:
    """A call with an ideas phase and a follow-up, opening and closing relative to now."""
    organiser = organiser or await make_organiser(session)
    region = await session.get(Region, organiser.region_id)
    assert region is not None
    n = next(_seq)
    start, end = now() + opens, now() + closes
    middle = start + (end - start) / 2
    return await calls.create_call(
        session,
        CallInput(
            slug=f"call-{n}",
            title=title or f"Call {n}",
            summary=f"Summary of call {n}",
            phases=(
                PhaseInput(PhaseKind.IDEAS, "Call for ideas", start, middle),
                PhaseInput(PhaseKind.FOLLOW_UP, "Follow-up", middle, end),
            ),
        ),
        organiser=organiser,
        region=region,
    )


async def make_persona(
    session: AsyncSession, account: Account | None = None, *, name: str | None = None
) -> Persona:
    account = account or await make_account(session)
    return await personas.create_persona(
        session,
        account,
        PersonaInput(PersonaKind.PSEUDONYM, name or f"Persona {next(_seq)}"),
        now=now(),
    )


async def make_idea(
    session: AsyncSession, call: Call, *, title: str | None = None, author: Persona | None = None
) -> Idea:
    n = next(_seq)
    author = author or await make_persona(session)
    return await ideas.create_idea(
        session, call, author, title=title or f"Idea {n}", body=f"Body {n}", now=now()
    )


async def make_account(
    session: AsyncSession,
    *,
    email: str | None = None,
    password: str | None = None,
    role: Role | None = None,
) -> Account:
    """A confirmed full account, built by the same service `moot users create` uses."""
    return await identity.create_user(
        session,
        email=email or f"person{next(_seq)}@example.org",
        role=role,
        password=password,
        now=now(),
    )


async def sign_in(client: httpx.AsyncClient, session: AsyncSession, account: Account) -> None:
    """Give ``client`` a session cookie for ``account`` (as the sign-in pages would)."""
    token = await identity.start_session(session, account, now=now())
    client.cookies.set(SESSION_COOKIE, token)


async def csrf_token(client: httpx.AsyncClient) -> str:
    """The CSRF token a page would embed for this client (fetching a page sets the cookie)."""
    html = (await client.get("/sign-up")).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def make_token(
    session: AsyncSession,
    keys: Keys,
    account: Account,
    *,
    scopes: Sequence[str] = ("read", "participate"),
    expires_in: dt.timedelta = dt.timedelta(days=1),
    at: dt.datetime | None = None,
    allowed_scopes: Collection[str] = tokens.DEFAULT_ALLOWED_SCOPES,
) -> str:
    """A personal access token of ``account``, made as a resident makes one: its bearer JWT."""
    _, jwt = await tokens.create_token(
        session,
        keys,
        account,
        name="test",
        scopes=scopes,
        expires_in=expires_in,
        now=at or now(),
        allowed_scopes=allowed_scopes,
    )
    return jwt
