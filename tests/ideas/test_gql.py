"""The ideas API through a real GraphQL client, on a database of the test's own (the API's
DataLoaders run on separate connections, as in production)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from sqlalchemy import func, select
from strawberry.relay import to_base64

from server.db import Database
from server.ideas import endorsements, service
from server.ideas.models import Idea
from server.identity.models import Account
from tests.factories import make_account, make_call, make_persona, make_token, now
from tests.ideas.helpers import closed_call
from tests.statements import statements_sent

IDEA_FIELDS = """
  id title tags area status publishedAt updatedAt version endorsementCount commentCount
  viewerHasEndorsed viewerFollows author { displayName avatarColour } history { version title }
"""
POST = gql(
    """mutation($call: String!, $persona: ID!, $input: IdeaInput!, $publish: Boolean!) {
      postIdea(callSlug: $call, personaId: $persona, input: $input, publish: $publish) {
        idea { """
    + IDEA_FIELDS
    + """ } errors { field message code }
      }
    }"""
)
EDIT = gql(
    """mutation($id: ID!, $input: IdeaInput!) {
      editIdea(id: $id, input: $input) { idea { """
    + IDEA_FIELDS
    + """ } errors { field message code } }
    }"""
)
SIMPLE = {
    name: gql(
        f"""mutation($id: ID!) {{ {name}(id: $id) {{
          idea {{ id publishedAt endorsementCount viewerHasEndorsed viewerFollows }}
          errors {{ field message code }} }} }}"""
    )
    for name in ("publishIdea", "withdrawEndorsement", "followIdea", "unfollowIdea")
}
ENDORSE = gql(
    """mutation($id: ID!, $persona: ID!) { endorseIdea(id: $id, personaId: $persona) {
      idea { endorsementCount viewerHasEndorsed } errors { field message code } } }"""
)


def _client(app: Any, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = HTTPXAsyncTransport(
        url="http://localhost/graphql",
        headers=headers,
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
    )
    return Client(transport=transport, fetch_schema_from_transport=False)


async def _resident(db: Database, app: Any) -> tuple[Account, str, str]:
    """An account with a persona and a token: (account, persona global id, token)."""
    async with db.session() as s, s.begin():
        account = await make_account(s)
        persona = await make_persona(s, account, name="Kingfisher")
        jwt = await make_token(s, app.state.keys, account)
    return account, to_base64("Persona", persona.id), jwt


async def _call(db: Database, *, closed: bool = False) -> str:
    async with db.session() as s, s.begin():
        call = await (closed_call(s) if closed else make_call(s))
    return call.slug


async def test_post_edit_publish_endorse_follow(live_app: Any, live_db: Database) -> None:
    slug = await _call(live_db)
    _, persona, jwt = await _resident(live_db, live_app)
    async with _client(live_app, jwt) as session:
        posted = await session.execute(
            GraphQLRequest(
                POST,
                variable_values={
                    "call": slug,
                    "persona": persona,
                    "publish": False,
                    "input": {"title": "Ferry", "body": "A ferry", "tags": ["Boats"]},
                },
            )
        )
        payload = posted["postIdea"]
        assert payload["errors"] == []
        idea = payload["idea"]
        assert idea["publishedAt"] is None and idea["tags"] == ["boats"]
        assert idea["author"]["displayName"] == "Kingfisher" and idea["status"] == "OPEN"
        published = await session.execute(
            GraphQLRequest(SIMPLE["publishIdea"], variable_values={"id": idea["id"]})
        )
        assert published["publishIdea"]["idea"]["publishedAt"] is not None
        edited = await session.execute(
            GraphQLRequest(EDIT, variable_values={"id": idea["id"], "input": {"title": "Ferries"}})
        )
        after = edited["editIdea"]["idea"]
        assert after["version"] == 2 and after["history"] == [{"version": 1, "title": "Ferry"}]
        endorsed = await session.execute(
            GraphQLRequest(ENDORSE, variable_values={"id": idea["id"], "persona": persona})
        )
        assert endorsed["endorseIdea"]["idea"] == {
            "endorsementCount": 1,
            "viewerHasEndorsed": True,
        }
        followed = await session.execute(
            GraphQLRequest(SIMPLE["followIdea"], variable_values={"id": idea["id"]})
        )
        assert followed["followIdea"]["idea"]["viewerFollows"] is True
        withdrawn = await session.execute(
            GraphQLRequest(SIMPLE["withdrawEndorsement"], variable_values={"id": idea["id"]})
        )
        assert withdrawn["withdrawEndorsement"]["idea"]["endorsementCount"] == 0
        unfollowed = await session.execute(
            GraphQLRequest(SIMPLE["unfollowIdea"], variable_values={"id": idea["id"]})
        )
        assert unfollowed["unfollowIdea"]["idea"]["viewerFollows"] is False
    async with _client(live_app) as anonymous:
        node = await anonymous.execute(
            GraphQLRequest(
                "query($id: ID!) { node(id: $id) { ... on Idea { title viewerHasEndorsed } } }",
                variable_values={"id": idea["id"]},
            )
        )
    assert node["node"] == {"title": "Ferries", "viewerHasEndorsed": None}


async def _post(session: Any, slug: str, persona: str, **input: Any) -> dict[str, Any]:
    result = await session.execute(
        GraphQLRequest(
            POST,
            variable_values={"call": slug, "persona": persona, "publish": True, "input": input},
        )
    )
    return result["postIdea"]  # type: ignore[no-any-return]


async def test_bad_input_is_a_user_error_and_changes_nothing(
    live_app: Any, live_db: Database
) -> None:
    slug = await _call(live_db)
    closed = await _call(live_db, closed=True)
    _, persona, jwt = await _resident(live_db, live_app)
    _, someone_elses, _ = await _resident(live_db, live_app)
    async with _client(live_app, jwt) as session:
        cases = [
            (slug, persona, {"title": " "}, "title", "INVALID_INPUT"),
            # Over 20,000 characters (a 100 KB request is refused by the API's 64 KB body limit).
            (slug, persona, {"title": "T", "body": "x" * 30_000}, "body", "INVALID_INPUT"),
            (slug, persona, {"title": "T", "body": "<script>x</script>"}, "body", "INVALID_INPUT"),
            (slug, persona, {"title": "T", "tags": list("abcdefghi")}, "tags", "INVALID_INPUT"),
            (slug, someone_elses, {"title": "T"}, "persona_id", "INVALID_INPUT"),
            (closed, persona, {"title": "T"}, None, "PHASE_CLOSED"),
        ]
        for call_slug, who, input, field, code in cases:
            payload = await _post(session, call_slug, who, **input)
            assert payload["idea"] is None
            assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)]
    async with live_db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Idea)) == 0


async def test_editing_someone_elses_idea_is_a_user_error(live_app: Any, live_db: Database) -> None:
    slug = await _call(live_db)
    _, persona, author_jwt = await _resident(live_db, live_app)
    _, _, other_jwt = await _resident(live_db, live_app)
    async with _client(live_app, author_jwt) as session:
        idea = (await _post(session, slug, persona, title="Mine"))["idea"]
    async with _client(live_app, other_jwt) as session:
        result = await session.execute(
            GraphQLRequest(EDIT, variable_values={"id": idea["id"], "input": {"title": "Ours"}})
        )
    assert result["editIdea"]["idea"] is None
    assert result["editIdea"]["errors"][0]["message"] == "Only the author can change this idea."
    async with live_db.session() as s:
        assert await s.scalar(select(Idea.title)) == "Mine"


async def test_drafts_and_hidden_ideas_stay_out_of_the_api(
    live_app: Any, live_db: Database
) -> None:
    slug = await _call(live_db)
    _, persona, jwt = await _resident(live_db, live_app)
    async with _client(live_app, jwt) as session:
        draft = (
            await session.execute(
                GraphQLRequest(
                    POST,
                    variable_values={
                        "call": slug,
                        "persona": persona,
                        "publish": False,
                        "input": {"title": "Secret plan for buses"},
                    },
                )
            )
        )["postIdea"]["idea"]
        hidden = (await _post(session, slug, persona, title="Rude plan for buses"))["idea"]
        shown = (await _post(session, slug, persona, title="Good plan for buses"))["idea"]
        mine = await session.execute(
            GraphQLRequest(
                "query($id: ID!) { node(id: $id) { id } }", variable_values={"id": draft["id"]}
            )
        )
        assert mine["node"] == {"id": draft["id"]}
    async with live_db.session() as s, s.begin():
        row = await s.scalar(select(Idea).where(Idea.title == "Rude plan for buses"))
        assert row is not None
        row.hidden_at = now()
    query = """query($slug: String!) {
      call(slug: $slug) { ideas(search: "plan") { totalCount edges { node { id } } } }
      similarIdeas(callSlug: $slug, title: "plan for buses") { id }
    }"""
    async with _client(live_app) as anonymous:
        result = await anonymous.execute(GraphQLRequest(query, variable_values={"slug": slug}))
        assert result["call"]["ideas"]["totalCount"] == 1
        assert [e["node"]["id"] for e in result["call"]["ideas"]["edges"]] == [shown["id"]]
        assert result["similarIdeas"] == [{"id": shown["id"]}]
        for unseen in (draft["id"], hidden["id"]):
            with pytest.raises(TransportQueryError) as refused:
                await anonymous.execute(
                    GraphQLRequest(
                        "query($id: ID!) { node(id: $id) { id } }", variable_values={"id": unseen}
                    )
                )
            assert refused.value.errors
            assert refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_call_ideas_cost_the_same_queries_for_5_or_50(
    live_app: Any, live_db: Database
) -> None:
    async with live_db.session() as s, s.begin():
        call = await make_call(s)
        account = await make_account(s)
        me = await make_persona(s, account)
        for i in range(60):
            persona = await make_persona(s)
            idea = await service.create_idea(
                s, call, persona, title=f"Idea {i}", body="", now=now()
            )
            if i % 2:
                await endorsements.endorse(s, account, idea.id, me.id, now=now())
        slug = call.slug
    _, _, jwt = await _resident(live_db, live_app)
    query = gql(
        """query($slug: String!, $first: Int!) { call(slug: $slug) {
          ideas(first: $first, sort: MOST_ENDORSED) { totalCount edges { node {
            id title author { displayName } history { version } outcome { status }
            viewerHasEndorsed viewerFollows call { slug } } } } } }"""
    )
    counts = []
    async with _client(live_app, jwt) as session:
        # Once first, so that caches filled on first use (signing keys) do not count.
        await session.execute(GraphQLRequest(query, variable_values={"slug": slug, "first": 1}))
        for first in (5, 50):
            with statements_sent(live_db) as statements:
                result = await session.execute(
                    GraphQLRequest(query, variable_values={"slug": slug, "first": first})
                )
            assert len(result["call"]["ideas"]["edges"]) == first
            counts.append(len(statements))
    assert counts[0] == counts[1], counts
