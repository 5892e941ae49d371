"""Shared by the moderation, outcomes and notifications tests: rows the comments domain would
make, API tokens and a GraphQL client."""

from __future__ import annotations

from typing import Any

import httpx
from gql import Client
from gql.transport.httpx import HTTPXAsyncTransport
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEntry
from server.comments.models import Comment, Stance
from server.db import Database
from server.ideas.models import Endorsement, Idea
from server.identity.models import Account, Role
from server.personas.models import Persona
from tests.factories import make_account, make_persona, make_token


async def make_comment(
    session: AsyncSession,
    idea: Idea,
    *,
    author: Persona | None = None,
    body: str = "A comment.",
    stance: Stance | None = None,
) -> Comment:
    author = author or await make_persona(session)
    comment = Comment(idea_id=idea.id, author_persona_id=author.id, body=body, stance=stance)
    session.add(comment)
    await session.flush()
    return comment


async def endorse(session: AsyncSession, idea: Idea) -> Endorsement:
    persona = await make_persona(session)
    row = Endorsement(idea_id=idea.id, persona_id=persona.id, account_id=persona.account_id)
    session.add(row)
    await session.flush()
    return row


async def audit_actions(session: AsyncSession, subject_type: str, subject_id: int) -> list[str]:
    rows = await session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
        .order_by(AuditEntry.id)
    )
    return list(rows)


async def token_for(
    db: Database, app: Any, *, role: Role | None = None, scopes: list[str] | None = None
) -> tuple[Account, str]:
    """A new account (with ``role``) and a bearer token for it."""
    async with db.session() as s, s.begin():
        account = await make_account(s, role=role)
        jwt = await make_token(
            s,
            app.state.keys,
            account,
            scopes=scopes or ["read", "participate"],
            allowed_scopes=["read", "participate", "moderate"],
        )
    return account, jwt


def gql_client(app: Any, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = HTTPXAsyncTransport(
        url="http://localhost/graphql",
        headers=headers,
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
    )
    return Client(transport=transport, fetch_schema_from_transport=False)
