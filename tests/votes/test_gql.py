"""Votes through the API with a real GraphQL client (gql): casting each kind, bad input as user
errors (nothing changes), permissions as GraphQL errors, organisers' mutations through to a
published result, the caller's own vote, live tallies only when allowed, and no N+1."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from sqlalchemy import select
from strawberry import relay

from server.db import Database
from server.identity.models import Account, Role
from server.identity.service import grant_role
from server.personas.models import Persona
from server.votes import service
from server.votes.models import Ballot, BallotKind, CastBallot
from tests.factories import make_account, make_persona, make_token, now
from tests.statements import statements_sent
from tests.votes.factories import make_ballot, make_voting_call
from tests.votes.test_pages import voter


@pytest.fixture
def vote_app(live_app: Any) -> Any:
    return live_app


def client_for(app: Any, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = HTTPXAsyncTransport(
        url="http://localhost/graphql",
        headers=headers,
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
    )
    return Client(transport=transport, fetch_schema_from_transport=False)


async def token_for(s: Any, app: Any, account: Account) -> str:
    jwt = await make_token(s, app.state.keys, account)
    return jwt


def gid(type_name: str, row_id: int) -> str:
    return relay.to_base64(type_name, row_id)


CAST = gql(
    """mutation($ballot: ID!, $persona: ID!, $choices: JSON!) {
      castBallot(ballotId: $ballot, personaId: $persona, choices: $choices) {
        ballot { turnout changesCount }
        myVote { content changes persona { displayName } }
        errors { field message code }
      }
    }"""
)
BALLOT = gql(
    """query($id: ID!) {
      ballot(id: $id) {
        kind title status rules eligibility closesAt turnout changesCount exportSha256
        options { number title cost idea { title } }
        liveTally { optionNumber key count }
        result { method data steps { kind message option values } }
        myVote { content changes }
      }
    }"""
)


class Setup:
    """A voting call with one ballot, a resident with a token, all committed."""

    ballot: int
    options: list[int]
    persona: Persona
    account: Account
    token: str


async def setup(live_db: Database, app: Any, kind: BallotKind, **settings: Any) -> Setup:
    out = Setup()
    async with live_db.session() as s, s.begin():
        call = await make_voting_call(s)
        ballot = await make_ballot(s, call, kind, **settings)
        out.ballot = ballot.id
        out.options = [o.id for o in await service.options_of(s, ballot.id)]
        out.account, out.persona = await voter(s, postcode_area="EX")
        out.token = await token_for(s, app, out.account)
    return out


def choices_for(kind: BallotKind, o: list[int]) -> tuple[Any, Any]:
    """What castBallot is sent, and the content stored."""
    if kind == BallotKind.STATEMENTS:
        return {str(o[0]): 1, gid("BallotOption", o[1]): -1}, {str(o[0]): 1, str(o[1]): -1}
    if kind == BallotKind.RANKED:
        return [o[2], gid("BallotOption", o[0])], [o[2], o[0]]
    if kind == BallotKind.BUDGETING:
        return [o[1], o[0]], [o[0], o[1]]
    return [o[1], o[0]], [o[0], o[1]]


@pytest.mark.parametrize("kind", list(BallotKind))
async def test_cast_each_kind_through_the_api(
    vote_app: Any, live_db: Database, kind: BallotKind
) -> None:
    data = await setup(live_db, vote_app, kind)
    sent, stored = choices_for(kind, data.options)
    variables = {
        "ballot": gid("Ballot", data.ballot),
        "persona": gid("Persona", data.persona.id),
        "choices": sent,
    }
    async with client_for(vote_app, data.token) as session:
        first = (await session.execute(GraphQLRequest(CAST, variable_values=variables)))[
            "castBallot"
        ]
        assert first["errors"] == []
        assert first["myVote"]["content"] == stored and first["myVote"]["changes"] == 0
        assert first["myVote"]["persona"]["displayName"] == data.persona.display_name
        again = (await session.execute(GraphQLRequest(CAST, variable_values=variables)))[
            "castBallot"
        ]
        assert again["myVote"]["changes"] == 1
        assert again["ballot"] == {"turnout": 1, "changesCount": 1}
        ballot = (
            await session.execute(
                GraphQLRequest(BALLOT, variable_values={"id": gid("Ballot", data.ballot)})
            )
        )["ballot"]
    assert ballot["myVote"] == {"content": stored, "changes": 1}
    assert ballot["kind"] == kind.name and ballot["status"] == "OPEN"
    assert ballot["eligibility"] == "Anyone signed in can vote."
    assert ballot["liveTally"] is None and ballot["result"] is None
    assert [o["number"] for o in ballot["options"]] == data.options
    # Someone else sees the vote, but not this person's ballot.
    async with client_for(vote_app) as anonymous:
        seen = await anonymous.execute(
            GraphQLRequest(BALLOT, variable_values={"id": gid("Ballot", data.ballot)})
        )
    assert seen["ballot"]["myVote"] is None and seen["ballot"]["turnout"] == 1


@pytest.mark.parametrize(
    ("kind", "extra", "choices", "code", "message"),
    [
        (BallotKind.APPROVAL, {}, lambda o: o[:3], "INVALID_INPUT", "Choose at most 2 options"),
        (BallotKind.BUDGETING, {}, lambda o: o[2:], "INVALID_INPUT", "over the budget"),
        (
            BallotKind.RANKED,
            {},
            lambda o: [o[1], o[0], o[1]],
            "INVALID_INPUT",
            "rank an option twice",
        ),
        (BallotKind.APPROVAL, {}, lambda o: [999_999], "INVALID_INPUT", "not part of this vote"),
        (BallotKind.APPROVAL, {}, lambda o: ["nonsense"], "INVALID_INPUT", "not an option"),
        (BallotKind.APPROVAL, {}, lambda o: {"a": 1}, "INVALID_INPUT", "as a list"),
        (
            BallotKind.APPROVAL,
            {"eligibility": {"postcode_areas": ["TR"]}},
            lambda o: o[:1],
            "NOT_ELIGIBLE",
            "postcode area TR",
        ),
        (BallotKind.APPROVAL, {"closed": True}, lambda o: o[:1], "VOTING_CLOSED", "not open"),
    ],
)
async def test_bad_input_is_a_user_error_and_changes_nothing(
    vote_app: Any,
    live_db: Database,
    kind: BallotKind,
    extra: dict[str, Any],
    choices: Any,
    code: str,
    message: str,
) -> None:
    extra = dict(extra)
    closed = extra.pop("closed", False)
    data = await setup(live_db, vote_app, kind, **extra)
    if closed:
        async with live_db.session() as s, s.begin():
            await service.close_ballot(s, data.ballot, now=now(), actor=None)
    variables = {
        "ballot": gid("Ballot", data.ballot),
        "persona": gid("Persona", data.persona.id),
        "choices": choices(data.options),
    }
    async with client_for(vote_app, data.token) as session:
        result = (await session.execute(GraphQLRequest(CAST, variable_values=variables)))[
            "castBallot"
        ]
    assert result["myVote"] is None and result["ballot"] is None
    (error,) = result["errors"]
    assert error["code"] == code and message in error["message"]
    async with live_db.session() as s:
        assert list(await s.scalars(select(CastBallot))) == []


async def test_someone_elses_persona_is_a_graphql_error(vote_app: Any, live_db: Database) -> None:
    data = await setup(live_db, vote_app, BallotKind.APPROVAL)
    async with live_db.session() as s, s.begin():
        other = await make_persona(s)
    variables = {
        "ballot": gid("Ballot", data.ballot),
        "persona": gid("Persona", other.id),
        "choices": data.options[:1],
    }
    async with client_for(vote_app, data.token) as session:
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(GraphQLRequest(CAST, variable_values=variables))
    assert refused.value.errors and refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"
    async with client_for(vote_app) as anonymous:
        with pytest.raises(TransportQueryError) as signed_out:
            await anonymous.execute(GraphQLRequest(CAST, variable_values=variables))
    assert signed_out.value.errors
    assert signed_out.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


CREATE = gql(
    """mutation($call: ID!, $input: CreateBallotInput!) {
      createBallot(callId: $call, input: $input) {
        ballot { id status title options { title cost } }
        errors { field message code }
      }
    }"""
)
ACTIONS = {
    name: gql(
        f"""mutation($id: ID!) {{ {name}(ballotId: $id) {{
          ballot {{ status exportSha256 }} errors {{ message code }} }} }}"""
    )
    for name in ("openBallot", "closeBallot", "publishResults")
}


async def test_organisers_create_open_close_and_publish(vote_app: Any, live_db: Database) -> None:
    async with live_db.session() as s, s.begin():
        call = await make_voting_call(s)
        organiser = await make_account(s)
        await grant_role(s, organiser, Role.ORGANISER, actor=None, organiser_id=call.organiser_id)
        organiser_token = await token_for(s, vote_app, organiser)
        resident, persona = await voter(s)
        resident_token = await token_for(s, vote_app, resident)
    spend = {
        "kind": "BUDGETING",
        "title": "Ward budget",
        "resultMethod": "EQUAL_SHARES",
        "budget": 50_000,
        "options": [{"title": "Benches", "cost": 20_000}, {"title": "Trees", "cost": 40_000}],
        "eligibility": {},
        "secret": True,
    }
    variables = {"call": gid("Call", call.id), "input": spend}
    async with client_for(vote_app, resident_token) as session:
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(GraphQLRequest(CREATE, variable_values=variables))
    assert refused.value.errors and refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"
    async with client_for(vote_app, organiser_token) as session:
        bad = (
            await session.execute(
                GraphQLRequest(
                    CREATE,
                    variable_values={"call": variables["call"], "input": {**spend, "budget": None}},
                )
            )
        )["createBallot"]
        assert bad["ballot"] is None
        assert bad["errors"] == [
            {"field": "budget", "message": "Give the budget to share out.", "code": "INVALID_INPUT"}
        ]
        created = (await session.execute(GraphQLRequest(CREATE, variable_values=variables)))[
            "createBallot"
        ]
        assert created["errors"] == [] and created["ballot"]["status"] == "DRAFT"
        ballot_gid = created["ballot"]["id"]
        opened = await session.execute(
            GraphQLRequest(ACTIONS["openBallot"], variable_values={"id": ballot_gid})
        )
        assert opened["openBallot"]["ballot"]["status"] == "OPEN"
        again = await session.execute(
            GraphQLRequest(ACTIONS["openBallot"], variable_values={"id": ballot_gid})
        )
        assert again["openBallot"]["errors"][0]["code"] == "CONFLICT"
    ballot_id = int(relay.GlobalID.from_id(ballot_gid).node_id)
    async with live_db.session() as s:
        options = [o.id for o in await service.options_of(s, ballot_id)]
    async with client_for(vote_app, resident_token) as session:
        cast = await session.execute(
            GraphQLRequest(
                CAST,
                variable_values={
                    "ballot": ballot_gid,
                    "persona": gid("Persona", persona.id),
                    "choices": [options[0]],
                },
            )
        )
        assert cast["castBallot"]["errors"] == []
        with pytest.raises(TransportQueryError):
            await session.execute(
                GraphQLRequest(ACTIONS["closeBallot"], variable_values={"id": ballot_gid})
            )
    async with client_for(vote_app, organiser_token) as session:
        closed = await session.execute(
            GraphQLRequest(ACTIONS["closeBallot"], variable_values={"id": ballot_gid})
        )
        assert closed["closeBallot"]["ballot"]["status"] == "CLOSED"
        published = await session.execute(
            GraphQLRequest(ACTIONS["publishResults"], variable_values={"id": ballot_gid})
        )
        assert published["publishResults"]["ballot"]["status"] == "PUBLISHED"
        sha = published["publishResults"]["ballot"]["exportSha256"]
        ballot = (
            await session.execute(GraphQLRequest(BALLOT, variable_values={"id": ballot_gid}))
        )["ballot"]
    assert ballot["exportSha256"] == sha and len(sha) == 64
    result = ballot["result"]
    assert result["method"] == "EQUAL_SHARES"
    assert result["data"]["funded"] == [options[0]]
    assert result["steps"][0]["kind"] == "setup"
    async with live_db.session() as s:
        row = await s.get(Ballot, ballot_id)
        assert row is not None and row.result == result["data"]


async def test_live_tally_only_when_allowed(vote_app: Any, live_db: Database) -> None:
    data = await setup(live_db, vote_app, BallotKind.APPROVAL, live_results=True)
    variables = {
        "ballot": gid("Ballot", data.ballot),
        "persona": gid("Persona", data.persona.id),
        "choices": [data.options[1]],
    }
    async with client_for(vote_app, data.token) as session:
        await session.execute(GraphQLRequest(CAST, variable_values=variables))
        ballot = (
            await session.execute(
                GraphQLRequest(BALLOT, variable_values={"id": gid("Ballot", data.ballot)})
            )
        )["ballot"]
    assert ballot["liveTally"] == [{"optionNumber": data.options[1], "key": "count", "count": 1}]


BALLOT_FIELDS = """
  title status closesAt turnout changesCount rules
  options { title cost idea { title } }
  liveTally { count }
  myVote { changes }
