"""Endorsements under real concurrency: separate connections, as in production."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from server.db import Database
from server.ideas import endorsements, service
from server.ideas.models import Endorsement, Idea
from server.identity.models import Account
from tests.factories import make_account, make_call, make_persona, now


async def test_twenty_concurrent_endorsements_by_one_person_count_once(live_db: Database) -> None:
    async with live_db.session() as s, s.begin():
        call = await make_call(s)
        idea = await service.create_idea(
            s, call, await make_persona(s), title="Shared bikes", body="", now=now()
        )
        account = await make_account(s)
        personas = [await make_persona(s, account), await make_persona(s, account)]
    idea_id, account_id, persona_ids = idea.id, account.id, [p.id for p in personas]

    async def endorse(n: int) -> None:
        async with live_db.session() as s, s.begin():
            me = await s.get(Account, account_id)
            assert me is not None
            await endorsements.endorse(s, me, idea_id, persona_ids[n % 2], now=now())

    results = await asyncio.gather(*(endorse(n) for n in range(20)), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    async with live_db.session() as s:
        rows = await s.scalar(select(func.count()).select_from(Endorsement))
        count = await s.scalar(select(Idea.endorsement_count).where(Idea.id == idea_id))
    assert (rows, count) == (1, 1)
