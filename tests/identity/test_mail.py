"""Mail goes out through a real SMTP conversation when SMTP_URL is set."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from server.db import Database
from server.identity import mail
from server.identity.models import OutboxMessage


class TinySmtpServer:
    """Just enough SMTP (RFC 5321) for smtplib to hand over a message, on loopback."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 tiny ESMTP\r\n")
        while line := await reader.readline():
            verb = line.decode().strip().split(" ")[0].upper()
            if verb in {"EHLO", "HELO"}:
                writer.write(b"250 tiny\r\n")
            elif verb in {"MAIL", "RCPT", "RSET", "NOOP"}:
                writer.write(b"250 ok\r\n")
            elif verb == "DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                body = await reader.readuntil(b"\r\n.\r\n")
                self.messages.append(body.decode())
                writer.write(b"250 queued\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"502 not implemented\r\n")
            await writer.drain()
        writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[TinySmtpServer, int]]:
    server = TinySmtpServer()
    port = await server.start()
    yield server, port
    await server.stop()


async def test_queued_mail_is_sent_once_over_smtp(
    live_db: Database, smtp: tuple[TinySmtpServer, int]
) -> None:
    server, port = smtp
    async with live_db.session() as s, s.begin():
        await mail.queue(
            s, to="jane@example.org", subject="Your Moot sign-in link", body="Hello Jane"
        )
    async with live_db.session() as s, s.begin():
        assert await mail.deliver_pending(s, f"smtp://127.0.0.1:{port}") == 1
    async with live_db.session() as s, s.begin():
        assert await mail.deliver_pending(s, f"smtp://127.0.0.1:{port}") == 0  # nothing twice
        sent = await s.scalar(select(OutboxMessage))
        assert sent is not None and sent.sent_at is not None
    assert len(server.messages) == 1
    assert (
        "Subject: Your Moot sign-in link" in server.messages[0]
        and "Hello Jane" in server.messages[0]
    )


async def test_an_unreachable_server_keeps_the_mail_for_later(live_db: Database) -> None:
    async with live_db.session() as s, s.begin():
        await mail.queue(s, to="a@example.org", subject="S", body="B")
    async with live_db.session() as s, s.begin():
        assert await mail.deliver_pending(s, "smtp://127.0.0.1:9") == 0  # discard port: refused
        pending = await s.scalar(select(OutboxMessage))
        assert pending is not None and pending.sent_at is None


async def test_the_app_sends_in_the_background(
    live_db: Database, smtp: tuple[TinySmtpServer, int], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from server.app import create_app
    from server.settings import Settings

    server, port = smtp
    settings = Settings(var_dir=tmp_path, environment="test", smtp_url=f"smtp://127.0.0.1:{port}")
    app = create_app(settings, db=live_db)
    async with live_db.session() as s, s.begin():
        await mail.queue(s, to="b@example.org", subject="Background", body="Sent by the loop")
    async with app.router.lifespan_context(app):  # the app running, with nobody visiting
        for _ in range(50):
            if server.messages:
                break
            await asyncio.sleep(0.1)
    assert len(server.messages) == 1 and "Background" in server.messages[0]
