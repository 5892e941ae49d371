"""A resident's ideas journey in a real browser: sign in, start an idea, see similar ideas as
the title is typed, post it, then endorse someone else's idea in place; axe on the new-idea page
and the idea page."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect

from server.db import Database, create_engine
from server.demo import FUTURES
from tests.browser.conftest import OpenPage
from tests.factories import make_account, make_persona

pytestmark = pytest.mark.browser

EMAIL = "ideas.journey@example.org"
PASSWORD = "a long enough passphrase"


async def _resident(url: str) -> None:
    db = Database(create_engine(url, pool_size=1))
    try:
        async with db.session() as s, s.begin():
            account = await make_account(s, email=EMAIL, password=PASSWORD)
            await make_persona(s, account, name="Otter of the Exe")
    finally:
        await db.dispose()


async def test_post_see_similar_and_endorse(
    open_page: OpenPage,
    demo_database: str,
    check_accessibility: Callable[[Page], Awaitable[None]],
) -> None:
    await _resident(demo_database)
    page = await open_page(bypass_csp=True)
    await page.goto("/sign-in")
    await page.get_by_label("Email address").first.fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()

    await page.goto(f"/calls/{FUTURES}/ideas/new")
    await expect(page.get_by_role("heading", name="Share an idea")).to_be_visible()
    await check_accessibility(page)
    title = page.get_by_label("Title")
    await expect(title).to_have_attribute("data-htmx-powered", "true")
    await title.press_sequentially("Later night buses", delay=10)
    similar = page.locator("#similar")
    await expect(
        similar.get_by_role("heading", name="Similar ideas already shared")
    ).to_be_visible()
    await expect(
        similar.get_by_role("link", name="Night buses between Exeter, Crediton and Cullompton")
    ).to_be_visible()

    await page.get_by_label("Your idea").fill("Buses until **2am** at weekends.")
    await page.get_by_label("Tags (optional)").fill("transport, night")
    await page.get_by_role("button", name="Publish idea").click()
    await expect(page.get_by_role("status")).to_contain_text("Your idea is published")
    await expect(page.get_by_role("heading", name="Later night buses", level=1)).to_be_visible()
    await expect(page.get_by_text("Otter of the Exe").first).to_be_visible()
    await check_accessibility(page)

    # The list's filter form: results swap in place and the URL follows.
    await page.goto(f"/calls/{FUTURES}/ideas")
    await expect(page.get_by_role("search")).to_have_attribute("data-htmx-powered", "true")
    await page.evaluate("() => { window.mootListPage = true }")
    await page.get_by_label("Search ideas").fill("night buses")
    await page.get_by_role("button", name="Show ideas").click()
    await expect(page.locator("#results-heading")).to_contain_text("2 ideas matching")
    await expect(page).to_have_url(re.compile(r"q=night\+buses"))
    assert await page.evaluate("() => window.mootListPage === true")
    await page.get_by_role(
        "link", name="Night buses between Exeter, Crediton and Cullompton"
    ).click()
    endorse = page.get_by_role("button", name="Endorse this idea")
    form = page.locator("#idea-actions form").first
    await expect(form).to_have_attribute("data-htmx-powered", "true")
    await page.evaluate("() => { window.mootSameDocument = true }")
    await endorse.click()
    actions = page.locator("#idea-actions")
    await expect(actions).to_contain_text("1 person endorses this idea.")
    await expect(actions.get_by_role("button", name="Withdraw endorsement")).to_be_visible()
    assert await page.evaluate("() => window.mootSameDocument === true")
    await check_accessibility(page)
