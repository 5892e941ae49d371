"""Relay paging both ways on the main connections: `first`/`after` forwards, `last`/`before`
backwards. Paging either way over the same list gives the same items in the same order, keyset
pages stay put while rows are inserted, and mixed arguments are refused with a stable code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from strawberry import relay

from server.calls.service import get_call
from server.comments import service as comments
from server.db import Database
from server.ideas.models import Idea
from server.notifications import service as notifications
from server.notifications.models import NotificationKind
from tests.calls.test_gql import gql
from tests.factories import make_account, make_call, make_idea, make_persona, make_token, now

IDEAS = """query($slug: String!, $sort: IdeaSort, $seed: String, $first: Int, $after: String,
                 $last: Int, $before: String) {
  call(slug: $slug) {
    ideas(sort: $sort, seed: $seed, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { title } }
    }
  }
}"""
OPEN_CALLS = """query($first: Int, $after: String, $last: Int, $before: String) {
  openCalls(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { title } }
  }
}"""
COMMENTS = """query($idea: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  comments(ideaId: $idea, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { body } }
  }
}"""
IDEA_COMMENTS = """query($idea: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  node(id: $idea) {
    ... on Idea {
      comments(first: $first, after: $after, last: $last, before: $before) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { body } }
      }
    }
  }
}"""
NOTIFICATIONS = """query($first: Int, $after: String, $last: Int, $before: String) {
  notifications(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { message } }
  }
}"""


class Pager:
    """Pages one connection through the API, forwards or backwards."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        query: str,
        locate: Callable[[dict[str, Any]], dict[str, Any]],
        label: str,
        headers: dict[str, str] | None = None,
        **variables: Any,
    ) -> None:
        self.client, self.query, self.locate, self.label = client, query, locate, label
        self.headers = headers or {}
        self.variables = variables

    async def page(self, **args: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": self.query, "variables": {**self.variables, **args}},
            headers=self.headers,
        )
        body = response.json()
        assert "errors" not in body, body["errors"]
        return self.locate(body["data"])

    def labels(self, connection: dict[str, Any]) -> list[str]:
        return [e["node"][self.label] for e in connection["edges"]]

    async def forwards(self, size: int) -> list[str]:
        out: list[str] = []
        after = None
        first_page = True
        while True:
            got = await self.page(first=size, after=after)
            info = got["pageInfo"]
            assert info["hasPreviousPage"] is (not first_page)
            assert [e["cursor"] for e in got["edges"]][-1:] == (
                [info["endCursor"]] if got["edges"] else []
            )
            out += self.labels(got)
            if not info["hasNextPage"]:
                return out
            after, first_page = info["endCursor"], False

    async def backwards(self, size: int) -> list[str]:
        out: list[str] = []
        before = None
        last_page = True
        while True:
            got = await self.page(last=size, before=before)
            info = got["pageInfo"]
            assert info["hasNextPage"] is (not last_page)
            assert len(got["edges"]) <= size
            out = self.labels(got) + out
            if not info["hasPreviousPage"]:
                return out
            before, last_page = info["startCursor"], False


def gid(type_name: str, row_id: int) -> str:
    return relay.to_base64(type_name, row_id)


async def _call_with_ideas(db: Database, count: int) -> tuple[str, list[int]]:
    async with db.session() as s, s.begin():
        call = await make_call(s, title="Paging")
        ideas = [await make_idea(s, call, title=f"Idea {i:02d}") for i in range(count)]
        # Spread the published times apart, and give the counts some ties.
        base = now() - dt.timedelta(hours=count)
        for i, idea in enumerate(ideas):
            await s.execute(
                update(Idea)
                .where(Idea.id == idea.id)
                .values(
                    published_at=base + dt.timedelta(minutes=i),
                    endorsement_count=i % 3,
                    comment_count=(i * 7) % 4,
                )
            )
        return call.slug, [i.id for i in ideas]


@pytest.mark.parametrize("sort", ["NEWEST", "MOST_ENDORSED", "MOST_DISCUSSED", "RANDOM"])
async def test_call_ideas_page_the_same_both_ways(
    live_client: httpx.AsyncClient, live_db: Database, sort: str
) -> None:
    slug, _ = await _call_with_ideas(live_db, 11)
    pager = Pager(
        live_client,
        IDEAS,
        lambda d: d["call"]["ideas"],
        "title",
        slug=slug,
        sort=sort,
        seed="fixed",
    )
    everything = pager.labels(await pager.page(first=100))
    assert len(everything) == 11
    for size in (1, 3, 4, 11, 20):
        assert await pager.forwards(size) == everything, size
        assert await pager.backwards(size) == everything, size
    # `last` alone is the end of the list.
    tail = await pager.page(last=3)
    assert pager.labels(tail) == everything[-3:]
    assert tail["pageInfo"]["hasPreviousPage"] and not tail["pageInfo"]["hasNextPage"]
    assert tail["totalCount"] == 11


