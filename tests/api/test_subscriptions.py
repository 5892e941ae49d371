"""Subscriptions over WebSocket (graphql-transport-ws) with the real gql client, against Moot
served by uvicorn on 127.0.0.1: comments posted on one server reach a subscriber on another
(LISTEN/NOTIFY), live ballot tallies, the limits, refusals, and no leaked broker subscriptions."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport
from starlette.applications import Starlette
from strawberry import relay
from websockets.typing import Subprotocol

from server.api.view import GraphQLApp
from server.app import create_app
from server.db import Database, create_engine
from server.identity.models import Account
from server.settings import Settings
from server.votes import service as votes
from server.votes.models import BallotKind
from tests.factories import make_account, make_call, make_idea, make_persona, make_token, now
from tests.votes.factories import make_ballot, make_voting_call
from tests.votes.test_pages import voter

WAIT = 10.0
STARTUP_TIMEOUT = 15.0

COMMENT_ADDED = gql(
    """subscription($idea: ID!) {
      commentAdded(ideaId: $idea) { id body depth author { displayName } parent { id } }
    }"""
)
POST_COMMENT = gql(
    """mutation($idea: ID!, $persona: ID!, $body: String!, $parent: ID) {
      postComment(input: {ideaId: $idea, personaId: $persona, body: $body, parentId: $parent}) {
        comment { id }
        errors { message }
      }
    }"""
)
BALLOT_TALLY = gql(
    """subscription($ballot: ID!) {
      ballotTally(ballotId: $ballot) {
        turnout at tally { optionNumber key count } ballot { id status liveResults }
      }
    }"""
)
CAST = gql(
    """mutation($ballot: ID!, $persona: ID!, $choices: JSON!) {
      castBallot(ballotId: $ballot, personaId: $persona, choices: $choices) {
        errors { message }
      }
    }"""
)


def gid(type_name: str, row_id: int) -> str:
    return relay.to_base64(type_name, row_id)


# --- servers ----------------------------------------------------------------------------------


class Live:
    """One Moot served by uvicorn in a thread of its own (its own event loop, engine and
    LISTEN connection: as separate as two processes, short of being them)."""

    def __init__(self, app: Starlette, port: int) -> None:
        self.app = app
        self.port = port
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}/graphql"

    def subscribers(self) -> int:
        broker = getattr(self.app.state, "live", None)
        return broker.subscriber_count if broker is not None else 0


async def _healthy(base_url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            assert thread.is_alive(), "server thread ended during startup"
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("server not healthy in time")


@asynccontextmanager
async def serve(url: str, tmp_path: Path) -> AsyncIterator[Live]:
    settings = Settings(database_url=url, var_dir=tmp_path / "var", environment="test")
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws="websockets-sansio",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    try:
        await _healthy(f"http://127.0.0.1:{port}", thread)
        yield Live(app, port)
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, STARTUP_TIMEOUT)
        sock.close()
        assert not thread.is_alive(), "server did not stop"


@pytest.fixture
async def database_url(fresh_database: Callable[[], Awaitable[str]]) -> str:
    return await fresh_database()


async def _write(url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    db = Database(create_engine(url, pool_size=1))
    try:
        async with db.session() as s, s.begin():
            return await work(s)
    finally:
        await db.dispose()


async def _token(session: Any, app: Starlette, account: Account) -> str:
    jwt = await make_token(session, app.state.keys, account)
    return jwt


def raw(live: Live) -> websockets.asyncio.client.connect:
    """A bare graphql-transport-ws socket, to send exactly what a test needs."""
    return websockets.connect(live.ws, subprotocols=[Subprotocol("graphql-transport-ws")])


def http_client(live: Live, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = HTTPXAsyncTransport(url=f"{live.http}/graphql", headers=headers)
    return Client(transport=transport, fetch_schema_from_transport=False)


def ws_client(live: Live, token: str | None = None) -> Client:
    transport = WebsocketsTransport(
        url=live.ws,
        init_payload={"Authorization": f"Bearer {token}"} if token else {},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    return Client(transport=transport, fetch_schema_from_transport=False)


async def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


# --- commentAdded -----------------------------------------------------------------------------


async def test_comment_posted_on_one_server_reaches_a_subscriber_on_another(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path / "a") as a, serve(database_url, tmp_path / "b") as b:

        async def setup(s: Any) -> tuple[int, int, str]:
            call = await make_call(s)
            idea = await make_idea(s, call)
            account = await make_account(s)
            persona = await make_persona(s, account, name="Ana from Exeter")
            return idea.id, persona.id, await _token(s, a.app, account)

        idea_id, persona_id, token = await _write(database_url, setup)
        idea, persona = gid("Idea", idea_id), gid("Persona", persona_id)
        received: list[dict[str, Any]] = []

        async def listen() -> None:
            async with ws_client(b) as session:  # anonymous
                request = GraphQLRequest(COMMENT_ADDED, variable_values={"idea": idea})
                async for result in session.subscribe(request):
                    received.append(result["commentAdded"])
                    if len(received) == 2:
                        return  # leaving the loop completes the subscription

        listener = asyncio.create_task(listen())
        await _until(lambda: b.subscribers() == 1, "the subscriber on server B")
        await asyncio.sleep(0.3)  # it notes the newest comment right after it listens

        async with http_client(a, token) as session:
            first = await session.execute(
                GraphQLRequest(
                    POST_COMMENT,
                    variable_values={"idea": idea, "persona": persona, "body": "Yes, please."},
                )
            )
            parent = first["postComment"]["comment"]["id"]
            await session.execute(
                GraphQLRequest(
                    POST_COMMENT,
                    variable_values={
                        "idea": idea,
                        "persona": persona,
                        "body": "And on Sundays.",
                        "parent": parent,
                    },
                )
            )
        await asyncio.wait_for(listener, WAIT)
        assert received == [
            {
                "id": parent,
                "body": "Yes, please.",
                "depth": 0,
                "author": {"displayName": "Ana from Exeter"},
                "parent": None,
            },
            {
                "id": received[1]["id"],
                "body": "And on Sundays.",
                "depth": 1,
                "author": {"displayName": "Ana from Exeter"},
                "parent": {"id": parent},
            },
        ]
        # Completing the subscription dropped the broker subscription.
        await _until(lambda: b.subscribers() == 0, "the broker subscription to be dropped")


async def test_disconnecting_drops_the_broker_subscription(
    database_url: str, tmp_path: Path
) -> None:
    idea_id = await _write(database_url, lambda s: _idea(s))
    async with serve(database_url, tmp_path) as server:
        ws = await raw(server)
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        for n in range(3):
            await ws.send(
                json.dumps(
                    {
                        "id": str(n),
                        "type": "subscribe",
                        "payload": {
                            "query": "subscription($i: ID!) { commentAdded(ideaId: $i) { id } }",
                            "variables": {"i": gid("Idea", idea_id)},
                        },
                    }
                )
            )
        await _until(lambda: server.subscribers() == 3, "three broker subscriptions")
        await ws.close()
        await _until(lambda: server.subscribers() == 0, "the broker subscriptions to be dropped")


async def _idea(s: Any) -> int:
    call = await make_call(s)
    return (await make_idea(s, call)).id


async def test_unknown_idea_is_refused(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path) as server, ws_client(server) as session:
        request = GraphQLRequest(COMMENT_ADDED, variable_values={"idea": gid("Idea", 999)})
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(request):
                pass
    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"


# --- ballotTally ------------------------------------------------------------------------------


async def test_ballot_tally_now_and_after_each_cast(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path / "a") as a, serve(database_url, tmp_path / "b") as b:

        async def setup(s: Any) -> tuple[int, list[int], list[tuple[int, str]]]:
            call = await make_voting_call(s)
            ballot = await make_ballot(s, call, BallotKind.APPROVAL, live_results=True)
            options = [o.id for o in await votes.options_of(s, ballot.id)]
            voters = []
            for area in ("EX", "PL"):
                account, persona = await voter(s, postcode_area=area)
                voters.append((persona.id, await _token(s, a.app, account)))
            return ballot.id, options, voters

        ballot_id, options, voters = await _write(database_url, setup)
        ballot = gid("Ballot", ballot_id)
        seen: list[dict[str, Any]] = []
        first_seen = asyncio.Event()

        async def listen() -> None:
            async with ws_client(b) as session:
                request = GraphQLRequest(BALLOT_TALLY, variable_values={"ballot": ballot})
                async for result in session.subscribe(request):
                    seen.append(result["ballotTally"])
                    first_seen.set()
                    if len(seen) == 3:
                        return

        listener = asyncio.create_task(listen())
        await asyncio.wait_for(first_seen.wait(), WAIT)
        for n, (persona_id, token) in enumerate(voters):
            async with http_client(a, token) as session:
                result = await session.execute(
                    GraphQLRequest(
                        CAST,
                        variable_values={
                            "ballot": ballot,
                            "persona": gid("Persona", persona_id),
                            "choices": [options[0]] if n == 0 else [options[0], options[1]],
                        },
                    )
                )
                assert result["castBallot"]["errors"] == []
            await _until(lambda n=n: len(seen) >= n + 2, f"the tally after cast {n + 1}")
        await asyncio.wait_for(listener, WAIT)
        assert [s["turnout"] for s in seen] == [0, 1, 2]
        assert seen[0]["tally"] == []
        assert seen[0]["ballot"] == {"id": ballot, "status": "OPEN", "liveResults": True}
        counts = [{(t["optionNumber"], t["key"]): t["count"] for t in s["tally"]} for s in seen]
        assert counts[1] == {(options[0], "count"): 1}
        assert counts[2] == {(options[0], "count"): 2, (options[1], "count"): 1}
        await _until(lambda: b.subscribers() == 0, "the broker subscription to be dropped")


async def test_ballot_tally_completes_when_voting_closes(database_url: str, tmp_path: Path) -> None:
    async def setup(s: Any) -> int:
        call = await make_voting_call(s)
        return (await make_ballot(s, call, BallotKind.APPROVAL, live_results=True)).id

    ballot_id = await _write(database_url, setup)
    async with serve(database_url, tmp_path) as server:
        seen: list[dict[str, Any]] = []

        async def listen() -> None:
            async with ws_client(server) as session:
                request = GraphQLRequest(
                    BALLOT_TALLY, variable_values={"ballot": gid("Ballot", ballot_id)}
                )
                async for result in session.subscribe(request):
                    seen.append(result["ballotTally"])

        listener = asyncio.create_task(listen())
        await _until(lambda: len(seen) == 1, "the first tally")

        async def close(s: Any) -> None:
            await votes.close_ballot(s, ballot_id, now=now(), actor=None)

        await _write(database_url, close)
        await asyncio.wait_for(listener, WAIT)  # completed by the server
        assert len(seen) == 1
        await _until(lambda: server.subscribers() == 0, "the broker subscription to be dropped")


async def test_ballot_without_live_results_is_refused(database_url: str, tmp_path: Path) -> None:
    async def setup(s: Any) -> int:
        call = await make_voting_call(s)
        return (await make_ballot(s, call, BallotKind.APPROVAL, live_results=False)).id

    ballot_id = await _write(database_url, setup)
    async with serve(database_url, tmp_path) as server, ws_client(server) as session:
        request = GraphQLRequest(BALLOT_TALLY, variable_values={"ballot": gid("Ballot", ballot_id)})
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(request):
                pass
        assert server.subscribers() == 0
    error = refused.value.errors[0]  # type: ignore[index]
    assert error["extensions"]["code"] == "LIVE_RESULTS_OFF"
    assert "does not show live results" in error["message"]


# --- limits and refusals ----------------------------------------------------------------------


async def test_limits_refuse_an_over_deep_subscription(database_url: str, tmp_path: Path) -> None:
    idea_id = await _write(database_url, lambda s: _idea(s))
    deep = "id " + "parent { " * 12 + "id" + " }" * 12
    query = gql(f"subscription($i: ID!) {{ commentAdded(ideaId: $i) {{ {deep} }} }}")
    async with serve(database_url, tmp_path) as server, ws_client(server) as session:
        request = GraphQLRequest(query, variable_values={"i": gid("Idea", idea_id)})
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(request):
                pass
        assert server.subscribers() == 0
    error = refused.value.errors[0]  # type: ignore[index]
    assert error["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert error["extensions"]["limit"] == 12


async def test_only_subscriptions_run_over_websocket(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path) as server, ws_client(server) as session:
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(gql("{ regions { name } }"))
    assert refused.value.errors[0]["extensions"]["code"] == "USE_HTTP"  # type: ignore[index]


async def test_subscriptions_per_connection_are_capped(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GraphQLApp, "max_subscriptions", 2)
    idea_id = await _write(database_url, lambda s: _idea(s))
    subscribe = {
        "query": "subscription($i: ID!) { commentAdded(ideaId: $i) { id } }",
        "variables": {"i": gid("Idea", idea_id)},
    }
    async with serve(database_url, tmp_path) as server:
        async with raw(server) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            for n in range(3):
                await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": subscribe}))
            refused = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
            assert refused["id"] == "2" and refused["type"] == "error"
            assert refused["payload"][0]["extensions"] == {
                "code": "TOO_MANY_SUBSCRIPTIONS",
                "limit": 2,
            }
            await _until(lambda: server.subscribers() == 2, "two running subscriptions")
            # Completing one makes room for another.
            await ws.send(json.dumps({"id": "0", "type": "complete"}))
            await _until(lambda: server.subscribers() == 1, "one subscription completed")
            await ws.send(json.dumps({"id": "3", "type": "subscribe", "payload": subscribe}))
            await _until(lambda: server.subscribers() == 2, "the new subscription")
        await _until(lambda: server.subscribers() == 0, "every subscription dropped")


async def test_idle_connections_are_closed(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GraphQLApp, "idle_timeout", 0.4)
    async with serve(database_url, tmp_path) as server, raw(server) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        with pytest.raises(websockets.ConnectionClosedOK):
            await asyncio.wait_for(ws.recv(), WAIT)
        assert ws.close_code == 1000
        assert "without a subscription" in (ws.close_reason or "")


async def test_bad_token_closes_the_connection(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path) as server, raw(server) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": "Bearer nonsense"}}
        await ws.send(json.dumps(init))
        with pytest.raises(websockets.ConnectionClosedError):
            await asyncio.wait_for(ws.recv(), WAIT)
        assert ws.close_code == 4401
