"""Outcomes: a council's answer to each idea."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import ValidationFailed
from server.ideas.models import Idea
from server.outcomes.models import Outcome, OutcomeStatus


async def record_outcome(
    session: AsyncSession, idea: Idea, *, status: OutcomeStatus, response: str
) -> Outcome:
    """Record or replace the answer to an idea (one current outcome per idea)."""
    if not response.strip():
        raise ValidationFailed("Write a response that residents can read.", field="response")
    stmt = (
        insert(Outcome)
        .values(idea_id=idea.id, status=status, response=response.strip())
        .on_conflict_do_update(
            index_elements=[Outcome.idea_id],
            set_={"status": status, "response": response.strip(), "decided_at": func.now()},
        )
        .returning(Outcome)
    )
    outcome = await session.scalar(stmt, execution_options={"populate_existing": True})
    assert outcome is not None
    return outcome


async def outcomes_for(session: AsyncSession, idea_ids: Sequence[int]) -> list[Outcome]:
    rows = await session.scalars(select(Outcome).where(Outcome.idea_id.in_(idea_ids)))
    return list(rows)