async def test_backward_pages_are_stable_while_ideas_are_posted(
    live_client: httpx.AsyncClient, live_db: Database
) -> None:
    slug, _ = await _call_with_ideas(live_db, 9)
    pager = Pager(live_client, IDEAS, lambda d: d["call"]["ideas"], "title", slug=slug)
    everything = pager.labels(await pager.page(first=100))
    # Newest first: read the oldest three, then new ideas arrive at the top of the list.
    oldest = await pager.page(last=3)
    async with live_db.session() as s, s.begin():
        call = await get_call(s, slug)
        for i in range(2):
            await make_idea(s, call, title=f"New {i}")
    seen = pager.labels(oldest)
    before = oldest["pageInfo"]["startCursor"]
    while True:
        got = await pager.page(last=3, before=before)
        seen = pager.labels(got) + seen
        if not got["pageInfo"]["hasPreviousPage"]:
            break
        before = got["pageInfo"]["startCursor"]
    assert seen == ["New 1", "New 0", *everything]
    # And forwards, the pages already read are not shifted by the new ones.
    first = await pager.page(first=4)
    async with live_db.session() as s, s.begin():
        call = await get_call(s, slug)
        await make_idea(s, call, title="Newer still")
    after = first["pageInfo"]["endCursor"]
    following = pager.labels(await pager.page(first=100, after=after))
    assert pager.labels(first) + following == ["New 1", "New 0", *everything]


async def test_open_calls_page_the_same_both_ways(
    live_client: httpx.AsyncClient, live_db: Database
) -> None:
    async with live_db.session() as s, s.begin():
        for i in range(7):
            await make_call(s, title=f"Open {i}", closes=dt.timedelta(days=3 + i))
    pager = Pager(live_client, OPEN_CALLS, lambda d: d["openCalls"], "title")
    everything = pager.labels(await pager.page(first=100))
    assert everything == [f"Open {i}" for i in range(7)]
    for size in (1, 2, 7):
        assert await pager.forwards(size) == everything
        assert await pager.backwards(size) == everything


async def _discussion(db: Database) -> tuple[int, list[str]]:
    async with db.session() as s, s.begin():
        call = await make_call(s)
        idea = await make_idea(s, call)
        bodies: list[str] = []
        parents: list[int | None] = [None]
        for i in range(8):
            account = await make_account(s)
            persona = await make_persona(s, account)
            parent = parents[i % len(parents)] if i % 3 else None
            comment = await comments.create_comment(
                s,
                account,
                idea_id=idea.id,
                persona_id=persona.id,
                body=f"Comment {i}",
                parent_id=parent,
                now=now(),
            )
            parents.append(comment.id)
            bodies.append(comment.body)
        return idea.id, bodies


@pytest.mark.parametrize("query", [COMMENTS, IDEA_COMMENTS], ids=["root", "Idea.comments"])
async def test_comments_page_the_same_both_ways(
    live_client: httpx.AsyncClient, live_db: Database, query: str
) -> None:
    idea_id, bodies = await _discussion(live_db)

    def locate(data: dict[str, Any]) -> dict[str, Any]:
        return data["comments"] if "comments" in data else data["node"]["comments"]

    pager = Pager(live_client, query, locate, "body", idea=gid("Idea", idea_id))
    everything = pager.labels(await pager.page(first=100))
    assert sorted(everything) == sorted(bodies) and len(everything) == 8
    for size in (1, 3, 8):
        assert await pager.forwards(size) == everything
        assert await pager.backwards(size) == everything


async def test_notifications_page_the_same_both_ways(
    live_client: httpx.AsyncClient, live_app: Any, live_db: Database
) -> None:
    async with live_db.session() as s, s.begin():
        account = await make_account(s)
        for i in range(6):
            await notifications.notify(
                s, [account.id], kind=NotificationKind.REPLY, message=f"Note {i}", link="/"
            )
            await s.flush()
        jwt = await make_token(s, live_app.state.keys, account, scopes=["read"])
    pager = Pager(
        live_client,
        NOTIFICATIONS,
        lambda d: d["notifications"],
        "message",
        headers={"Authorization": f"Bearer {jwt}"},
    )
    everything = pager.labels(await pager.page(first=100))
    assert everything == [f"Note {i}" for i in reversed(range(6))]
    for size in (1, 4, 6):
        assert await pager.forwards(size) == everything
        assert await pager.backwards(size) == everything


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        ({"first": 2, "last": 2}, "INVALID_PAGINATION", "last"),
        ({"after": "x", "last": 2}, "INVALID_PAGINATION", "last"),
        ({"first": 2, "before": "x"}, "INVALID_PAGINATION", "before"),
        ({"last": 0}, "BAD_REQUEST", "last"),
        ({"last": -1}, "BAD_REQUEST", "last"),
        ({"last": 101}, "BAD_REQUEST", "last"),
        ({"first": -5}, "BAD_REQUEST", "first"),
        ({"first": 1000}, "BAD_REQUEST", "first"),
        ({"last": 2, "before": "not a cursor"}, "INVALID_CURSOR", None),
    ],
)
async def test_bad_paging_arguments_are_refused_with_a_code(
    live_client: httpx.AsyncClient, args: dict[str, Any], code: str, field: str | None
) -> None:
    body = await gql(live_client, OPEN_CALLS, **args)
    error = body["errors"][0]
    assert error["extensions"]["code"] == code, error
    assert error["extensions"].get("field") == field
    body = await gql(live_client, OPEN_CALLS, first=2, last=2)
    assert "not both at once" in body["errors"][0]["message"]
