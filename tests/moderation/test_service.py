"""Reporting and moderating, at the service and SQL level."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Forbidden, NotFound, ValidationFailed
from server.ideas import service as ideas

try:  # the listing moved out of ideas.service; the filter on hidden_at is the same
    from server.ideas.listing import list_ideas
except ImportError:  # pragma: no cover
    from server.ideas.service import list_ideas  # type: ignore[attr-defined,no-redef]
from server.identity.models import Role
from server.moderation import service
from server.moderation.models import Report
from server.moderation.service import Action
from server.notifications.models import Notification, NotificationKind
from tests.factories import make_account, make_call, make_idea, make_persona, now
from tests.moderation.support import audit_actions, make_comment


async def _open_reports(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Report).where(Report.resolved_at.is_(None))
    return await session.scalar(query) or 0


async def test_a_repeated_report_is_a_friendly_no_op(session: AsyncSession) -> None:
    idea = await make_idea(session, await make_call(session))
    resident = await make_account(session)
    assert await service.report(session, resident, "idea", idea.id, "  Abusive  ") is True
    assert await service.report(session, resident, "idea", idea.id, "Still abusive") is False
    [row] = list(await session.scalars(select(Report)))
    assert row.reason == "Abusive" and row.reporter_account_id == resident.id
    # Someone else's report on the same item counts separately.
    assert await service.report(session, await make_account(session), "idea", idea.id, "Spam")
    assert await _open_reports(session) == 2


@pytest.mark.parametrize(
    ("subject_type", "reason", "error", "message"),
    [
        ("idea", "   ", ValidationFailed, "Tell the moderators what is wrong"),
        ("idea", "x" * 1001, ValidationFailed, "1,000 characters"),
        ("post", "Spam", ValidationFailed, "Report an idea or a comment"),
        ("missing-idea", "Spam", NotFound, "could not find that idea"),
        ("missing-comment", "Spam", NotFound, "could not find that comment"),
    ],
)
async def test_bad_reports_are_refused_and_change_nothing(
    session: AsyncSession, subject_type: str, reason: str, error: type, message: str
) -> None:
    idea = await make_idea(session, await make_call(session))
    resident = await make_account(session)
    subject_id = idea.id
    if subject_type.startswith("missing-"):
        subject_type, subject_id = subject_type.removeprefix("missing-"), 999_999
    with pytest.raises(error) as refused:
        await service.report(session, resident, subject_type, subject_id, reason)
    assert message in refused.value.message
    assert await _open_reports(session) == 0


async def test_a_draft_cannot_be_reported(session: AsyncSession) -> None:
    call = await make_call(session)
    author = await make_persona(session)
    draft = await ideas.create_idea(
        session, call, author, title="Draft", body="", now=now(), publish=False
    )
    with pytest.raises(NotFound):
        await service.report(session, await make_account(session), "idea", draft.id, "Spam")


async def test_hiding_an_idea_removes_it_from_listings_and_resolves_reports(
    session: AsyncSession,
) -> None:
    call = await make_call(session)
    kept = await make_idea(session, call, title="Kept")
    bad = await make_idea(session, call, title="Bad")
    for _ in range(2):
        await service.report(session, await make_account(session), "idea", bad.id, "Abuse")
    moderator = await make_account(session, role=Role.MODERATOR)
    result = await service.moderate(
        session, moderator, "idea", bad.id, Action.HIDE, reason="Removed: abusive", now=now()
    )
    assert result.reports_resolved == 2
    page = await list_ideas(session, call.id)
    assert [i.title for i in page.items] == ["Kept"] and page.total == 1
    assert kept.hidden_at is None
    hidden_row = await session.get(type(bad), bad.id)
    assert hidden_row is not None
    assert hidden_row.hidden_at is not None
    assert hidden_row.hidden_reason == "Removed: abusive"
    reports = list(await session.scalars(select(Report)))
    assert {(r.resolution, r.resolved_by) for r in reports} == {("hidden", moderator.id)}
    assert await audit_actions(session, "idea", bad.id) == ["moderation.hide"]

    await service.moderate(session, moderator, "idea", bad.id, Action.RESTORE, now=now())
    assert {i.title for i in (await list_ideas(session, call.id)).items} == {"Kept", "Bad"}
    assert await audit_actions(session, "idea", bad.id) == ["moderation.hide", "moderation.restore"]


async def test_hiding_and_restoring_a_comment(session: AsyncSession) -> None:
    comment = await make_comment(session, await make_idea(session, await make_call(session)))
    moderator = await make_account(session, role=Role.ADMIN)  # admins can do everything
    await service.moderate(
        session, moderator, "comment", comment.id, Action.HIDE, reason="Off topic", now=now()
    )
    assert comment.hidden_at is not None and comment.hidden_reason == "Off topic"
    with pytest.raises(NotFound):
        await service.moderate(
            session, moderator, "comment", 999_999, Action.HIDE, reason="x", now=now()
        )
    await service.moderate(session, moderator, "comment", comment.id, Action.RESTORE, now=now())
    assert comment.hidden_at is None and comment.hidden_reason is None


async def test_warning_notifies_the_author_account_only(session: AsyncSession) -> None:
    author_account = await make_account(session)
    author = await make_persona(session, author_account)
    idea = await make_idea(session, await make_call(session), author=author)
    reporter = await make_account(session)
    await service.report(session, reporter, "idea", idea.id, "Rude")
    moderator = await make_account(session, role=Role.MODERATOR)
    result = await service.moderate(
        session, moderator, "idea", idea.id, Action.WARN, reason="Please be civil.", now=now()
    )
    assert result.reports_resolved == 1 and idea.hidden_at is None
    [note] = list(await session.scalars(select(Notification)))
    assert note.account_id == author_account.id and note.kind == NotificationKind.MODERATION
    assert "Please be civil." in note.message and note.link == f"/ideas/{idea.id}"


async def test_dismissing_resolves_reports_and_needs_some(session: AsyncSession) -> None:
    idea = await make_idea(session, await make_call(session))
    await service.report(session, await make_account(session), "idea", idea.id, "Meh")
    moderator = await make_account(session, role=Role.MODERATOR)
    await service.moderate(session, moderator, "idea", idea.id, Action.DISMISS, now=now())
    assert await _open_reports(session) == 0
    with pytest.raises(ValidationFailed, match="no open reports"):
        await service.moderate(session, moderator, "idea", idea.id, Action.DISMISS, now=now())
    # After a resolution the same person may report again.
    assert await service.report(session, await make_account(session), "idea", idea.id, "Again")


@pytest.mark.parametrize(
    ("action", "reason", "message"),
    [
        (Action.HIDE, "  ", "reason shown in its place"),
        (Action.WARN, "", "your message"),
        (Action.HIDE, "x" * 501, "500 characters"),
        (Action.RESTORE, "", "nothing to restore"),
    ],
)
async def test_bad_moderation_input_changes_nothing(
    session: AsyncSession, action: Action, reason: str, message: str
) -> None:
    idea = await make_idea(session, await make_call(session))
    await service.report(session, await make_account(session), "idea", idea.id, "Spam")
    moderator = await make_account(session, role=Role.MODERATOR)
    with pytest.raises(ValidationFailed) as refused:
        async with session.begin_nested():
            await service.moderate(
                session, moderator, "idea", idea.id, action, reason=reason, now=now()
            )
    assert message in str(refused.value.errors or refused.value.message)
    assert idea.hidden_at is None and await _open_reports(session) == 1
    assert await audit_actions(session, "idea", idea.id) == []


async def test_residents_and_councillors_cannot_moderate(session: AsyncSession) -> None:
    idea = await make_idea(session, await make_call(session))
    for role in (None, Role.COUNCILLOR):
        someone = await make_account(session, role=role)
        with pytest.raises(Forbidden):
            await service.moderate(
                session, someone, "idea", idea.id, Action.HIDE, reason="No", now=now()
            )
        with pytest.raises(Forbidden):
            await service.require_moderator(session, someone)
    assert idea.hidden_at is None


async def test_queue_is_oldest_first_paginated_and_anonymous(session: AsyncSession) -> None:
    call = await make_call(session)
    first, second, third = [await make_idea(session, call, title=f"Idea {n}") for n in range(3)]
    comment = await make_comment(session, first, body="Nasty comment")
    reporters = [await make_account(session) for _ in range(3)]
    # In one transaction now() does not move, so the times are set to fix the order.
    base = now() - dt.timedelta(hours=5)
    order = [("idea", second.id), ("comment", comment.id), ("idea", third.id)]
    for i, (kind, sid) in enumerate(order):
        session.add(
            Report(
                subject_type=kind,
                subject_id=sid,
                reporter_account_id=reporters[i].id,
                reason=f"Reason {i}",
                created_at=base + dt.timedelta(hours=i),
            )
        )
    session.add(
        Report(
            subject_type="idea",
            subject_id=second.id,
            reporter_account_id=reporters[2].id,
            reason="Reason late",
            created_at=base + dt.timedelta(hours=4),
        )
    )
    await session.flush()
    page = await service.queue(session, first=2)
    assert page.total == 3 and page.has_next
    assert [(i.subject_type, i.subject_id) for i in page.items] == order[:2]
    assert page.items[0].report_count == 2
    assert page.items[0].reasons == ["Reason 0", "Reason late"]
    assert page.items[1].text == "Nasty comment" and page.items[1].idea_title == "Idea 0"
    assert page.items[1].link == f"/ideas/{first.id}#comment-{comment.id}"
    rest = await service.queue(session, first=2, after=page.end_cursor)
    assert [(i.subject_type, i.subject_id) for i in rest.items] == order[2:]
    assert not rest.has_next
    assert not any(hasattr(i, "reporter_account_id") for i in page.items + rest.items)
