"""The public pages in a real browser: accessibility, self-hosted htmx, progressive enhancement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import pytest
from playwright.async_api import ConsoleMessage, Error, Page, Request, expect

from server.demo import FUTURES, FUTURES_IDEAS, RIVERSIDE

pytestmark = pytest.mark.browser

CheckAccessibility = Callable[[Page], Awaitable[None]]

PAGE_SIZE = 20  # server.pagination.DEFAULT_PAGE
EXTRA_IDEAS = [f"Extra idea {n:02d}" for n in range(1, 26)]
# Newest first: the extra ideas are posted after the demo's, in one transaction (so by id).
ALL_IDEAS = list(reversed(EXTRA_IDEAS)) + [title for title, _ in reversed(FUTURES_IDEAS)]

# Recorded before any page script runs; Playwright's init scripts are not subject to the CSP.
RECORD_CSP_VIOLATIONS = """
window.mootCspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.mootCspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline code'}`);
});
"""


async def watch_for_errors(page: Page) -> Callable[[], Awaitable[list[str]]]:
    """Start recording script errors, console errors and CSP violations; call the result for
    everything seen so far."""
    seen: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.append(f"console: {message.text} ({message.location.get('url')})")

    def on_page_error(error: Error) -> None:
        seen.append(f"uncaught: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    await page.add_init_script(RECORD_CSP_VIOLATIONS)

    async def errors() -> list[str]:
        violations = await page.evaluate("() => window.mootCspViolations || []")
        return seen + [f"CSP: {v}" for v in violations]

    return errors


@pytest.mark.parametrize(
    ("path", "status"),
    [
        pytest.param("/", 200, id="home"),
        pytest.param(f"/calls/{FUTURES}", 200, id="open-call"),
        pytest.param(f"/calls/{RIVERSIDE}", 200, id="closed-call"),
        pytest.param("/calls/no-such-call", 404, id="not-found"),
    ],
)
async def test_page_has_no_axe_violations(
    open_page, check_accessibility: CheckAccessibility, path: str, status: int
) -> None:
    page = await open_page(bypass_csp=True)  # axe is injected as a script of its own
    response = await page.goto(path)
    assert response is not None
    assert response.status == status
    await check_accessibility(page)


async def test_axe_check_reports_each_violation(
    open_page, check_accessibility: CheckAccessibility
) -> None:
    """The check above is only worth its zero if it fails when something is wrong."""
    page = await open_page(bypass_csp=True)
    await page.goto("/")
    await page.evaluate(
        """() => {
            const img = document.createElement('img');
            img.id = 'no-alt';
            img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
            document.querySelector('main').append(img);
        }"""
    )
    with pytest.raises(pytest.fail.Exception) as failure:
        await check_accessibility(page)
    message = str(failure.value)
    assert "image-alt (critical): Images must have alternative text" in message
    assert 'at "#no-alt"' in message


async def test_htmx_is_served_from_our_own_origin(
    open_page, live_server: str, htmx_version: str
) -> None:
    page = await open_page()  # the real CSP applies: htmx must load under script-src 'self'
    errors = await watch_for_errors(page)
    requested: list[str] = []

    def record(request: Request) -> None:
        requested.append(request.url)

    page.on("request", record)
    await page.goto("/")
    await page.wait_for_function("() => window.htmx !== undefined")
    assert await page.evaluate("() => htmx.version") == htmx_version

    origin = urlsplit(live_server)
    elsewhere = [url for url in requested if urlsplit(url)[:2] != origin[:2]]
    assert not elsewhere, f"requests left the live server's origin: {elsewhere}"
    assert any(urlsplit(url).path == "/static/vendor/htmx/htmx.min.js" for url in requested)
    assert await errors() == []


async def _idea_titles(page: Page) -> list[str]:
    return await page.locator("#idea-list > li.card h3").all_inner_texts()


async def test_more_ideas_are_appended_in_place_with_javascript(open_page, add_ideas) -> None:
    await add_ideas(FUTURES, EXTRA_IDEAS)
    page = await open_page()
    errors = await watch_for_errors(page)
    await page.goto(f"/calls/{FUTURES}")
    cards = page.locator("#idea-list > li.card")
    await expect(cards).to_have_count(PAGE_SIZE)
    more = page.locator("#idea-list").get_by_role("link", name="More ideas")
    # Click only once htmx has wired the link up, or the click is an ordinary navigation.
    await expect(more).to_have_attribute("data-htmx-powered", "true")

    # A full navigation would start a new document and lose this mark. (htmx stamps the history
    # entry with replaceState on its first swap, so "framenavigated" fires even without one.)
    await page.evaluate("() => { window.mootSameDocument = true }")
    before = page.url
    async with page.expect_response(lambda r: "after=" in r.url) as fragment:
        await more.click()
    response = await fragment.value
    assert await response.request.header_value("hx-request") == "true"
    assert (await response.text()).lstrip().startswith("<li")  # rows only, not a whole page

    await expect(cards).to_have_count(len(ALL_IDEAS))
    await expect(more).to_have_count(0)
    await expect(page.locator("#more-ideas")).to_have_count(0)
    assert await _idea_titles(page) == ALL_IDEAS
    # Keyboard users keep their place: focus moves to the first idea that was loaded.
    focused = await page.evaluate("() => document.activeElement.querySelector('h3')?.textContent")
    assert focused == ALL_IDEAS[PAGE_SIZE]
    assert page.url == before
    assert urlsplit(page.url).path == f"/calls/{FUTURES}"
    assert await page.evaluate("() => window.mootSameDocument === true")
    # The rows joined the list itself: one list, no list nested in a list item.
    assert await page.locator("#idea-list").count() == 1
    assert await page.locator("#idea-list li li").count() == 0
    assert await errors() == []


async def test_more_ideas_link_loads_a_page_without_javascript(open_page, add_ideas) -> None:
    await add_ideas(FUTURES, EXTRA_IDEAS)
    page = await open_page(javascript=False)
    await page.goto(f"/calls/{FUTURES}")
    assert await _idea_titles(page) == ALL_IDEAS[:PAGE_SIZE]

    more = page.locator("#idea-list").get_by_role("link", name="More ideas")
    async with page.expect_navigation():
        await more.click()
    url = urlsplit(page.url)
    assert url.path == f"/calls/{FUTURES}"
    assert "after=" in url.query
    assert url.fragment == "ideas-heading"
    # A whole page (not bare rows), showing the ideas after the first page and no further link.
    assert await page.locator("h1").inner_text() == "South West Futures — Open Ideas Day"
    assert await _idea_titles(page) == ALL_IDEAS[PAGE_SIZE:]
    await expect(more).to_have_count(0)