"""
CALL_BALLOTS = gql(
    f"query($slug: String!) {{ call(slug: $slug) {{ ballots {{ {BALLOT_FIELDS} }} }} }}"
)


async def test_statement_count_does_not_grow_with_ballots(vote_app: Any, live_db: Database) -> None:
    async with live_db.session() as s, s.begin():
        small = await make_voting_call(s, slug="small-vote")
        large = await make_voting_call(s, slug="large-vote")
        await make_ballot(s, small)
        for kind in (BallotKind.APPROVAL, BallotKind.BUDGETING, BallotKind.RANKED):
            ballot = await make_ballot(s, large, kind, live_results=True)
            options = await service.options_of(s, ballot.id)
            from server.votes import casting

            for _ in range(2):
                account, persona = await voter(s)
                await casting.cast(s, ballot.id, account, persona.id, [options[0].id], now=now())
        account, _ = await voter(s)
        token = await token_for(s, vote_app, account)

    async def run(slug: str) -> int:
        async with client_for(vote_app, token) as session:
            with statements_sent(live_db) as statements:
                result = await session.execute(
                    GraphQLRequest(CALL_BALLOTS, variable_values={"slug": slug})
                )
        assert result["call"]["ballots"]
        return len(statements)

    one = await run("small-vote")
    three = await run("large-vote")
    assert three == one, f"{one} statements for 1 ballot, {three} for 3"
