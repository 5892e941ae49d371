"""Pages for comments. ``idea_comments_context`` feeds the idea page's discussion section
(web/templates/comments/_section.html); the routes here post, reply, edit and delete (plain
forms that redirect back to the idea page, so nothing needs JavaScript). New comments reach
open idea pages as server-sent events from ``comments.stream``, whose route is included here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server.calls import rules
from server.calls.service import phases_of
from server.comments import service, stream
from server.comments.models import Comment
from server.comments.threads import Entry, Viewer, check_ids, entry_tree, viewer_for
from server.errors import Forbidden, MootError, NotFound, ValidationFailed
from server.ideas.models import Idea
from server.identity import auth
from server.identity.light import light_scope_allows
from server.identity.models import Account
from server.personas.models import Persona
from server.web import now, render

STANCES = [("", "No stance"), ("for", "For"), ("against", "Against"), ("neutral", "Neutral")]


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
    viewer = await viewer_for(session, account)
    page = await service.list_comments(
        session, idea.id, first=100, after=request.query_params.get("comments_after")
    )
    entries, _ = await entry_tree(session, page.items, viewer, moment)
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
    check_ids(idea_id, comment_id or 0)
    async with request.app.state.db.session() as session:
        idea = await session.get(Idea, idea_id)
        if idea is None or idea.published_at is None:
            raise NotFound("There is no such idea.")
        viewer = await viewer_for(session, await auth.current_account(request))
        target = None
        if comment_id is not None:
            comment = await session.get(Comment, comment_id)
            if comment is None or comment.idea_id != idea_id:
                raise NotFound("There is no such comment on this idea.")
            entries, _ = await entry_tree(session, [comment], viewer, now())
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
    check_ids(request.path_params["idea_id"], request.path_params["comment_id"])
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


routes: list[BaseRoute] = [
    Route("/ideas/{idea_id:id}/comments", post_comment, methods=["POST"]),
    *stream.routes,
    Route("/ideas/{idea_id:id}/comments/{comment_id:id}/reply", reply_page, methods=["GET"]),
    Route("/ideas/{idea_id:id}/comments/{comment_id:id}/edit", edit_page, methods=["GET"]),
    Route("/ideas/{idea_id:id}/comments/{comment_id:id}/edit", edit_comment, methods=["POST"]),
    Route("/ideas/{idea_id:id}/comments/{comment_id:id}/delete", delete_comment, methods=["POST"]),
]
