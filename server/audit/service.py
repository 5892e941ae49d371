"""The audit log: who did what to which record, and when. Written in the caller's transaction,
so an action and its audit entry are committed together or not at all."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEntry


async def record(
    session: AsyncSession,
    *,
    actor: int | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    **details: Any,
) -> None:
    session.add(
        AuditEntry(
            actor_account_id=actor,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            details=details,
        )
    )
