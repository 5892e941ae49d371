"""Reporting and moderating through the pages (forms with CSRF, no JavaScript needed)."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.identity.models import Role
from server.moderation import service
from server.moderation.models import Report
from tests.factories import csrf_token, make_account, make_call, make_idea, sign_in
from tests.moderation.support import audit_actions, make_comment


async def _reports(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Report)) or 0


async def test_report_an_idea_then_again(client: httpx.AsyncClient, session: AsyncSession) -> None:
    idea = await make_idea(session, await make_call(session), title="Reported idea")
    await sign_in(client, session, await make_account(session))
    form = await client.get(f"/report?subject_type=idea&subject_id={idea.id}")
    assert form.status_code == 200 and "Reported idea" in form.text
    token = await csrf_token(client)
    data = {
        "subject_type": "idea",
        "subject_id": str(idea.id),
        "reason": "Spam",
        "csrf_token": token,
    }
    sent = await client.post("/report", data=data)
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/ideas/{idea.id}?done=reported"
    again = await client.post("/report", data=data)
    assert again.headers["location"] == f"/ideas/{idea.id}?done=already-reported"
    assert await _reports(session) == 1


async def test_report_a_comment_lands_on_the_comment(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    idea = await make_idea(session, await make_call(session))
    comment = await make_comment(session, idea)
    await sign_in(client, session, await make_account(session))
    token = await csrf_token(client)
    sent = await client.post(
        "/report",
        data={
            "subject_type": "comment",
            "subject_id": str(comment.id),
            "reason": "Rude",
            "csrf_token": token,
        },
    )
    assert sent.headers["location"] == f"/ideas/{idea.id}?done=reported#comment-{comment.id}"


async def test_bad_reports_get_a_clear_message(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    idea = await make_idea(session, await make_call(session))
    await sign_in(client, session, await make_account(session))
    token = await csrf_token(client)
    empty = await client.post(
        "/report",
        data={
            "subject_type": "idea",
            "subject_id": str(idea.id),
            "reason": " ",
            "csrf_token": token,
        },
    )
    assert empty.status_code == 422 and "Tell the moderators what is wrong" in empty.text
    missing = await client.post(
        "/report",
        data={
            "subject_type": "idea",
            "subject_id": "999999",
            "reason": "Spam",
            "csrf_token": token,
        },
    )
    assert missing.status_code == 404 and "could not find that idea" in missing.text
    no_csrf = await client.post(
        "/report", data={"subject_type": "idea", "subject_id": str(idea.id), "reason": "Spam"}
    )
    assert no_csrf.status_code == 403
    assert await _reports(session) == 0


async def test_signed_out_people_cannot_report(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    idea = await make_idea(session, await make_call(session))
    page = await client.get(f"/report?subject_type=idea&subject_id={idea.id}")
    assert page.status_code == 303 and page.headers["location"].startswith("/sign-in")
    token = await csrf_token(client)
    sent = await client.post(
        "/report",
        data={
            "subject_type": "idea",
            "subject_id": str(idea.id),
            "reason": "x",
            "csrf_token": token,
        },
    )
    assert sent.status_code == 401 and await _reports(session) == 0


async def test_residents_cannot_see_the_queue_or_act(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    idea = await make_idea(session, await make_call(session))
    await sign_in(client, session, await make_account(session))
    assert (await client.get("/moderation")).status_code == 403
    assert (await client.get(f"/moderation/idea/{idea.id}")).status_code == 403
    token = await csrf_token(client)
    hide = await client.post(
        f"/moderation/idea/{idea.id}",
        data={"action": "hide", "reason": "No", "csrf_token": token},
    )
    assert hide.status_code == 403
    await session.refresh(idea)
    assert idea.hidden_at is None


async def test_moderator_reviews_and_hides_from_the_queue(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    idea = await make_idea(session, await make_call(session), title="Buy cheap watches")
    reporter = await make_account(session, email="reporter@example.org")
    await service.report(session, reporter, "idea", idea.id, "Advertising")
    moderator = await make_account(session, role=Role.MODERATOR)
    await sign_in(client, session, moderator)
    queue = await client.get("/moderation")
    assert queue.status_code == 200
    assert "Buy cheap watches" in queue.text and "Advertising" in queue.text
    assert "reporter@example.org" not in queue.text
    review = await client.get(f"/moderation/idea/{idea.id}")
    assert review.status_code == 200 and "Advertising" in review.text
    token = await csrf_token(client)
    no_reason = await client.post(
        f"/moderation/idea/{idea.id}", data={"action": "hide", "reason": "", "csrf_token": token}
    )
    assert no_reason.status_code == 422 and "Write the reason shown in its place" in no_reason.text
    await session.refresh(idea)
    assert idea.hidden_at is None
    hidden = await client.post(
        f"/moderation/idea/{idea.id}",
        data={"action": "hide", "reason": "Advertising is not allowed", "csrf_token": token},
    )
    assert (
        hidden.status_code == 303
        and hidden.headers["location"] == "/moderation?done=moderation-done"
    )
    await session.refresh(idea)
    assert idea.hidden_reason == "Advertising is not allowed"
    assert await audit_actions(session, "idea", idea.id) == ["moderation.hide"]
    empty = await client.get("/moderation?done=moderation-done")
    assert "no open reports" in empty.text and "reports are resolved" in empty.text
