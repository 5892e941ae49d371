"""`moot results verify` end to end: download a published vote's ballots and definition, recount,
and say OK; a tampered file (changed ballot, or changed bytes only) is caught, exit 1."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from server.cli import app as cli
from server.votes import casting, export, results, service
from server.votes.models import BallotKind, ResultMethod
from tests.factories import now
from tests.votes.factories import make_ballot, make_voting_call
from tests.votes.test_pages import option_ids, voter


async def _published(
    client: httpx.AsyncClient, session: AsyncSession, kind: BallotKind, method: ResultMethod
) -> tuple[int, bytes, bytes]:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call, kind, secret=False)
    ballot.result_method = method
    o = await option_ids(session, ballot.id)
    if kind == BallotKind.RANKED:
        contents: list[Any] = [[o[0], o[1]], [o[1]], [o[2], o[1]], [o[1], o[0]], [o[0]]]
    else:
        contents = [[o[0], o[3]], [o[1], o[2]], [o[1]], [o[3]], [o[0], o[1]]]
    for content in contents:
        account, persona = await voter(session)
        await casting.cast(session, ballot.id, account, persona.id, content, now=now())
    await service.close_ballot(session, ballot.id, now=now(), actor=None)
    await results.publish_results(session, ballot.id, now=now(), actor=None)
    await session.flush()
    ballots = (await client.get(f"/votes/{ballot.id}/ballots.csv")).content
    definition = (await client.get(f"/votes/{ballot.id}/definition.json")).content
    return ballot.id, ballots, definition


def _verify(tmp_path: Path, ballots: bytes, definition: bytes) -> Any:
    (tmp_path / "ballots.csv").write_bytes(ballots)
    (tmp_path / "definition.json").write_bytes(definition)
    return CliRunner().invoke(
        cli,
        [
            "results",
            "verify",
            "--ballots",
            str(tmp_path / "ballots.csv"),
            "--ballot-json",
            str(tmp_path / "definition.json"),
        ],
    )


@pytest.mark.parametrize(
    ("kind", "method"),
    [
        (BallotKind.BUDGETING, ResultMethod.EQUAL_SHARES),
        (BallotKind.RANKED, ResultMethod.INSTANT_RUNOFF),
    ],
)
async def test_verify_says_ok_for_a_published_vote(
    client: httpx.AsyncClient,
    session: AsyncSession,
    tmp_path: Path,
    kind: BallotKind,
    method: ResultMethod,
) -> None:
    _, ballots, definition = await _published(client, session, kind, method)
    outcome = _verify(tmp_path, ballots, definition)
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.startswith("OK: the recount matches the published result")


async def test_verify_catches_a_tampered_file(
    client: httpx.AsyncClient, session: AsyncSession, tmp_path: Path
) -> None:
    _, ballots, definition = await _published(
        client, session, BallotKind.BUDGETING, ResultMethod.GREEDY
    )
    # One ballot's content replaced by another's: a different count and a different hash.
    rows = export.read_csv(ballots.decode())
    rows[0] = dataclasses.replace(rows[0], content=rows[1].content)
    tampered = export.write_csv(rows, secret=False)
    outcome = _verify(tmp_path, tampered.encode(), definition)
    assert outcome.exit_code == 1, outcome.output
    assert "does NOT match" in outcome.output
    assert "SHA-256" in outcome.output
    assert "result." in outcome.output  # the differing parts of the result are listed


async def test_verify_catches_changed_bytes_with_the_same_ballots(
    client: httpx.AsyncClient, session: AsyncSession, tmp_path: Path
) -> None:
    _, ballots, definition = await _published(
        client, session, BallotKind.RANKED, ResultMethod.INSTANT_RUNOFF
    )
    outcome = _verify(tmp_path, ballots.replace(b"\n", b"\r\n"), definition)
    assert outcome.exit_code == 1
    assert "The file's SHA-256 is" in outcome.output
    assert "result." not in outcome.output  # the recount itself still matches


async def test_verify_from_the_votes_address(
    client: httpx.AsyncClient,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ballot_id, ballots, definition = await _published(
        client, session, BallotKind.BUDGETING, ResultMethod.EQUAL_SHARES
    )
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path.endswith("/ballots.csv"):
            return httpx.Response(200, content=ballots)
        if request.url.path.endswith("/definition.json"):
            return httpx.Response(200, content=definition)
        return httpx.Response(404)

    real = httpx.Client
    monkeypatch.setattr(
        httpx, "Client", lambda **kw: real(transport=httpx.MockTransport(handler), **kw)
    )
    outcome = CliRunner().invoke(
        cli, ["results", "verify", f"https://moot.example/votes/{ballot_id}/results"]
    )
    assert outcome.exit_code == 0, outcome.output
    assert "OK" in outcome.output
    assert asked == [f"/votes/{ballot_id}/definition.json", f"/votes/{ballot_id}/ballots.csv"]


def test_verify_needs_files_or_an_address() -> None:
    outcome = CliRunner().invoke(cli, ["results", "verify"])
    assert outcome.exit_code == 2
