"""Browser harness: a real Moot (uvicorn, demo content, its own database) and headless Chromium.

``live_server`` runs the app on a free local port in a background thread with its own event loop,
against a fresh database holding the demo content. ``browser`` is one Chromium for the session
(on pytest-asyncio's session loop); ``open_page`` gives each test its own contexts, closed before
the server stops. ``check_accessibility`` runs axe-core from node_modules on a page.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncSession

from server import demo, web
from server.app import create_app
from server.calls import service as calls
from server.db import Database, create_engine
from server.ideas import service as ideas
from server.settings import PROJECT_ROOT, Settings
from tests.factories import make_persona

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_JS = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Generous for a 2-core machine, short enough that a hang fails fast rather than stalls the run.
STARTUP_TIMEOUT = 15.0
PAGE_TIMEOUT_MS = 10_000


# --- the server -------------------------------------------------------------------------------


async def _in_session(url: str, work: Callable[[AsyncSession], Awaitable[object]]) -> None:
    """Run ``work(session)`` in one committed transaction on an engine of its own."""
    db = Database(create_engine(url, pool_size=1))
    try:
        async with db.session() as s, s.begin():
            await work(s)
    finally:
        await db.dispose()


@pytest.fixture
async def demo_database(fresh_database: Callable[[], Awaitable[str]]) -> str:
    """URL of a fresh, migrated database holding the demo content."""
    url = await fresh_database()

    async def load(session: AsyncSession) -> None:
        await demo.load(session, now=web.now())

    await _in_session(url, load)
    return url


class AddIdeas(Protocol):
    async def __call__(self, slug: str, titles: list[str]) -> None: ...


@pytest.fixture
def add_ideas(demo_database: str) -> AddIdeas:
    """Post ideas to a call of the live database, through the same service as the app."""

    async def add(slug: str, titles: list[str]) -> None:
        async def write(session: AsyncSession) -> None:
            call = await calls.get_call(session, slug)
            author = await make_persona(session)
            for title in titles:
                await ideas.create_idea(
                    session, call, author, title=title, body=f"Body of {title}.", now=web.now()
                )

        await _in_session(demo_database, write)

    return add


def _listening_socket() -> socket.socket:
    """A socket already bound to a free port: no window for another process to take the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


async def _wait_until_healthy(base_url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last: str = "no answer yet"
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not thread.is_alive():
                raise RuntimeError(f"live server thread ended during startup ({last})")
            try:
                response = await client.get("/healthz")
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return
                last = f"/healthz answered {response.status_code}: {response.text}"
            await asyncio.sleep(0.05)
    raise RuntimeError(f"live server not healthy after {STARTUP_TIMEOUT}s ({last})")


@pytest.fixture
async def live_server(demo_database: str, tmp_path: Path) -> AsyncIterator[str]:
    """Base URL (``http://127.0.0.1:<port>``) of Moot served by uvicorn in a background thread."""
    settings = Settings(database_url=demo_database, var_dir=tmp_path / "var", environment="test")
    app = create_app(settings)
    sock = _listening_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",  # the app's lifespan disposes of its engine on the server's own loop
        ws="none",  # no WebSockets in Moot; skips importing a WebSocket library into the test run
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    # uvicorn only installs signal handlers in the main thread, so this thread needs nothing
    # special: it stops when should_exit is set.
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="moot-live-server"
    )
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        await _wait_until_healthy(base_url, thread)
        yield base_url
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, STARTUP_TIMEOUT)
        sock.close()
        assert not thread.is_alive(), "live server did not stop"


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


class OpenPage(Protocol):
    async def __call__(self, *, javascript: bool = True, bypass_csp: bool = False) -> Page: ...


@pytest.fixture
async def open_page(browser: Browser, live_server: str) -> AsyncIterator[OpenPage]:
    """Factory for a page in a new context whose relative URLs resolve against the live server.

    Contexts are closed here, before ``live_server`` (which this fixture depends on) stops."""
    contexts: list[BrowserContext] = []

    async def open_(*, javascript: bool = True, bypass_csp: bool = False) -> Page:
        context = await browser.new_context(
            base_url=live_server, java_script_enabled=javascript, bypass_csp=bypass_csp
        )
        contexts.append(context)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        return await context.new_page()

    yield open_
    for context in contexts:
        await context.close()


# --- accessibility ----------------------------------------------------------------------------


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact') or 'no impact given'}): {v['help']}")
        lines.append(f"  {v['helpUrl']}")
        for node in v["nodes"]:
            lines.append(f"    at {' '.join(json.dumps(t) for t in node['target'])}")
    return "\n".join(lines)


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of WCAG 2.2 A/AA rules on the page as it is now.

    The page's context must have been opened with ``bypass_csp=True``: Moot's CSP (rightly)
    refuses the injected script."""
    if not AXE_JS.is_file():
        pytest.fail(
            f"axe-core is missing ({AXE_JS} not found): run `make install` to install the "
            "front-end test dependencies from package.json (or `npm ci` in the project root)",
            pytrace=False,
        )
    await page.add_script_tag(path=AXE_JS)
    result = await page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return results.violations;
        }""",
        AXE_TAGS,
    )
    return list(result)


async def _check_accessibility(page: Page) -> None:
    violations = await axe_violations(page)
    if violations:
        pytest.fail(
            f"axe-core found {len(violations)} accessibility violation(s) on {page.url}:\n"
            + _describe(violations),
            pytrace=False,
        )


@pytest.fixture
def check_accessibility() -> Callable[[Page], Awaitable[None]]:
    """``await check_accessibility(page)`` fails the test listing every axe violation."""
    return _check_accessibility


@pytest.fixture(scope="session")
def htmx_version() -> str:
    version = json.loads((PROJECT_ROOT / "web/static/vendor/htmx/VERSION.json").read_text())
    return str(version["version"])
