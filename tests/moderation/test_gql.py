"""Moderation through the API: reportContent for residents, the rest for moderators with the
`moderate` scope."""

from __future__ import annotations

from typing import Any

import pytest
from gql import GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from sqlalchemy import func, select
from strawberry import relay

from server.db import Database
from server.ideas.models import Idea
from server.identity.models import Role
from server.moderation.models import Report
from tests.factories import make_call, make_idea
from tests.moderation.support import gql_client, make_comment, token_for

REPORT = gql(
    """mutation($type: ReportSubject!, $id: ID!, $reason: String!) {
      reportContent(subjectType: $type, subjectId: $id, reason: $reason) {
        reported alreadyReported errors { field message code }
      }
    }"""
)
HIDE = gql(
    """mutation($id: ID!, $reason: String!) {
      hideContent(subjectType: IDEA, subjectId: $id, reason: $reason) {
        item { title hidden hiddenReason link } reportsResolved errors { field message }
      }
    }"""
)
QUEUE = gql(
    """query { moderationQueue(first: 10) { totalCount hasNextPage
      items { reportCount reasons item { subjectType text hidden } } } }"""
)


async def _idea(db: Database) -> tuple[Idea, int]:
    async with db.session() as s, s.begin():
        idea = await make_idea(s, await make_call(s), title="Reported")
        comment = await make_comment(s, idea, body="Rude words")
    return idea, comment.id


async def _open_reports(db: Database) -> int:
    async with db.session() as s:
        query = select(func.count()).select_from(Report).where(Report.resolved_at.is_(None))
        return await s.scalar(query) or 0


def _gid(type_name: str, id_: int) -> str:
    return relay.to_base64(type_name, id_)


async def test_report_hide_and_queue(live_app: Any, live_db: Database) -> None:
    idea, comment_id = await _idea(live_db)
    _, resident = await token_for(live_db, live_app)
    async with gql_client(live_app, resident) as session:
        first = await session.execute(
            GraphQLRequest(
                REPORT,
                variable_values={"type": "IDEA", "id": _gid("Idea", idea.id), "reason": "Spam"},
            )
        )
        again = await session.execute(
            GraphQLRequest(
                REPORT, variable_values={"type": "IDEA", "id": str(idea.id), "reason": "Spam"}
            )
        )
        on_comment = await session.execute(
            GraphQLRequest(
                REPORT,
                variable_values={
                    "type": "COMMENT",
                    "id": _gid("Comment", comment_id),
                    "reason": "Rude",
                },
            )
        )
    assert first["reportContent"] == {"reported": True, "alreadyReported": False, "errors": []}
    assert again["reportContent"]["alreadyReported"] is True
    assert on_comment["reportContent"]["errors"] == []
    _, moderator = await token_for(
        live_db, live_app, role=Role.MODERATOR, scopes=["read", "participate", "moderate"]
    )
    async with gql_client(live_app, moderator) as session:
        queue = (await session.execute(QUEUE))["moderationQueue"]
        assert queue["totalCount"] == 2 and queue["hasNextPage"] is False
        assert [i["item"]["subjectType"] for i in queue["items"]] == ["IDEA", "COMMENT"]
        assert queue["items"][1]["reasons"] == ["Rude"]
        hidden = await session.execute(
            GraphQLRequest(HIDE, variable_values={"id": _gid("Idea", idea.id), "reason": "Spam"})
        )
    assert hidden["hideContent"] == {
        "item": {
            "title": "Reported",
            "hidden": True,
            "hiddenReason": "Spam",
            "link": f"/ideas/{idea.id}",
        },
        "reportsResolved": 1,
        "errors": [],
    }
    assert await _open_reports(live_db) == 1


@pytest.mark.parametrize(
    ("variables", "field", "message"),
    [
        ({"type": "IDEA", "reason": " "}, "reason", "Tell the moderators"),
        ({"type": "IDEA", "id": "999999", "reason": "Spam"}, None, "could not find that idea"),
        (
            {"type": "IDEA", "id": "not-an-id", "reason": "Spam"},
            "subject_id",
            "not a valid Idea id",
        ),
    ],
)
async def test_bad_reports_are_user_errors(
    live_app: Any, live_db: Database, variables: dict[str, str], field: str | None, message: str
) -> None:
    idea, _ = await _idea(live_db)
    _, resident = await token_for(live_db, live_app)
    async with gql_client(live_app, resident) as session:
        result = await session.execute(
            GraphQLRequest(REPORT, variable_values={"id": str(idea.id), **variables})
        )
    payload = result["reportContent"]
    assert payload["reported"] is False
    [error] = payload["errors"]
    assert error["field"] == field and message in error["message"]
    assert await _open_reports(live_db) == 0


async def test_moderating_needs_the_role_and_the_scope(live_app: Any, live_db: Database) -> None:
    idea, _ = await _idea(live_db)
    variables = {"id": str(idea.id), "reason": "No"}
    _, resident = await token_for(live_db, live_app, scopes=["read", "participate", "moderate"])
    _, no_scope = await token_for(live_db, live_app, role=Role.MODERATOR)
    codes = []
    for token in (None, resident, no_scope):
        async with gql_client(live_app, token) as session:
            for request in (GraphQLRequest(HIDE, variable_values=variables), GraphQLRequest(QUEUE)):
                with pytest.raises(TransportQueryError) as refused:
                    await session.execute(request)
                assert refused.value.errors
                codes.append(refused.value.errors[0]["extensions"]["code"])
    assert codes == ["UNAUTHENTICATED"] * 2 + ["FORBIDDEN"] * 4
    async with live_db.session() as s:
        row = await s.get(Idea, idea.id)
        assert row is not None and row.hidden_at is None


async def test_hiding_without_a_reason_is_a_user_error(live_app: Any, live_db: Database) -> None:
    idea, _ = await _idea(live_db)
    _, moderator = await token_for(
        live_db, live_app, role=Role.MODERATOR, scopes=["read", "participate", "moderate"]
    )
    async with gql_client(live_app, moderator) as session:
        result = await session.execute(
            GraphQLRequest(HIDE, variable_values={"id": str(idea.id), "reason": ""})
        )
    assert result["hideContent"]["item"] is None
    assert result["hideContent"]["errors"] == [
        {"field": "reason", "message": "Write the reason shown in its place."}
    ]
