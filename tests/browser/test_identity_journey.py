"""A resident's first visit, in a real browser: sign up, confirm by email, add a persona, sign
out and back in; every page on the way checked with axe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import OpenPage

pytestmark = pytest.mark.browser

EMAIL = "jane.journey@example.org"
PASSWORD = "a long enough passphrase"


async def test_sign_up_confirm_persona_sign_out_and_in(
    open_page: OpenPage, check_accessibility: Callable[[Page], Awaitable[None]]
) -> None:
    page = await open_page(bypass_csp=True)
    await page.goto("/")
    await page.get_by_role("link", name="Sign in").click()
    await page.get_by_role("link", name="Create an account").click()
    await check_accessibility(page)
    await page.get_by_label("Email address").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    await page.goto("/dev/outbox")
    link = page.get_by_role("link", name="/sign-in/link/").first
    await page.goto(await link.get_attribute("href") or "")
    await page.get_by_role("button", name="Continue and sign in").click()
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    await expect(page.get_by_text(EMAIL)).to_be_visible()
    await check_accessibility(page)

    await page.get_by_role("link", name="Add a persona").click()
    await page.get_by_role("button", name="Create persona").click()  # nothing filled in
    await expect(page.get_by_role("alert")).to_contain_text("Give the persona a name")
    await check_accessibility(page)  # the error state too
    await page.get_by_label("Under a pseudonym").check()
    await page.get_by_label("Name shown to everyone").fill("Otter of the Exe")
    await page.get_by_role("button", name="Create persona").click()
    await expect(page.get_by_role("status")).to_contain_text("Your new persona is ready")
    await expect(page.get_by_role("heading", name="Otter of the Exe")).to_be_visible()

    await page.get_by_role("button", name="Sign out", exact=True).click()
    await expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    await page.get_by_role("link", name="Sign in").click()
    await page.get_by_label("Email address").first.fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    await expect(page.get_by_role("heading", name="Otter of the Exe")).to_be_visible()
