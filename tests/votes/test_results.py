"""Closing, publishing and showing results: every method's published result is what the methods
package computes, the exported file (secret: no persona; its hash), turnout against the eligible,
breakdowns counting each person once, live results only when allowed, closing when due."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.calls.models import Phase
from server.personas import service as personas
from server.personas.models import PersonaKind
from server.personas.service import PersonaInput
from server.votes import casting, export, methods, results, service
from server.votes.models import Ballot, BallotKind, BallotStatus, CastBallot, ResultMethod
from tests.factories import now
from tests.votes.factories import make_ballot, make_voting_call
from tests.votes.test_pages import option_ids, voter


def ballots_for(kind: BallotKind, o: list[int]) -> list[Any]:
    """Five people's ballots, valid for make_ballot's defaults."""
    if kind == BallotKind.STATEMENTS:
        a, b, c, d = (str(i) for i in o)
        return [
            {a: 1, b: 1, c: -1, d: 0},
            {a: 1, b: 1, c: -1, d: -1},
            {a: 1, b: -1, c: 1, d: 1},
            {a: 1, b: -1, c: 1, d: 1},
            {a: 1, b: 0, c: 1},
        ]
    if kind == BallotKind.RANKED:
        return [[o[0], o[1]], [o[1], o[0]], [o[2], o[1]], [o[0]], [o[2], o[0], o[1]]]
    if kind == BallotKind.BUDGETING:  # costs £200, £400, £600, £800 of £1,000
        return [[o[0], o[3]], [o[1], o[2]], [o[1]], [o[3]], [o[0], o[1]]]
    if kind == BallotKind.APPROVAL:
        return [[o[0], o[1]], [o[1]], [o[1], o[2]], [o[3]], [o[0]]]
    return [[o[0], o[1], o[2]], [o[1]], [o[1], o[2]], [o[3]], [o[0], o[1]]]


def expected(ballot: Ballot, o: list[int], contents: list[Any], rows: list[Any]) -> Any:
    """The result straight from the methods package."""
    if ballot.kind == BallotKind.SUPPORT:
        return methods.count_support(o, contents, threshold=ballot.threshold or 0)
    if ballot.kind == BallotKind.APPROVAL:
        return methods.count_approval(o, contents, limit=ballot.max_choices)
    if ballot.kind == BallotKind.RANKED:
        return methods.instant_runoff(o, contents)
    if ballot.kind == BallotKind.BUDGETING:
        costs = {i: (n + 1) * 20_000 for n, i in enumerate(o)}
        if ballot.result_method == ResultMethod.EQUAL_SHARES:
            return methods.equal_shares(costs, 100_000, contents, max_ballot_cost=100_000)
        return methods.greedy_budget(costs, 100_000, contents, max_ballot_cost=100_000)
    votes = {r.row_id: {int(k): v for k, v in r.content.items()} for r in rows}
    return methods.opinion_groups(votes, statements=o)


async def cast_all(session: AsyncSession, ballot: Ballot, contents: list[Any]) -> None:
    for content in contents:
        account, persona = await voter(session)
        await casting.cast(session, ballot.id, account, persona.id, content, now=now())


async def close_and_publish(session: AsyncSession, ballot: Ballot) -> Ballot:
    await service.close_ballot(session, ballot.id, now=now(), actor=None)
    published = await results.publish_results(session, ballot.id, now=now(), actor=None)
    await session.flush()
    return published


@pytest.mark.parametrize(
    ("kind", "method", "settings_", "table_text"),
    [
        (BallotKind.SUPPORT, ResultMethod.TOTALS, {"threshold": 3}, "Reached the threshold"),
        (BallotKind.APPROVAL, ResultMethod.TOTALS, {}, "Approvals per option"),
        (BallotKind.BUDGETING, ResultMethod.GREEDY, {}, "Decisions, in order of votes"),
        (BallotKind.BUDGETING, ResultMethod.EQUAL_SHARES, {}, "Payments: what each group"),
        (BallotKind.RANKED, ResultMethod.INSTANT_RUNOFF, {}, "Round 2"),
        (BallotKind.STATEMENTS, ResultMethod.OPINION_GROUPS, {}, "Opinion groups"),
    ],
)
async def test_each_methods_published_result_matches_the_methods_package(
    client: httpx.AsyncClient,
    session: AsyncSession,
    kind: BallotKind,
    method: ResultMethod,
    settings_: dict[str, Any],
    table_text: str,
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call, kind, **settings_)
    ballot.result_method = method  # the factory counts budgeting greedily
    o = await option_ids(session, ballot.id)
    contents = ballots_for(kind, o)
    await cast_all(session, ballot, contents)
    published = await close_and_publish(session, ballot)
    assert published.status == BallotStatus.PUBLISHED and published.published_at is not None
    with_file = await client.get(f"/votes/{ballot.id}/ballots.csv")
    rows = export.read_csv(with_file.text)
    assert published.result == methods.to_jsonable(expected(ballot, o, contents, rows))
    page = await client.get(f"/votes/{ballot.id}/results")
    assert page.status_code == 200
    assert table_text in page.text
    assert "How it was counted" in page.text
    assert "5 people voted" in page.text
    assert published.export_sha256 is not None and published.export_sha256 in page.text
    if kind == BallotKind.STATEMENTS:
        assert "Consensus: statements every group agrees" in page.text
        assert "Option 0" in page.text  # statements are named, not numbered, in the tables
        # The opinion map: every participant drawn as their group's letter, with a text title.
        assert '<h2 id="opinion-map-heading">Opinion map</h2>' in page.text
        letters = re.findall(r'<text [^>]*class="group-([A-Z])">\1</text>', page.text)
        # (the fifth voter answered too few statements to be placed, as the method documents)
        assert len(letters) == len(published.result["points"]) == 4
        assert "Opinion map of 4 participants in" in page.text
    else:
        assert "Opinion map" not in page.text


async def test_secret_export_carries_no_persona_and_its_hash_matches(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call, BallotKind.APPROVAL)
    o = await option_ids(session, ballot.id)
    names = []
    for content in ([o[0]], [o[1]], [o[0], o[1]]):
        account, persona = await voter(session)
        names.append(persona.display_name)
        await casting.cast(session, ballot.id, account, persona.id, content, now=now())
    assert (await client.get(f"/votes/{ballot.id}/ballots.csv")).status_code == 404
    published = await close_and_publish(session, ballot)
    response = await client.get(f"/votes/{ballot.id}/ballots.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert hashlib.sha256(response.content).hexdigest() == published.export_sha256
    assert response.text.splitlines()[0] == "row_id,content"
    records = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(json.loads(r["content"]) for r in records) == sorted([[o[0]], [o[1]], o[:2]])
    assert len({r["row_id"] for r in records}) == 3
    assert all(len(r["row_id"]) == 16 for r in records)
    for name in names:
        assert name not in response.text
    persona_ids = await session.scalars(
        select(CastBallot.persona_id).where(CastBallot.ballot_id == ballot.id)
    )
    for persona_id in persona_ids:
        assert str(persona_id) not in {r["row_id"] for r in records}
    # Served again, byte for byte the same file.
    again = await client.get(f"/votes/{ballot.id}/ballots.csv")
    assert again.content == response.content


async def test_public_export_names_the_personas(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call, BallotKind.APPROVAL, secret=False)
    o = await option_ids(session, ballot.id)
    account, persona = await voter(session)
    await casting.cast(session, ballot.id, account, persona.id, [o[2]], now=now())
    await close_and_publish(session, ballot)
    text = (await client.get(f"/votes/{ballot.id}/ballots.csv")).text
    (record,) = list(csv.DictReader(io.StringIO(text)))
    assert record["persona_id"] == str(persona.id)
    assert record["persona_name"] == persona.display_name
    assert json.loads(record["content"]) == [o[2]]


async def test_turnout_against_the_eligible_and_breakdowns_count_a_person_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(
        session, call, BallotKind.APPROVAL, eligibility={"postcode_areas": ["EX", "TR"]}
    )
    o = await option_ids(session, ballot.id)
    twice, pseudonym = await voter(session, postcode_area="EX")
    resident = await personas.create_persona(
        session, twice, PersonaInput(PersonaKind.RESIDENT, "Jo, resident of Exeter"), now=now()
    )
    other, other_persona = await voter(session, postcode_area="TR")
    await voter(session, postcode_area="EX")  # eligible, does not vote
    await voter(session, postcode_area="PL")  # not eligible
    await casting.cast(session, ballot.id, twice, pseudonym.id, [o[0]], now=now())
    await casting.cast(session, ballot.id, twice, resident.id, [o[0], o[1]], now=now())
    await casting.cast(session, ballot.id, other, other_persona.id, [o[1]], now=now())
    published = await close_and_publish(session, ballot)
    groups = await results.breakdowns(session, published, now())
    kinds = {g.label: (g.voters, g.counts) for g in groups["persona_kind"]}
    assert kinds == {"Residents": (1, {o[0]: 1, o[1]: 1}), "Pseudonyms": (1, {o[1]: 1})}
    areas = {g.label: g.voters for g in groups["postcode_area"]}
    assert areas == {"EX": 1, "TR": 1}
    assert await results.eligible_count(session, published, now()) == 3
    page = await client.get(f"/votes/{ballot.id}/results")
    assert "2 people voted, of 3 eligible verified residents (67%)" in page.text
    assert "Votes were changed 1 time in all." in page.text
    assert "By kind of persona" in page.text and "By verified postcode area" in page.text


async def test_live_results_only_when_the_vote_allows(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    hidden = await make_ballot(session, call, BallotKind.APPROVAL)
    live = await make_ballot(session, call, BallotKind.APPROVAL, live_results=True)
    for ballot in (hidden, live):
        o = await option_ids(session, ballot.id)
        account, persona = await voter(session)
        await casting.cast(session, ballot.id, account, persona.id, [o[1]], now=now())
    await session.flush()
    page = await client.get(f"/votes/{hidden.id}/results")
    assert "Results will be published when voting closes" in page.text
    assert "Choices so far" not in page.text
    page = await client.get(f"/votes/{live.id}/results")
    assert "Live results" in page.text and "Choices so far" in page.text
    await service.close_ballot(session, live.id, now=now(), actor=None)
    await session.flush()
    page = await client.get(f"/votes/{live.id}/results")
    assert "Voting has closed. The result will be published soon." in page.text
    assert "Choices so far" not in page.text


async def test_viewing_results_after_the_phase_closes_the_vote(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call)
    phase = await session.get(Phase, ballot.phase_id)
    assert phase is not None
    ended = now() - dt.timedelta(minutes=5)
    phase.ends_at = ended
    await session.flush()
    page = await client.get(f"/votes/{ballot.id}/results")
    assert page.status_code == 200
    assert "Voting has closed" in page.text
    refreshed = await session.get(Ballot, ballot.id, populate_existing=True)
    assert refreshed is not None and refreshed.status == BallotStatus.CLOSED
    assert refreshed.closed_at == ended
    assert await results.close_due_ballots(session, now()) == []  # nothing left to close


async def test_close_due_ballots_leaves_running_votes_alone(session: AsyncSession) -> None:
    call = await make_voting_call(session)
    running = await make_ballot(session, call)
    due = await make_ballot(session, await make_voting_call(session, slug="ended-vote"))
    phase = await session.get(Phase, due.phase_id)
    assert phase is not None
    phase.ends_at = now() - dt.timedelta(hours=1)
    await session.flush()
    assert await results.close_due_ballots(session, now()) == [due.id]
    await session.refresh(running)
    assert running.status == BallotStatus.OPEN


async def test_definition_json_describes_the_vote(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call, BallotKind.BUDGETING)
    o = await option_ids(session, ballot.id)
    spec = (await client.get(f"/votes/{ballot.id}/definition.json")).json()
    assert spec["kind"] == "budgeting" and spec["method"] == "greedy"
    assert spec["budget"] == 100_000 and spec["tie_order"] == sorted(o)
    assert [opt["cost"] for opt in spec["options"]] == [20_000, 40_000, 60_000, 80_000]
    assert "published" not in spec
    verify = await client.get(f"/votes/{ballot.id}/verify")
    assert "The ballots are published with the result" in verify.text
