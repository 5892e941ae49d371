"""Discussion in a real browser: a comment posted in one window appears in another open on the
same idea, without a reload (server-sent events through htmx's SSE extension)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import web
from server.calls import service as calls
from server.demo import FUTURES
from server.ideas.models import Idea
from server.identity import service as identity
from server.identity.auth import SESSION_COOKIE
from tests.browser.conftest import OpenPage, _in_session
from tests.factories import make_account, make_persona

pytestmark = pytest.mark.browser

CheckAccessibility = Callable[[Page], Awaitable[None]]


async def _resident_and_idea(url: str) -> tuple[str, int]:
    """A signed-in session for a new resident with a persona, and an open idea of the demo."""
    found: dict[str, object] = {}

    async def work(session: AsyncSession) -> None:
        account = await make_account(session)
        await make_persona(session, account, name="Priya, resident of Truro")
        found["token"] = await identity.start_session(session, account, now=web.now())
        call = await calls.get_call(session, FUTURES)
        found["idea"] = await session.scalar(
            select(Idea.id).where(Idea.call_id == call.id, Idea.published_at.is_not(None)).limit(1)
        )

    await _in_session(url, work)
    return str(found["token"]), int(found["idea"])  # type: ignore[call-overload]


async def test_a_new_comment_appears_for_another_viewer_without_reload(
    open_page: OpenPage,
    live_server: str,
    demo_database: str,
    check_accessibility: CheckAccessibility,
) -> None:
    token, idea_id = await _resident_and_idea(demo_database)
    watcher = await open_page(bypass_csp=True)  # bypass only so axe can be injected
    await watcher.goto(f"/ideas/{idea_id}")
    section = watcher.locator("#comments")
    await expect(section.get_by_role("heading", name="Discussion")).to_be_visible()
    # Wait until the event stream is open (the extension marks the element as connected).
    # Generous: on a busy 2-core machine the first stream can take a while to open.
    await watcher.wait_for_function(
        "() => !!document.querySelector('[hx-sse\\\\:connect]')?._htmx?.sse", timeout=30_000
    )
    watcher_url = watcher.url

    writer = await open_page()
    await writer.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": live_server}])
    await writer.goto(f"/ideas/{idea_id}")
    await writer.get_by_label("For", exact=True).check()
    await writer.get_by_label("Your comment").fill("Night buses to *Truro*, please.")
    await writer.get_by_role("button", name="Post comment").click()
    await expect(writer.locator("article.comment").filter(has_text="Night buses")).to_be_visible()

    posted = section.locator("article.comment").filter(has_text="Night buses to Truro")
    await expect(posted).to_be_visible()
    await expect(posted.locator("em")).to_have_text("Truro")
    await expect(section.locator(".tally")).to_contain_text("1 for")
    assert watcher.url == watcher_url  # no reload, no navigation
    await check_accessibility(watcher)
