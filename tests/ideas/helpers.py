"""Shared set-up for the ideas tests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from server.calls.models import Call
from server.identity.models import Account, AccountKind, Person
from server.personas.models import Persona, PersonaKind
from tests.factories import make_call

CLOSED = {"opens": dt.timedelta(days=-20), "closes": dt.timedelta(days=10)}  # in follow-up now


async def closed_call(session: AsyncSession) -> Call:
    """A call whose ideas phase is over: ideas can no longer be posted, edited or endorsed."""
    return await make_call(session, **CLOSED)


async def light_account(session: AsyncSession, call: Call) -> tuple[Account, Persona]:
    account = Account(kind=AccountKind.LIGHT, light_call_id=call.id)
    session.add(account)
    await session.flush()
    persona = Persona(account_id=account.id, kind=PersonaKind.PSEUDONYM, display_name="Venue")
    session.add(persona)
    await session.flush()
    return account, persona


async def verify(session: AsyncSession, account: Account) -> None:
    person = Person()
    session.add(person)
    await session.flush()
    account.person_id = person.id
    await session.flush()
