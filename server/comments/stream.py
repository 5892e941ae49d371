"""New and edited comments streamed to open idea pages as server-sent events: HTML fragments
that htmx's SSE extension puts in place (appended to their thread, or swapped for the edited
comment)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from server import live
from server.comments import service
from server.comments.models import Comment
from server.comments.threads import SHOWN_LEVELS, check_ids, container_owner, entry_tree, viewer_for
from server.errors import BadRequest, NotFound
from server.ideas.models import Idea
from server.identity import auth
from server.web import now

HEARTBEAT = 15.0  # seconds between SSE keep-alives


def _sse(data: str, *, event_id: int | None = None) -> str:
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


def _last_seen(request: Request) -> int | None:
    """The newest comment the page already shows (``?after=``, or ``Last-Event-ID`` when the
    extension reconnects); None if the client did not say."""
    seen = None
    for raw in (request.query_params.get("after"), request.headers.get("last-event-id")):
        if raw and raw.isdigit() and len(raw) <= 18:
            seen = max(seen or 0, min(int(raw), service.MAX_ID))
    return seen


async def stream(request: Request) -> Response:
    """New comments on an idea, as HTML fragments for htmx to put in place."""
    idea_id: int = request.path_params["idea_id"]
    if "text/event-stream" not in request.headers.get("accept", "text/event-stream"):
        raise BadRequest("This address streams server-sent events.")
    check_ids(idea_id)
    db = request.app.state.db
    account = await auth.current_account(request)
    async with db.session() as session:
        idea = await session.get(Idea, idea_id)
        if idea is None or idea.published_at is None or idea.hidden_at is not None:
            raise NotFound("There is no such idea.")
        viewer = await viewer_for(session, account)
    env: Environment = request.app.state.templates
    broker = live.broker_for(request.app)
    base = {"request": request, "csrf_token": request.scope.get("state", {}).get("csrf_token")}

    async def fresh(after: int) -> tuple[str, int]:
        async with db.session() as session:
            comments = await service.new_since(session, idea_id, after)
            if not comments:
                return "", after
            _, by_id = await entry_tree(session, comments, viewer, now())
            targets = await _live_targets(session, comments)
            tally = await service.stance_tally(session, idea_id)
        items = [(by_id[c.id], *targets[c.id]) for c in comments]
        html = env.get_template("comments/_live.html").render(
            base, idea=idea, items=items, tally=tally
        )
        return _sse(html, event_id=comments[-1].id), comments[-1].id

    async def changed(comment_id: int) -> str:
        async with db.session() as session:
            comment = await session.get(Comment, comment_id)
            if comment is None or comment.idea_id != idea_id:
                return ""
            (entry,), _ = await entry_tree(session, [comment], viewer, now())
            tally = await service.stance_tally(session, idea_id)
        html = env.get_template("comments/_live.html").render(
            base, idea=idea, updated=entry, tally=tally
        )
        return _sse(html)

    async def events() -> AsyncIterator[str]:
        async with broker.subscribe(service.topic(idea_id)) as sub:
            seen = _last_seen(request)
            if seen is None:  # from now on
                async with db.session() as session:
                    seen = await service.newest_id(session, idea_id)
            yield f"retry: 3000\n: listening on idea {idea_id}\n\n"
            chunk, seen = await fresh(seen)  # whatever landed before we were listening
            if chunk:
                yield chunk
            while True:
                try:
                    message = await sub.get(wait=HEARTBEAT)
                except live.SubscriptionClosed:
                    return
                if message is None:
                    yield ": keep-alive\n\n"
                    continue
                kind = message.data.get("kind")
                if message.resync or kind == "created":
                    chunk, seen = await fresh(seen)
                elif kind == "updated" and isinstance(message.data.get("comment"), int):
                    chunk = await changed(message.data["comment"])
                else:
                    chunk = ""
                if chunk:
                    yield chunk

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


async def _live_targets(
    session: AsyncSession, comments: Sequence[Comment]
) -> dict[int, tuple[str, str]]:
    """Where each new comment goes on an open page: appended to its container's list, or,
    below the last shown level, straight after the comment it follows in thread order."""
    out: dict[int, tuple[str, str]] = {}
    for c in comments:
        owner = container_owner(c)
        if owner is None:
            out[c.id] = (f"#comments-{c.idea_id}-list", "beforeend")
        elif c.depth < SHOWN_LEVELS:
            out[c.id] = (f"#replies-{owner}", "beforeend")
        else:
            before = await session.scalar(
                select(Comment.id)
                .where(Comment.idea_id == c.idea_id, Comment.path < c.path)
                .order_by(Comment.path.desc())
                .limit(1)
            )
            out[c.id] = (f"#thread-{before}", "afterend")
    return out


routes: list[BaseRoute] = [
    Route("/ideas/{idea_id:id}/comments/stream", stream, methods=["GET"]),
]
