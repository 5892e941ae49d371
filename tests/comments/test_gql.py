"""Comments through the API (a real GraphQL client): the discussion, the tally, the writes and
their user errors, and no N+1."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import httpx
from gql import Client, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport
from sqlalchemy import func, select, update

from server.comments import service
from server.comments.models import Comment, Stance
from server.db import Database
from server.ideas.models import Idea
from tests.factories import make_account, make_call, make_idea, make_persona, make_token, now
from tests.statements import statements_sent

POST = gql(
    """mutation($input: PostCommentInput!) {
      postComment(input: $input) {
        comment { id body bodyHtml stance depth parent { id } author { displayName } }
        errors { field message code }
      }
    }"""
)
EDIT = gql(
    """mutation($id: ID!, $body: String!, $stance: Stance) {
      editComment(id: $id, body: $body, stance: $stance) {
        comment { body stance editedAt } errors { field message code }
      }
    }"""
)
DELETE = gql(
    """mutation($id: ID!) {
      deleteComment(id: $id) { comment { deleted body author { displayName } } errors { code } }
    }"""
)
THREAD = """query($idea: ID!, $first: Int, $after: String) {
  stanceTally(ideaId: $idea) { for against neutral total }
  comments(ideaId: $idea, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id body depth stance deleted hidden hiddenReason replyCount
      author { displayName } parent { id body } } }
  }
}"""


def gid(kind: str, pk: int) -> str:
    return base64.b64encode(f"{kind}:{pk}".encode()).decode()


def _client(app: Any, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = HTTPXAsyncTransport(
        url="http://localhost/graphql",
        headers=headers,
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
    )
    return Client(transport=transport, fetch_schema_from_transport=False)


async def _world(
    db: Database, app: Any, *, opens: dt.timedelta = dt.timedelta(days=-1)
) -> dict[str, Any]:
    async with db.session() as s, s.begin():
        account = await make_account(s)
        persona = await make_persona(s, account, name="Jane, resident of Exeter")
        idea = await make_idea(s, await make_call(s, opens=opens))
        jwt = await make_token(s, app.state.keys, account)
    return {"account": account, "persona": persona, "idea": idea, "token": jwt}


def _input(w: dict[str, Any], body: str = "Good idea.", **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "ideaId": gid("Idea", w["idea"].id),
            "personaId": gid("Persona", w["persona"].id),
            "body": body,
            **extra,
        }
    }


async def _comments(db: Database, idea_id: int) -> list[Comment]:
    async with db.session() as s:
        return list(await s.scalars(select(Comment).where(Comment.idea_id == idea_id)))


async def test_post_reply_edit_delete_and_read_the_thread(live_app: Any, live_db: Database) -> None:
    w = await _world(live_db, live_app)
    async with _client(live_app, w["token"]) as api:
        first = (
            await api.execute(
                GraphQLRequest(POST, variable_values=_input(w, "**Yes**", stance="FOR"))
            )
        )["postComment"]
        assert first["errors"] == []
        root = first["comment"]
        assert root["bodyHtml"] == "<p><strong>Yes</strong></p>\n" and root["stance"] == "FOR"
        assert root["author"] == {"displayName": "Jane, resident of Exeter"}
        reply = (
            await api.execute(
                GraphQLRequest(POST, variable_values=_input(w, "Why?", parentId=root["id"]))
            )
        )["postComment"]["comment"]
        assert reply["depth"] == 1 and reply["parent"] == {"id": root["id"]}
        edited = (
            await api.execute(
                GraphQLRequest(
                    EDIT, variable_values={"id": root["id"], "body": "Yes!", "stance": "NEUTRAL"}
                )
            )
        )["editComment"]
        assert edited["errors"] == [] and edited["comment"]["editedAt"]
        assert edited["comment"]["stance"] == "NEUTRAL"
        thread = await api.execute(
            GraphQLRequest(gql(THREAD), variable_values={"idea": gid("Idea", w["idea"].id)})
        )
        assert thread["stanceTally"] == {"for": 0, "against": 0, "neutral": 1, "total": 1}
        nodes = [e["node"] for e in thread["comments"]["edges"]]
        assert [n["body"] for n in nodes] == ["Yes!", "Why?"]
        assert nodes[0]["replyCount"] == 1 and nodes[1]["parent"]["body"] == "Yes!"
        gone = (await api.execute(GraphQLRequest(DELETE, variable_values={"id": root["id"]})))[
            "deleteComment"
        ]
        assert gone == {"comment": {"deleted": True, "body": "", "author": None}, "errors": []}
        again = await api.execute(
            GraphQLRequest(gql(THREAD), variable_values={"idea": gid("Idea", w["idea"].id)})
        )
    assert [e["node"]["deleted"] for e in again["comments"]["edges"]] == [True, False]
    assert again["comments"]["totalCount"] == 2
    async with live_db.session() as s:
        assert (await s.get(Idea, w["idea"].id)).comment_count == 1  # type: ignore[union-attr]


async def test_bad_input_is_a_user_error_and_changes_nothing(
    live_app: Any, live_db: Database
) -> None:
    w = await _world(live_db, live_app)
    other = await _world(live_db, live_app)
    async with live_db.session() as s, s.begin():
        theirs = await service.create_comment(
            s, other["account"], idea_id=other["idea"].id, persona_id=other["persona"].id,
            body="Elsewhere", now=now(),
        )  # fmt: skip
    cases = [
        (_input(w, ""), "body", "INVALID_INPUT"),
        (_input(w, "x" * 20_000), "body", "INVALID_INPUT"),
        (_input(w, parentId=gid("Comment", theirs.id)), "parent_id", "INVALID_INPUT"),
        (
            {"input": {**_input(w)["input"], "personaId": gid("Persona", other["persona"].id)}},
            None,
            "FORBIDDEN",
        ),
        ({"input": {**_input(w)["input"], "ideaId": gid("Idea", 10**9)}}, "idea_id", "NOT_FOUND"),
    ]
    async with _client(live_app, w["token"]) as api:
        for variables, field, code in cases:
            result = (await api.execute(GraphQLRequest(POST, variable_values=variables)))[
                "postComment"
            ]
            assert result["comment"] is None
            assert [(e["field"], e["code"]) for e in result["errors"]] == [(field, code)], variables
        someone_elses = (
            await api.execute(
                GraphQLRequest(
                    EDIT, variable_values={"id": gid("Comment", theirs.id), "body": "Mine"}
                )
            )
        )["editComment"]
        assert someone_elses["errors"][0]["code"] == "NOT_YOUR_COMMENT"
    assert await _comments(live_db, w["idea"].id) == []
    async with live_db.session() as s:
        assert (await s.get(Comment, theirs.id)).body == "Elsewhere"  # type: ignore[union-attr]


async def test_hidden_idea_closed_phase_and_late_edit_are_user_errors(
    live_app: Any, live_db: Database
) -> None:
    w = await _world(live_db, live_app)
    closed = await _world(live_db, live_app, opens=dt.timedelta(days=3))
    async with live_db.session() as s, s.begin():
        mine = await service.create_comment(
            s, w["account"], idea_id=w["idea"].id, persona_id=w["persona"].id, body="Early",
            now=now(),
        )  # fmt: skip
        await s.execute(
            update(Comment)
            .where(Comment.id == mine.id)
            .values(created_at=func.now() - dt.timedelta(minutes=20))
        )
    async with _client(live_app, closed["token"]) as api:
        shut = (await api.execute(GraphQLRequest(POST, variable_values=_input(closed))))[
            "postComment"
        ]
    assert (
        shut["errors"][0]["code"] == "PHASE_CLOSED" and "not open" in shut["errors"][0]["message"]
    )
    async with _client(live_app, w["token"]) as api:
        late = (
            await api.execute(
                GraphQLRequest(
                    EDIT, variable_values={"id": gid("Comment", mine.id), "body": "Late"}
                )
            )
        )["editComment"]
        assert late["errors"][0]["code"] == "EDIT_WINDOW_CLOSED"
        async with live_db.session() as s, s.begin():
            await s.execute(
                update(Idea).where(Idea.id == w["idea"].id).values(hidden_at=func.now())
            )
        hidden = (await api.execute(GraphQLRequest(POST, variable_values=_input(w))))["postComment"]
        assert "hidden by a moderator" in hidden["errors"][0]["message"]
        listed = await api.execute(
            GraphQLRequest(gql(THREAD), variable_values={"idea": gid("Idea", w["idea"].id)})
        )
    assert listed["comments"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }
    assert [c.body for c in await _comments(live_db, w["idea"].id)] == ["Early"]
    assert await _comments(live_db, closed["idea"].id) == []


async def test_moderated_comment_shows_reason_not_words(live_app: Any, live_db: Database) -> None:
    w = await _world(live_db, live_app)
    async with live_db.session() as s, s.begin():
        c = await service.create_comment(
            s, w["account"], idea_id=w["idea"].id, persona_id=w["persona"].id, body="Rude",
            stance=Stance.AGAINST, now=now(),
        )  # fmt: skip
        c.hidden_at, c.hidden_reason = now(), "Personal abuse"
    async with _client(live_app) as api:
        result = await api.execute(
            GraphQLRequest(gql(THREAD), variable_values={"idea": gid("Idea", w["idea"].id)})
        )
    node = result["comments"]["edges"][0]["node"]
    assert (node["hidden"], node["hiddenReason"], node["body"], node["stance"]) == (
        True,
        "Personal abuse",
        "",
        None,
    )
    assert result["stanceTally"]["total"] == 0


async def test_statement_count_does_not_grow_with_page_size(
    live_app: Any, live_db: Database
) -> None:
    w = await _world(live_db, live_app)
    async with live_db.session() as s, s.begin():
        parent = None
        authors = [await make_persona(s, w["account"]) for _ in range(6)]
        for i in range(60):
            author = authors[i % 6]
            c = await service.create_comment(
                s, w["account"], idea_id=w["idea"].id, persona_id=author.id, body=f"c{i}",
                parent_id=parent.id if parent and i % 3 else None, stance=Stance.FOR, now=now(),
            )  # fmt: skip
            parent = c
    seen = []
    for first in (5, 50):
        async with _client(live_app) as api:
            with statements_sent(live_db) as statements:
                result = await api.execute(
                    GraphQLRequest(
                        gql(THREAD),
                        variable_values={"idea": gid("Idea", w["idea"].id), "first": first},
                    )
                )
        assert len(result["comments"]["edges"]) == first
        seen.append(len(statements))
    assert seen[0] == seen[1], seen
