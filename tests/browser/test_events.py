"""The Open Ideas Day in a real browser: register for a venue (htmx swaps the section), see the
places left drop, and axe-check the call page's event section and the host page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect

from server.demo import DEMO_PASSWORD, FUTURES

pytestmark = pytest.mark.browser

CheckAccessibility = Callable[[Page], Awaitable[None]]


async def _sign_in(page: Page, email: str) -> None:
    await page.goto("/sign-in")
    password_form = page.locator("form[action^='/sign-in']").first
    await password_form.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()


async def test_register_for_a_venue_and_see_places_drop(
    open_page, check_accessibility: CheckAccessibility
) -> None:
    page = await open_page(bypass_csp=True)  # axe is injected as a script of its own
    await _sign_in(page, "ann@moot.example")
    await page.goto(f"/calls/{FUTURES}")
    honiton = page.locator("table.venues").get_by_role("row", name="Beehive Centre, Honiton")
    await expect(honiton).to_contain_text("Twenty of 20 places left")
    await check_accessibility(page)
    await honiton.get_by_role("button", name="Register at Beehive Centre, Honiton").click()
    # htmx swapped the event section in place: no page load, places left dropped.
    await expect(page.get_by_role("status")).to_contain_text("You have a place.")
    await expect(page.get_by_text("You have a place at Beehive Centre, Honiton.")).to_be_visible()
    await expect(
        page.locator("table.venues").get_by_role("row", name="Beehive Centre, Honiton")
    ).to_contain_text("Nineteen of 20 places left")
    assert "event=registered" not in page.url  # swapped by htmx, not a redirect
    await check_accessibility(page)


async def test_host_page_is_accessible(open_page, check_accessibility: CheckAccessibility) -> None:
    page = await open_page(bypass_csp=True)
    await _sign_in(page, "admin@moot.example")  # admins may do what organisers and hosts do
    await page.goto(f"/calls/{FUTURES}")
    await page.get_by_role("link", name="Manage this event").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Manage Open Ideas Day")
    await check_accessibility(page)
    await page.get_by_role("link", name="Open the host page").first.click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Host ")
    await expect(page.get_by_role("heading", name="Check-in")).to_be_visible()
    await check_accessibility(page)
