"""Participatory budgeting in a real browser: a resident chooses projects and watches "£X left"
change (htmx posts each change), casts the vote, then changes it; the ballot page and a published
results page pass axe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import web
from server.demo import DEMO_PASSWORD
from server.identity.models import Account
from server.personas.models import Persona
from server.votes import casting, results, service
from server.votes.models import BallotKind
from tests.browser import conftest
from tests.factories import make_account, make_persona
from tests.votes.factories import make_ballot, make_voting_call

pytestmark = pytest.mark.browser

CheckAccessibility = Callable[[Page], Awaitable[None]]


@pytest.fixture
async def votes(demo_database: str) -> dict[str, int]:
    """An open budgeting vote, and a published ranked vote, on the live database."""
    made: dict[str, int] = {}

    async def write(session: AsyncSession) -> None:
        call = await make_voting_call(session, slug="ward-budget")
        budgeting = await make_ballot(session, call, BallotKind.BUDGETING)
        ranked = await make_ballot(session, call, BallotKind.RANKED, options=3)
        options = [o.id for o in await service.options_of(session, ranked.id)]
        for ranking in ([options[0], options[1]], [options[1]], [options[2], options[1]]):
            account = await make_account(session)
            persona = await make_persona(session, account)
            await casting.cast(session, ranked.id, account, persona.id, ranking, now=web.now())
        await service.close_ballot(session, ranked.id, now=web.now(), actor=None)
        await results.publish_results(session, ranked.id, now=web.now(), actor=None)
        sam = await session.scalar(select(Account).where(Account.email == "sam@moot.example"))
        assert sam is not None
        assert await session.scalar(select(Persona.id).where(Persona.account_id == sam.id))
        made.update(budgeting=budgeting.id, ranked=ranked.id)

    await conftest._in_session(demo_database, write)
    return made


async def _sign_in(page: Page, email: str) -> None:
    await page.goto("/sign-in")
    await page.locator("form[action^='/sign-in']").first.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()


async def test_budgeting_vote_shows_what_is_left_then_counts_and_changes(
    open_page: Any, votes: dict[str, int], check_accessibility: CheckAccessibility
) -> None:
    page = await open_page(bypass_csp=True)  # axe is injected as a script of its own
    await _sign_in(page, "sam@moot.example")
    await page.goto(f"/votes/{votes['budgeting']}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("budgeting vote")
    left = page.locator("#budget-left")
    await expect(left).to_have_text("£1,000.00 left of £1,000.00")
    await check_accessibility(page)

    await page.get_by_label("Option 0 (£200.00)").check()
    await expect(left).to_have_text("£800.00 left of £1,000.00")
    await page.get_by_label("Option 3 (£800.00)").check()
    await expect(left).to_have_text("£0.00 left of £1,000.00")
    await page.get_by_label("Option 2 (£600.00)").check()
    await expect(left).to_have_text(
        "Over budget: your choices cost £1,600.00, £600.00 more than the £1,000.00 to share."
    )
    await page.get_by_label("Option 3 (£800.00)").uncheck()
    await page.get_by_label("Option 2 (£600.00)").uncheck()
    await page.get_by_label("Option 1 (£400.00)").check()
    await expect(left).to_have_text("£400.00 left of £1,000.00")
    assert page.url.endswith(f"/votes/{votes['budgeting']}")  # no page load: htmx

    await page.get_by_role("button", name="Cast my vote").click()
    await expect(page.get_by_role("status")).to_contain_text("Your vote is counted.")
    await expect(page.get_by_text("You have not changed it.")).to_be_visible()
    await expect(page.get_by_label("Option 1 (£400.00)")).to_be_checked()

    await page.get_by_label("Option 1 (£400.00)").uncheck()
    await expect(left).to_have_text("£800.00 left of £1,000.00")
    await page.get_by_role("button", name="Change my vote").click()
    await expect(page.get_by_text("You have changed it once.")).to_be_visible()
    await expect(page.get_by_label("Option 1 (£400.00)")).not_to_be_checked()
    await check_accessibility(page)


async def test_published_results_page_is_accessible(
    open_page: Any, votes: dict[str, int], check_accessibility: CheckAccessibility
) -> None:
    page = await open_page(bypass_csp=True)
    await page.goto(f"/votes/{votes['ranked']}/results")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Results: ranked vote")
    await expect(
        page.get_by_role("table", name="Votes in each round of the instant runoff")
    ).to_be_visible()
    await check_accessibility(page)
    await page.get_by_role("link", name="How to verify this result").click()
    await expect(page.locator("#sha256")).not_to_be_empty()
    await check_accessibility(page)
