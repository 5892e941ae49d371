"""graphql-core over plain asyncpg: the physical baseline of the public list query.

The schema is the slice of Moot's that ``call(slug) → ideas(first) → counts → outcome`` needs,
with the same names, ids (relay global ids) and enum values; the resolvers run the same SQL as
Strawberry's (the call by slug; one page of listed ideas newest first plus its count; the
outcomes of the page's ideas in one batched query, as the DataLoader does).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from graphql import GraphQLSchema, build_schema, graphql
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.outcomes.models import OutcomeStatus
from server.pagination import encode_cursor

SDL = """
type Query { call(slug: String!): Call }
type Call {
  id: ID!
  slug: String!
  title: String!
  ideas(first: Int = 20): IdeaConnection!
}
type PageInfo { hasNextPage: Boolean! endCursor: String }
type IdeaConnection { totalCount: Int! pageInfo: PageInfo! edges: [IdeaEdge!]! }
type IdeaEdge { cursor: String! node: Idea! }
type Idea {
  id: ID!
  title: String!
  endorsementCount: Int!
  commentCount: Int!
  outcome: Outcome
}
type Outcome { status: OutcomeStatus! }
enum OutcomeStatus { %s }
""" % " ".join(s.name for s in OutcomeStatus)  # noqa: UP031 - braces in the SDL

LISTED = "published_at IS NOT NULL AND hidden_at IS NULL"


def global_id(type_name: str, node_id: int) -> str:
    return base64.b64encode(f"{type_name}:{node_id}".encode()).decode()


class OutcomeLoader:
    """Batches every outcome asked for in one tick into one query (a minimal DataLoader)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.pending: dict[int, asyncio.Future[Any]] = {}

    def load(self, idea_id: int) -> asyncio.Future[Any]:
        if not self.pending:
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._dispatch()))
        future = self.pending.get(idea_id)
        if future is None:
            future = self.pending[idea_id] = asyncio.get_running_loop().create_future()
        return future

    async def _dispatch(self) -> None:
        batch, self.pending = self.pending, {}
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, idea_id, status, response, decided_at FROM outcomes "
                "WHERE idea_id = ANY($1)",
                list(batch),
            )
        found = {r["idea_id"]: r for r in rows}
        for key, future in batch.items():
            future.set_result(found.get(key))


async def resolve_call(root: Any, info: Any, slug: str) -> dict[str, Any] | None:
    async with info.context["pool"].acquire() as conn:
        row = await conn.fetchrow(
            "SELECT id, slug, title, summary, description, organiser_id, region_id, tags, "
            "opens_at, closes_at, image_url, image_alt, created_at FROM calls WHERE slug = $1",
            slug,
        )
    if row is None:
        return None
    return {
        "id": global_id("Call", row["id"]),
        "slug": row["slug"],
        "title": row["title"],
        "_id": row["id"],
    }


async def resolve_ideas(call: dict[str, Any], info: Any, first: int = 20) -> dict[str, Any]:
    async with info.context["pool"].acquire() as conn:
        rows: Sequence[asyncpg.Record] = await conn.fetch(
            "SELECT id, call_id, author_persona_id, title, body, tags, area, latitude, longitude, "  # noqa: S608
            "status, published_at, updated_at, version, endorsement_count, comment_count, "
            f"hidden_at, hidden_reason, created_at FROM ideas WHERE call_id = $1 AND {LISTED} "
            "ORDER BY published_at DESC, id DESC LIMIT $2",
            call["_id"],
            first + 1,
        )
        total = await conn.fetchval(
            f"SELECT count(*) FROM ideas WHERE call_id = $1 AND {LISTED}",  # noqa: S608
            call["_id"],
        )
    items = rows[:first]
    edges = [
        {
            "cursor": encode_cursor((r["published_at"], r["id"])),
            "node": {
                "id": global_id("Idea", r["id"]),
                "_id": r["id"],
                "title": r["title"],
                "endorsementCount": r["endorsement_count"],
                "commentCount": r["comment_count"],
            },
        }
        for r in items
    ]
    return {
        "totalCount": total,
        "pageInfo": {
            "hasNextPage": len(rows) > first,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
        "edges": edges,
    }


async def resolve_outcome(idea: dict[str, Any], info: Any) -> dict[str, Any] | None:
    row = await info.context["outcomes"].load(idea["_id"])
    return None if row is None else {"status": OutcomeStatus(row["status"]).name}


def build() -> GraphQLSchema:
    schema = build_schema(SDL)
    schema.query_type.fields["call"].resolve = resolve_call  # type: ignore[union-attr]
    schema.get_type("Call").fields["ideas"].resolve = resolve_ideas  # type: ignore[union-attr]
    schema.get_type("Idea").fields["outcome"].resolve = resolve_outcome  # type: ignore[union-attr]
    return schema


SCHEMA = build()


async def endpoint(request: Request) -> Response:
    body = json.loads(await request.body())
    pool = request.app.state.pool
    result = await graphql(
        SCHEMA,
        body["query"],
        variable_values=body.get("variables"),
        context_value={"pool": pool, "outcomes": OutcomeLoader(pool)},
    )
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [e.formatted for e in result.errors]
    return JSONResponse(payload)
