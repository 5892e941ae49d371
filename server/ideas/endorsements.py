"""Endorsements and follows of ideas.

An endorsement is one per person, whichever persona they use: keyed on the person once the
account is verified, on the account until then (both keys have a unique index)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.calls import rules
from server.errors import ValidationFailed
from server.ideas.models import Endorsement, Idea, IdeaFollow
from server.ideas.service import persona_for, require_action, visible_idea
from server.identity.models import Account


async def endorse(
    session: AsyncSession, account: Account, idea_id: int, persona_id: int, *, now: dt.datetime
) -> Idea:
    """One endorsement per person (per account until verified), whichever persona they use.

    The insert skips when either unique index already holds a row, so concurrent requests
    from the same person add exactly one; the counter moves in the same transaction."""
    idea = await visible_idea(session, idea_id, account)
    if idea.published_at is None:
        raise ValidationFailed("Publish the idea before endorsing it.", field="id")
    await require_action(session, account, idea.call_id, rules.Action.ENDORSE, now)
    persona = await persona_for(session, account, persona_id)
    inserted = await session.scalar(
        insert(Endorsement)
        .values(
            idea_id=idea.id,
            persona_id=persona.id,
            account_id=account.id,
            person_id=account.person_id,
        )
        .on_conflict_do_nothing()
        .returning(Endorsement.id)
    )
    if inserted is not None:
        await session.execute(
            update(Idea)
            .where(Idea.id == idea.id)
            .values(endorsement_count=Idea.endorsement_count + 1)
        )
    await session.refresh(idea)
    return idea


def _endorser(account: Account) -> ColumnElement[bool]:
    mine = Endorsement.account_id == account.id
    if account.person_id is not None:
        return or_(mine, Endorsement.person_id == account.person_id)
    return mine


async def withdraw_endorsement(
    session: AsyncSession, account: Account, idea_id: int, *, now: dt.datetime
) -> Idea:
    idea = await visible_idea(session, idea_id, account)
    await require_action(session, account, idea.call_id, rules.Action.ENDORSE, now)
    removed = list(
        await session.scalars(
            delete(Endorsement)
            .where(Endorsement.idea_id == idea.id, _endorser(account))
            .returning(Endorsement.id)
        )
    )
    if removed:
        await session.execute(
            update(Idea)
            .where(Idea.id == idea.id)
            .values(endorsement_count=Idea.endorsement_count - len(removed))
        )
    await session.refresh(idea)
    return idea


async def has_endorsed(session: AsyncSession, account: Account | None, idea_id: int) -> bool:
    if account is None:
        return False
    found = await session.scalar(
        select(Endorsement.id).where(Endorsement.idea_id == idea_id, _endorser(account)).limit(1)
    )
    return found is not None


async def follow(session: AsyncSession, account: Account, idea_id: int) -> Idea:
    idea = await visible_idea(session, idea_id, account)
    await session.execute(
        insert(IdeaFollow).values(idea_id=idea.id, account_id=account.id).on_conflict_do_nothing()
    )
    return idea


async def unfollow(session: AsyncSession, account: Account, idea_id: int) -> Idea:
    idea = await visible_idea(session, idea_id, account)
    await session.execute(
        delete(IdeaFollow).where(IdeaFollow.idea_id == idea.id, IdeaFollow.account_id == account.id)
    )
    return idea


async def follows(session: AsyncSession, account: Account | None, idea_id: int) -> bool:
    if account is None:
        return False
    found = await session.scalar(
        select(IdeaFollow.idea_id).where(
            IdeaFollow.idea_id == idea_id, IdeaFollow.account_id == account.id
        )
    )
    return found is not None
