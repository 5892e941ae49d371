"""Pages for comments. ``idea_comments_context`` feeds the idea page's discussion section
(web/templates/comments/_section.html); the routes here post, reply, edit and delete (plain
forms that redirect back to the idea page, so nothing needs JavaScript) and stream new
comments to open idea pages as server-sent events (htmx's SSE extension appends them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from server import live
from server.calls import rules
from server.calls.service import phases_of
from server.comments import service
from server.comments.models import Comment
from server.errors import BadRequest, Forbidden, MootError, NotFound, ValidationFailed
from server.ideas.models import Idea
from server.identity import auth
from server.identity.light import light_scope_allows
from server.identity.models import Account
from server.personas.models import Persona
from server.personas.service import personas_of
from server.web import now, render

SHOWN_LEVELS = 4  # nesting on screen; deeper replies sit in the fourth level, "in reply to" X
HEARTBEAT = 15.0  # seconds between SSE keep-alives
STANCES = [("", "No stance"), ("for", "For"), ("against", "Against"), ("neutral", "Neutral")]


@dataclass
class Entry:
    """One comment ready to show: its author, where it sits, what the viewer may do."""

    comment: Comment
    author: Persona | None
    in_reply_to: Persona | None = None  # named when nesting stops showing the parent
    mine: bool = False
    editable: bool = False
    children: list[Entry] = field(default_factory=list)

    @property
    def has_replies_list(self) -> bool:
        return self.comment.depth < SHOWN_LEVELS - 1


def container_owner(comment: Comment) -> int | None:
    """The comment whose reply list holds ``comment`` on screen (None: the top level)."""
    if comment.depth == 0:
        return None
    return int(comment.path.split(".")[min(comment.depth - 1, SHOWN_LEVELS - 2)])


@dataclass
class Viewer:
    account: Account | None
    persona_ids: set[int] = field(default_factory=set)
    personas: list[Persona] = field(default_factory=list)


async def _viewer(session: AsyncSession, account: Account | None) -> Viewer:
    if account is None:
        return Viewer(None)
    everything = await personas_of(session, account.id, include_archived=True)
    return Viewer(
        account,
        {p.id for p in everything},
        [p for p in everything if p.archived_at is None],
    )


async def _entries(
    session: AsyncSession, comments: Sequence[Comment], viewer: Viewer, moment: dt.datetime
) -> tuple[list[Entry], dict[int, Entry]]:
    """The comments as a tree for the page, in thread order; one query for their authors."""
    ids = {c.author_persona_id for c in comments}
    parents = [c.parent_id for c in comments if c.depth >= SHOWN_LEVELS and c.parent_id]
    wanted = {c.id for c in comments}
    parent_authors: dict[int, int] = {}
    if parents:
        rows = await session.execute(
            select(Comment.id, Comment.author_persona_id).where(Comment.id.in_(parents))
        )
        parent_authors = {cid: pid for cid, pid in rows}
        ids |= set(parent_authors.values())
    authors = {p.id: p for p in await session.scalars(select(Persona).where(Persona.id.in_(ids)))}
    roots: list[Entry] = []
    by_id: dict[int, Entry] = {}
    for c in comments:
        entry = Entry(
            c,
            authors.get(c.author_persona_id),
            mine=c.author_persona_id in viewer.persona_ids,
            editable=c.author_persona_id in viewer.persona_ids and service.may_edit(c, moment),
        )
        if c.depth >= SHOWN_LEVELS and c.parent_id in parent_authors:
            entry.in_reply_to = authors.get(parent_authors[c.parent_id])
        by_id[c.id] = entry
        owner = container_owner(c)
        if owner is not None and owner in by_id and owner in wanted:
            by_id[owner].children.append(entry)
        else:
            roots.append(entry)
    return roots, by_id


@dataclass
class Discussion:
    idea: Idea
    entries: list[Entry]
    tally: service.Tally
    viewer: Viewer
    can_comment: bool
    closed_reason: str | None
    has_next: bool
    next_cursor: str | None
    last_id: int
    stances: list[tuple[str, str]] = field(default_factory=lambda: STANCES)
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


async def idea_comments_context(
    request: Request, session: AsyncSession, idea: Idea
) -> dict[str, Any]:
    """What comments/_section.html needs to show the discussion of ``idea``."""
    moment = now()
    account = await auth.current_account(request)
    viewer = await _viewer(session, account)
    page = await service.list_comments(
        session, idea.id, first=100, after=request.query_params.get("comments_after")
    )
    entries, _ = await _entries(session, page.items, viewer, moment)
    closed_reason = None
    try:
        rules.require(await phases_of(session, idea.call_id), rules.Action.COMMENT, moment)
    except rules.PhaseClosed as exc:
        closed_reason = exc.message
    if (
        closed_reason is None
        and account is not None
        and not await light_scope_allows(account, idea.call_id)
    ):
        closed_reason = service.OutsideLightScope.default_message
    discussion = Discussion(
        idea=idea,
        entries=entries,
        tally=await service.stance_tally(session, idea.id),
        viewer=viewer,
        can_comment=closed_reason is None,
        closed_reason=closed_reason,
        has_next=page.has_next,
        next_cursor=page.end_cursor if page.has_next else None,
        last_id=await service.newest_id(session, idea.id),
    )
    return {"discussion": discussion}


# --- writing ----------------------------------------------------------------------------------


def _int(raw: object, name: str) -> int | None:
    text = str(raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise ValidationFailed("That choice is not valid.", field=name)
    return int(text)


def _check_ids(*ids: int) -> None:
    if any(i > service.MAX_ID for i in ids):
        raise NotFound


def _idea_link(idea_id: int, comment_id: int | None = None) -> str:
    return f"/ideas/{idea_id}" + (f"#comment-{comment_id}" if comment_id else "#comments")


async def _form_page(
    request: Request,
    *,
    idea_id: int,
    mode: str,
    errors: dict[str, str],
    values: dict[str, str],
    comment_id: int | None = None,
    status: int = 200,
) -> Response:
    """The comment form on a page of its own: replies, edits, and any post with errors."""
    _check_ids(idea_id, comment_id or 0)
    async with request.app.state.db.session() as session:
        idea = await session.get(Idea, idea_id)
        if idea is None or idea.published_at is None:
            raise NotFound("There is no such idea.")
        viewer = await _viewer(session, await auth.current_account(request))
        target = None
        if comment_id is not None:
            comment = await session.get(Comment, comment_id)
            if comment is None or comment.idea_id != idea_id:
                raise NotFound("There is no such comment on this idea.")
            entries, _ = await _entries(session, [comment], viewer, now())
            target = entries[0]
    context = {
        "idea": idea,
        "mode": mode,
        "target": target,
        "viewer": viewer.account,
        "personas": viewer.personas,
        "stances": STANCES,
        "errors": errors,
        "values": values,
    }
    return render(request, "comments/form.html", context, status=status)


def _values(form: FormData) -> dict[str, str]:
    return {k: str(v) for k, v in form.items() if k != auth.CSRF_FIELD}


async def post_comment(request: Request) -> Response:
    idea_id: int = request.path_params["idea_id"]
    form = await auth.read_form(request)
    account = await auth.require_account(request)
    values = _values(form)
    parent_id = None
    try:
        parent_id = _int(form.get("parent_id"), "parent_id")
        persona_id = _int(form.get("persona_id"), "persona_id")
        if persona_id is None:
            raise ValidationFailed("Choose who you are commenting as.", field="persona_id")
        stance = service.parse_stance(str(form.get("stance", "")))
        async with request.app.state.db.session() as session, session.begin():
            comment = await service.create_comment(
                session,
                account,
                idea_id=idea_id,
                persona_id=persona_id,
                body=str(form.get("body", "")),
                stance=stance,
                parent_id=parent_id,
                now=now(),
            )
    except (ValidationFailed, Forbidden) as exc:
        reply = parent_id is not None and exc.field != "parent_id"
        return await _form_page(
            request,
            idea_id=idea_id,
            mode="reply" if reply else "new",
            errors=_errors(exc),
            values=values,
            comment_id=parent_id if reply else None,
            status=exc.status_code,
        )
    return RedirectResponse(_idea_link(idea_id, comment.id), status_code=303)


def _errors(exc: MootError) -> dict[str, str]:
    if isinstance(exc, ValidationFailed) and exc.errors:
        return exc.errors
    return {exc.field or "body": exc.message}


async def reply_page(request: Request) -> Response:
    await auth.require_account(request)
    return await _form_page(
        request,
        idea_id=request.path_params["idea_id"],
        mode="reply",
        errors={},
        values={},
        comment_id=request.path_params["comment_id"],
    )


async def _owned(request: Request) -> tuple[Account, Comment]:
    account = await auth.require_account(request)
    _check_ids(request.path_params["idea_id"], request.path_params["comment_id"])
    async with request.app.state.db.session() as session:
        comment = await session.get(Comment, request.path_params["comment_id"])
        if comment is None or comment.idea_id != request.path_params["idea_id"]:
            raise NotFound("There is no such comment on this idea.")
        owner = await session.scalar(
            select(Persona.account_id).where(Persona.id == comment.author_persona_id)
        )
    if owner != account.id:
        raise service.NotYourComment
    return account, comment


async def edit_page(request: Request) -> Response:
    _, comment = await _owned(request)
    values = {"body": comment.body, "stance": comment.stance.value if comment.stance else ""}
    errors = {}
    if not service.may_edit(comment, now()):
        errors["body"] = service.EditWindowClosed.default_message
    return await _form_page(
        request,
        idea_id=comment.idea_id,
        mode="edit",
        errors=errors,
        values=values,
        comment_id=comment.id,
    )


async def edit_comment(request: Request) -> Response:
    form = await auth.read_form(request)
    account, comment = await _owned(request)
    try:
        stance = service.parse_stance(str(form.get("stance", "")))
        async with request.app.state.db.session() as session, session.begin():
            await service.edit_comment(
                session,
                account,
                comment.id,
                body=str(form.get("body", "")),
                stance=stance,
                now=now(),
            )
    except (ValidationFailed, Forbidden) as exc:
        return await _form_page(
            request,
            idea_id=comment.idea_id,
            mode="edit",
            errors=_errors(exc),
            values=_values(form),
            comment_id=comment.id,
            status=exc.status_code,
        )
    return RedirectResponse(_idea_link(comment.idea_id, comment.id), status_code=303)


async def delete_comment(request: Request) -> Response:
    await auth.read_form(request)
    account, comment = await _owned(request)
    async with request.app.state.db.session() as session, session.begin():
        await service.delete_comment(session, account, comment.id, now=now())
    return RedirectResponse(_idea_link(comment.idea_id, comment.id), status_code=303)


# --- live updates -----------------------------------------------------------------------------


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
    _check_ids(idea_id)
    db = request.app.state.db
    account = await auth.current_account(request)
    async with db.session() as session:
        idea = await session.get(Idea, idea_id)
        if idea is None or idea.published_at is None or idea.hidden_at is not None:
            raise NotFound("There is no such idea.")
        viewer = await _viewer(session, account)
    env: Environment = request.app.state.templates
    broker = live.broker_for(request.app)
    base = {"request": request, "csrf_token": request.scope.get("state", {}).get("csrf_token")}

    async def fresh(after: int) -> tuple[str, int]:
        async with db.session() as session:
            comments = await service.new_since(session, idea_id, after)
            if not comments:
                return "", after
            _, by_id = await _entries(session, comments, viewer, now())
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
            (entry,), _ = await _entries(session, [comment], viewer, now())
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
    Route("/ideas/{idea_id:int}/comments", post_comment, methods=["POST"]),
    Route("/ideas/{idea_id:int}/comments/stream", stream, methods=["GET"]),
    Route("/ideas/{idea_id:int}/comments/{comment_id:int}/reply", reply_page, methods=["GET"]),
    Route("/ideas/{idea_id:int}/comments/{comment_id:int}/edit", edit_page, methods=["GET"]),
    Route("/ideas/{idea_id:int}/comments/{comment_id:int}/edit", edit_comment, methods=["POST"]),
    Route(
        "/ideas/{idea_id:int}/comments/{comment_id:int}/delete", delete_comment, methods=["POST"]
    ),
]
