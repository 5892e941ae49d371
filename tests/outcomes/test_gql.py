"""recordOutcome and callMetrics through the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from gql import GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from sqlalchemy import select
from strawberry import relay

from server.db import Database
from server.demo import RIVERSIDE
from server.ideas.models import Idea
from server.identity.models import Role
from server.outcomes.models import Outcome
from tests.calls.test_gql import gql as raw_gql
from tests.factories import make_call, make_idea
from tests.moderation.support import gql_client, token_for

RECORD = gql(
    """mutation($id: ID!, $status: OutcomeStatus!, $response: String!, $ref: String) {
      recordOutcome(ideaId: $id, status: $status, response: $response, decisionReference: $ref) {
        outcome { status response decisionReference budgetLine }
        errors { field message code }
      }
    }"""
)


async def _idea(db: Database) -> int:
    async with db.session() as s, s.begin():
        return (await make_idea(s, await make_call(s))).id


async def test_councillor_records_an_outcome(live_app: Any, live_db: Database) -> None:
    idea_id = await _idea(live_db)
    _, jwt = await token_for(live_db, live_app, role=Role.COUNCILLOR)
    async with gql_client(live_app, jwt) as session:
        result = await session.execute(
            GraphQLRequest(
                RECORD,
                variable_values={
                    "id": relay.to_base64("Idea", idea_id),
                    "status": "ACCEPTED",
                    "response": "Yes.",
                    "ref": "https://example.org/minutes",
                },
            )
        )
    assert result["recordOutcome"] == {
        "outcome": {
            "status": "ACCEPTED",
            "response": "Yes.",
            "decisionReference": "https://example.org/minutes",
            "budgetLine": None,
        },
        "errors": [],
    }
    async with live_db.session() as s:
        idea = await s.get(Idea, idea_id)
        assert idea is not None and idea.status == "accepted"


async def test_empty_response_is_a_user_error(live_app: Any, live_db: Database) -> None:
    idea_id = await _idea(live_db)
    _, jwt = await token_for(live_db, live_app, role=Role.COUNCILLOR)
    async with gql_client(live_app, jwt) as session:
        result = await session.execute(
            GraphQLRequest(
                RECORD, variable_values={"id": str(idea_id), "status": "ACCEPTED", "response": " "}
            )
        )
        with pytest.raises(TransportQueryError) as unknown:
            await session.execute(
                gql(
                    f'mutation {{ recordOutcome(ideaId: "{idea_id}", status: MAYBE, '
                    'response: "x") { errors { message } } }'
                )
            )
    assert result["recordOutcome"]["outcome"] is None
    assert result["recordOutcome"]["errors"] == [
        {
            "field": "response",
            "message": "Write a response that residents can read.",
            "code": "INVALID_INPUT",
        }
    ]
    assert unknown.value.errors and "MAYBE" in unknown.value.errors[0]["message"]
    async with live_db.session() as s:
        assert await s.scalar(select(Outcome)) is None


async def test_a_resident_cannot_record_an_outcome(live_app: Any, live_db: Database) -> None:
    idea_id = await _idea(live_db)
    _, jwt = await token_for(live_db, live_app)
    async with gql_client(live_app, jwt) as session:
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(
                GraphQLRequest(
                    RECORD,
                    variable_values={"id": str(idea_id), "status": "ACCEPTED", "response": "x"},
                )
            )
    assert refused.value.errors and refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"
    async with live_db.session() as s:
        assert await s.scalar(select(Outcome)) is None


async def test_call_metrics_on_the_demo(demo_api: httpx.AsyncClient) -> None:
    result = await raw_gql(
        demo_api,
        """query($slug: String!) { callMetrics(slug: $slug) { slug ideaCount answeredCount
          byStatus { key count } participation { day ideas comments endorsements } } }""",
        slug=RIVERSIDE,
    )
    assert "errors" not in result, result
    metrics = result["data"]["callMetrics"]
    assert metrics["ideaCount"] == 4 and metrics["answeredCount"] == 4
    counts = {row["key"]: row["count"] for row in metrics["byStatus"]}
    assert counts["open"] == 0 and sum(counts.values()) == 4
    assert sum(day["ideas"] for day in metrics["participation"]) == 4
    missing = await raw_gql(demo_api, '{ callMetrics(slug: "nope") { slug } }')
    assert missing == {"data": {"callMetrics": None}}
