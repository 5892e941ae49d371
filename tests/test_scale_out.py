"""Two app processes on one database, as replicas behind a load balancer: live updates and
rate limits hold across them because both live in PostgreSQL, not in process memory."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from server import demo
from server.db import Database, create_engine
from server.ideas.models import Idea
from server.identity import service as identity
from server.settings import PROJECT_ROOT
from server.web import now
from tests.factories import make_account, make_persona
from tests.test_serve import _free_port

RATE = 6  # GraphQL requests a minute per address, across every process


def _start(url: str, var_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MOOT_VAR_DIR": str(var_dir),
        "GRAPHQL_RATE_PER_MINUTE": str(RATE),
        "LOG_LEVEL": "WARNING",
    }
    log = (var_dir / f"serve-{port}.log").open("ab")
    with log:
        return subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
async def replicas(
    fresh_database: Callable[[], Awaitable[str]], tmp_path: Path
) -> AsyncIterator[tuple[str, list[str]]]:
    url = await fresh_database()
    db = Database(create_engine(url, pool_size=1))
    async with db.session() as s, s.begin():
        await demo.load(s, now=now())
    await db.dispose()
    # One var dir: the replicas share their generated secrets, as they would share a Secret.
    ports = [_free_port(), _free_port()]
    procs = [_start(url, tmp_path, port) for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as c:
            for base, proc in zip(bases, procs, strict=True):
                while True:
                    assert proc.poll() is None, "a replica exited at start"
                    try:
                        if (await c.get(f"{base}/healthz", timeout=1)).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, "replicas did not start"
                    await asyncio.sleep(0.2)
        yield url, bases
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def test_rate_limits_are_shared_by_every_replica(replicas: tuple[str, list[str]]) -> None:
    _, bases = replicas
    statuses = []
    async with httpx.AsyncClient(timeout=10) as c:
        for i in range(RATE + 2):
            response = await c.post(
                f"{bases[i % 2]}/graphql", json={"query": "{ regions { name } }"}
            )
            statuses.append(response.status_code)
    # Each replica alone has seen only half the requests: only a shared count refuses these.
    assert statuses[:RATE] == [200] * RATE
    assert statuses[RATE:] == [429, 429]


async def test_a_comment_on_one_replica_reaches_a_viewer_of_the_other(
    replicas: tuple[str, list[str]],
) -> None:
    url, (writer_base, viewer_base) = replicas
    db = Database(create_engine(url, pool_size=1))
    async with db.session() as s, s.begin():
        account = await make_account(s)
        persona = await make_persona(s, account, name="Wren, resident of Topsham")
        token = await identity.start_session(s, account, now=now())
        idea_id = await s.scalar(
            select(Idea.id).where(Idea.published_at.is_not(None)).order_by(Idea.id).limit(1)
        )
    await db.dispose()
    text = "Replicas share their news through PostgreSQL."
    stream_url = f"{viewer_base}/ideas/{idea_id}/comments/stream"
    async with (
        httpx.AsyncClient(timeout=20) as viewer,
        httpx.AsyncClient(timeout=20) as writer,
        viewer.stream("GET", stream_url, headers={"accept": "text/event-stream"}) as stream,
    ):
        lines = stream.aiter_lines()
        assert (await anext(lines)).startswith("retry:")  # subscribed before the post
        writer.cookies.set("moot_session", token)
        page = await writer.get(f"{writer_base}/ideas/{idea_id}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        posted = await writer.post(
            f"{writer_base}/ideas/{idea_id}/comments",
            data={
                "csrf_token": csrf.group(1),
                "persona_id": str(persona.id),
                "body": text,
                "stance": "for",
            },
        )
        assert posted.status_code == 303, posted.text
        seen = ""
        async with asyncio.timeout(15):
            async for line in lines:
                seen += line
                if text in seen:
                    break
    assert text in seen
