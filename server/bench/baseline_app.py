"""The physical baselines for pages and the API: a bare Starlette app on a bare asyncpg pool.

- ``GET /ideas/{id}`` and ``GET /calls/{slug}/ideas`` (``HX-Request: true`` for the fragment)
  read the same rows as the real pages with hand-written SQL and render the *same templates*
  with the *same* Jinja2 environment (``server.web.build_templates``), for an anonymous reader.
  What they leave out is what the app adds around that: middleware (access log, security
  headers, CSRF cookie, sessions), the ORM, and the domain services' checks.
- ``POST /graphql`` runs graphql-core over resolvers issuing the same SQL as the Strawberry
  resolvers of ``call → ideas(first) → counts → outcome`` (see :mod:`server.bench.gql_baseline`).

Serve with ``uvicorn --factory server.bench.baseline_app:create`` and ``DATABASE_URL`` set.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from server.bench import gql_baseline
from server.bench.generate import raw_dsn
from server.calls import rules
from server.calls.models import PhaseKind
from server.comments.models import Stance
from server.comments.pages import STANCES, Discussion
from server.comments.service import Tally
from server.comments.threads import Entry, Viewer, container_owner
from server.ideas.listing import SORT_LABELS, ListQuery
from server.ideas.pages import STATUS_LABELS
from server.outcomes.models import OutcomeStatus
from server.pagination import Page, encode_cursor
from server.settings import Settings
from server.web import build_templates

PAGE = 20
COMMENTS_PAGE = 100

IDEA_COLUMNS = (
    "id, call_id, author_persona_id, title, body, tags, area, latitude, longitude, status, "
    "published_at, updated_at, version, endorsement_count, comment_count, hidden_at"
)
LISTED = "published_at IS NOT NULL AND hidden_at IS NULL"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _render(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    env = request.app.state.templates
    ctx = {
        "request": request,
        "htmx": request.headers.get("HX-Request") == "true",
        "viewer": None,
        "csrf_token": "",
        "dev": False,
        "notice": None,
        "oidc_providers": [],
        **context,
    }
    return HTMLResponse(env.get_template(template).render(ctx))


def _phases(rows: list[asyncpg.Record]) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(kind=PhaseKind(r["kind"]), starts_at=r["starts_at"], ends_at=r["ends_at"])
        for r in rows
    ]


def _outcome(row: asyncpg.Record) -> SimpleNamespace:
    return SimpleNamespace(
        idea_id=row["idea_id"],
        status=OutcomeStatus(row["status"]),
        response=row["response"],
        decided_at=row["decided_at"],
    )


async def idea_page(request: Request) -> Response:
    idea_id = request.path_params["id"]
    moment = _now()
    async with request.app.state.pool.acquire() as conn:
        idea = await conn.fetchrow(
            f"SELECT {IDEA_COLUMNS} FROM ideas WHERE id = $1 AND {LISTED}",  # noqa: S608
            idea_id,
        )
        if idea is None:
            return HTMLResponse("Not found", status_code=404)
        call = await conn.fetchrow(
            "SELECT id, slug, title FROM calls WHERE id = $1", idea["call_id"]
        )
        author = await conn.fetchrow(
            "SELECT id, display_name, avatar_colour FROM personas WHERE id = $1",
            idea["author_persona_id"],
        )
        outcome = await conn.fetchrow(
            "SELECT idea_id, status, response, decided_at FROM outcomes WHERE idea_id = $1", idea_id
        )
        phases = _phases(
            await conn.fetch(
                "SELECT kind, starts_at, ends_at FROM phases WHERE call_id = $1 ORDER BY position",
                idea["call_id"],
            )
        )
        comments = await conn.fetch(
            "SELECT id, parent_id, author_persona_id, body, stance, depth, path, created_at, "
            "edited_at, deleted_at, hidden_at, hidden_reason FROM comments WHERE idea_id = $1 "
            "ORDER BY path LIMIT $2",
            idea_id,
            COMMENTS_PAGE + 1,
        )
        shown = comments[:COMMENTS_PAGE]
        authors = {
            r["id"]: r
            for r in await conn.fetch(
                "SELECT id, display_name, avatar_colour FROM personas WHERE id = ANY($1)",
                list({c["author_persona_id"] for c in shown}),
            )
        }
        stances = await conn.fetch(
            "SELECT stance, count(*) FROM comments WHERE idea_id = $1 AND deleted_at IS NULL "
            "AND hidden_at IS NULL AND stance IS NOT NULL GROUP BY stance",
            idea_id,
        )
        last_id = await conn.fetchval(
            "SELECT coalesce(max(id), 0) FROM comments WHERE idea_id = $1", idea_id
        )
    counts = {Stance(r["stance"]): r["count"] for r in stances}
    entries: list[Entry] = []
    by_id: dict[int, Entry] = {}
    for row in shown:
        c = SimpleNamespace(**dict(row))
        c.stance = Stance(c.stance) if c.stance else None
        entry = Entry(c, authors.get(c.author_persona_id))  # type: ignore[arg-type]
        by_id[c.id] = entry
        owner = container_owner(c)  # type: ignore[arg-type]
        if owner is not None and owner in by_id:
            by_id[owner].children.append(entry)
        else:
            entries.append(entry)
    can_comment = rules.allows(phases, rules.Action.COMMENT, moment)  # type: ignore[arg-type]
    idea_ns = SimpleNamespace(**dict(idea))
    discussion = Discussion(
        idea=idea_ns,  # type: ignore[arg-type]
        entries=entries,
        tally=Tally(
            for_=counts.get(Stance.FOR, 0),
            against=counts.get(Stance.AGAINST, 0),
            neutral=counts.get(Stance.NEUTRAL, 0),
        ),
        viewer=Viewer(None),
        can_comment=can_comment,
        closed_reason=None if can_comment else "Comments are closed in this phase of the call.",
        has_next=len(comments) > COMMENTS_PAGE,
        next_cursor=encode_cursor((shown[-1]["path"],)) if len(comments) > COMMENTS_PAGE else None,
        last_id=last_id,
        stances=STANCES,
    )
    context = {
        "call": call,
        "author": author,
        "outcome": _outcome(outcome) if outcome else None,
        "idea": idea_ns,
        "endorsed": False,
        "following": False,
        "my_personas": [],
        "can_endorse": rules.allows(phases, rules.Action.ENDORSE, moment),  # type: ignore[arg-type]
        "can_edit": rules.allows(phases, rules.Action.EDIT_IDEA, moment),  # type: ignore[arg-type]
        "can_post": rules.allows(phases, rules.Action.POST_IDEA, moment),  # type: ignore[arg-type]
        "is_author": False,
        "action_error": None,
        "discussion": discussion,
    }
    return _render(request, "ideas/idea.html", context)


async def list_page(request: Request) -> Response:
    moment = _now()
    async with request.app.state.pool.acquire() as conn:
        call = await conn.fetchrow(
            "SELECT id, slug, title FROM calls WHERE slug = $1", request.path_params["slug"]
        )
        if call is None:
            return HTMLResponse("Not found", status_code=404)
        rows = await conn.fetch(
            f"SELECT {IDEA_COLUMNS} FROM ideas WHERE call_id = $1 AND {LISTED} "  # noqa: S608
            "ORDER BY published_at DESC, id DESC LIMIT $2",
            call["id"],
            PAGE + 1,
        )
        total = await conn.fetchval(
            f"SELECT count(*) FROM ideas WHERE call_id = $1 AND {LISTED}",  # noqa: S608
            call["id"],
        )
        items = rows[:PAGE]
        ids = [r["id"] for r in items]
        outcomes = await conn.fetch(
            "SELECT idea_id, status, response, decided_at FROM outcomes WHERE idea_id = ANY($1)",
            ids,
        )
        authors = await conn.fetch(
            "SELECT id, display_name, avatar_colour FROM personas WHERE id = ANY($1)",
            list({r["author_persona_id"] for r in items}),
        )
        tags = await conn.fetch(
            f"SELECT DISTINCT unnest(tags) AS tag FROM ideas WHERE call_id = $1 AND {LISTED}",  # noqa: S608
            call["id"],
        )
        areas = await conn.fetch(
            f"SELECT DISTINCT area FROM ideas WHERE call_id = $1 AND area IS NOT NULL AND {LISTED}",  # noqa: S608
            call["id"],
        )
        phases = _phases(
            await conn.fetch(
                "SELECT kind, starts_at, ends_at FROM phases WHERE call_id = $1 ORDER BY position",
                call["id"],
            )
        )
    ideas = [SimpleNamespace(**dict(r)) for r in items]
    page = Page(
        items=ideas,
        cursors=[encode_cursor((i.published_at, i.id)) for i in ideas],
        has_next=len(rows) > PAGE,
        total=total,
    )
    context = {
        "call": call,
        "ideas": page,
        "query": ListQuery(),
        "query_string": "",
        "options": {
            "tags": sorted(r["tag"] for r in tags),
            "areas": sorted(r["area"] for r in areas),
        },
        "sorts": SORT_LABELS,
        "statuses": STATUS_LABELS,
        "can_post": rules.allows(phases, rules.Action.POST_IDEA, moment),  # type: ignore[arg-type]
        "after": None,
        "authors": {r["id"]: r for r in authors},
        "outcomes": {r["idea_id"]: _outcome(r) for r in outcomes},
    }
    if request.headers.get("HX-Request") == "true":
        return _render(request, "ideas/_results.html", context)
    return _render(request, "ideas/list.html", context)


async def healthz(request: Request) -> Response:
    async with request.app.state.pool.acquire() as conn:
        await conn.fetchval("SELECT 1")
    return JSONResponse({"status": "ok"})


def create(url: str | None = None, *, pool_size: int | None = None) -> Starlette:
    url = url or os.environ["DATABASE_URL"]
    settings = Settings.from_env()
    size = pool_size or settings.db_pool_size

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(raw_dsn(url), min_size=1, max_size=size)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/ideas/{id:id}", idea_page),
            Route("/calls/{slug:str}/ideas", list_page),
            Route("/graphql", gql_baseline.endpoint, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.templates = build_templates(settings)
    return app
