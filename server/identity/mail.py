"""Outgoing mail. With SMTP_URL set, messages go to that server; without it they stay in the
outbox table, where `moot outbox` and the development page show them, so the demo works offline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.identity.models import OutboxMessage

log = logging.getLogger(__name__)

FROM_ADDRESS = "Moot <no-reply@moot.localhost>"


async def queue(session: AsyncSession, *, to: str, subject: str, body: str) -> OutboxMessage:
    """Queue a message in the caller's transaction: it is sent only if the action commits."""
    message = OutboxMessage(to_address=to, subject=subject, body=body)
    session.add(message)
    await session.flush()
    return message


def _send_smtp(smtp_url: str, message: OutboxMessage) -> None:
    url = urlsplit(smtp_url)
    email = EmailMessage()
    email["From"] = FROM_ADDRESS
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email.set_content(message.body)
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with smtp_class(url.hostname or "localhost", url.port or 25, timeout=10) as smtp:
        if url.scheme == "smtp+starttls":
            smtp.starttls()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(email)


async def deliver_pending(session: AsyncSession, smtp_url: str | None) -> int:
    """Send what is queued (no-op without SMTP). Returns how many were sent."""
    if not smtp_url:
        return 0
    pending = list(
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(100)
            .with_for_update(skip_locked=True)
        )
    )
    sent = 0
    for message in pending:
        try:
            await asyncio.to_thread(_send_smtp, smtp_url, message)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("could not send mail %s: %s", message.id, type(exc).__name__)
            continue
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id)
            .values(sent_at=dt.datetime.now(dt.UTC))
        )
        sent += 1
    return sent


async def recent(session: AsyncSession, *, limit: int = 50) -> list[OutboxMessage]:
    return list(
        await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit))
    )


async def delivery_loop(db: Any, smtp_url: str, *, interval: float = 5.0) -> None:
    """Send queued mail every few seconds while the app runs (started by the app's lifespan
    when SMTP_URL is set). Several processes may run it: rows are claimed with SKIP LOCKED."""
    while True:
        try:
            async with db.session() as session, session.begin():
                await deliver_pending(session, smtp_url)
        except Exception:  # a database blip must not end the loop
            log.exception("mail delivery failed; retrying")
        await asyncio.sleep(interval)
