"""A councillor's round, in a real browser: the call dashboard, an unanswered idea, its outcome
form; axe on the dashboard and the form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect

from server.demo import DEMO_PASSWORD, FUTURES
from tests.browser.conftest import AddIdeas, OpenPage

pytestmark = pytest.mark.browser

TITLE = "Water fountains in every park"


async def test_councillor_answers_an_idea_from_the_dashboard(
    open_page: OpenPage,
    add_ideas: AddIdeas,
    check_accessibility: Callable[[Page], Awaitable[None]],
) -> None:
    await add_ideas(FUTURES, [TITLE])
    page = await open_page(bypass_csp=True)  # axe is injected as a script of its own
    await page.goto("/sign-in")
    await page.get_by_label("Email address").first.fill("councillor@moot.example")
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()

    await page.goto(f"/calls/{FUTURES}/dashboard")
    await expect(page.get_by_role("heading", name="Ideas without a response")).to_be_visible()
    await expect(page.get_by_role("img", name="Participation per day")).to_be_visible()
    await check_accessibility(page)

    await page.get_by_role("link", name=TITLE).click()
    await expect(page.get_by_role("heading", name=f"Outcome for “{TITLE}”")).to_be_visible()
    await page.get_by_role("button", name="Save outcome").click()  # nothing filled in
    await expect(page.get_by_role("alert")).to_contain_text("Choose what the council decided.")
    await check_accessibility(page)  # the form, with its errors

    await page.get_by_label("Accepted", exact=True).check()
    await page.get_by_label("Written response").fill("We will install **six** this summer.")
    await page.get_by_label("Decision reference (optional)").fill("Executive EX/25/7")
    await page.get_by_role("button", name="Save outcome").click()
    await expect(page.get_by_role("status")).to_contain_text("The outcome is recorded")
    await expect(page.get_by_role("link", name=TITLE)).to_have_count(0)
