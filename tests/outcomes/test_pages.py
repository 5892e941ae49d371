"""The outcome form and the councillors' dashboard, as pages."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.comments.models import Stance
from server.identity.models import Role
from server.outcomes.models import Outcome
from tests.factories import csrf_token, make_account, make_call, make_idea, sign_in
from tests.moderation.support import endorse, make_comment


async def test_councillor_records_an_outcome_from_the_dashboard(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    idea = await make_idea(session, call, title="Open-air cinema")
    await make_comment(session, idea, stance=Stance.FOR)
    await endorse(session, idea)
    await sign_in(client, session, await make_account(session, role=Role.ADMIN))
    dashboard = await client.get(f"/calls/{call.slug}/dashboard")
    assert dashboard.status_code == 200
    html = dashboard.text
    assert f'href="/ideas/{idea.id}/outcome"' in html
    assert '<svg role="img" aria-labelledby="chart-title chart-desc"' in html
    assert "1 ideas, 1 comments, 1 endorsements" in html  # the bar's own title
    assert 'id="participation"' in html and 'id="stances"' in html and 'id="by-tag"' in html
    form = await client.get(f"/ideas/{idea.id}/outcome")
    assert form.status_code == 200 and "Open-air cinema" in form.text
    token = await csrf_token(client)
    bad = await client.post(
        f"/ideas/{idea.id}/outcome",
        data={"status": "sort-of", "response": "", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert "Choose what the council decided." in bad.text
    assert "Write a response that residents can read." in bad.text
    assert await session.scalar(select(Outcome)) is None
    saved = await client.post(
        f"/ideas/{idea.id}/outcome",
        data={
            "status": "accepted",
            "response": "Four film nights from June.",
            "decision_reference": "Executive EX/25/3",
            "budget_line": "",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == (
        f"/calls/{call.slug}/dashboard?done=outcome-recorded#unanswered"
    )
    outcome = await session.scalar(select(Outcome))
    assert outcome is not None and outcome.decision_reference == "Executive EX/25/3"
    after = await client.get(saved.headers["location"])
    assert "Every idea has an answer." in after.text and "followers have been told" in after.text


async def test_residents_cannot_answer_or_see_the_dashboard(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    idea = await make_idea(session, call)
    await sign_in(client, session, await make_account(session))
    assert (await client.get(f"/calls/{call.slug}/dashboard")).status_code == 403
    assert (await client.get(f"/ideas/{idea.id}/outcome")).status_code == 403
    token = await csrf_token(client)
    refused = await client.post(
        f"/ideas/{idea.id}/outcome",
        data={"status": "accepted", "response": "Yes", "csrf_token": token},
    )
    assert refused.status_code == 403 and "Only a councillor" in refused.text
    assert await session.scalar(select(Outcome)) is None


async def test_organisers_see_the_dashboard_without_answer_links(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    idea = await make_idea(session, call, title="Waiting idea")
    await sign_in(client, session, await make_account(session, role=Role.ORGANISER))
    page = await client.get(f"/calls/{call.slug}/dashboard")
    assert page.status_code == 200 and "Waiting idea" in page.text
    assert f"/ideas/{idea.id}/outcome" not in page.text


async def test_signed_out_visitors_are_sent_to_sign_in(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    page = await client.get(f"/calls/{call.slug}/dashboard")
    assert page.status_code == 303 and page.headers["location"].startswith("/sign-in")
