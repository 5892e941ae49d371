from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.demo import FUTURES, RIVERSIDE
from tests.factories import make_call, make_idea, make_organiser


async def test_home_lists_open_calls_and_past_calls(
    client: httpx.AsyncClient, demo_data: list[str]
) -> None:
    html = (await client.get("/")).text
    assert "South West Futures — Open Ideas Day" in html
    assert f'href="/calls/{FUTURES}"' in html
    assert re.search(r"Closes <time[^>]*>in \d+ (day|week|month)s?</time>", html)
    # The closed call is not listed as open, but is findable under past calls.
    open_part, past_part = html.split('id="past-calls"')
    assert RIVERSIDE not in open_part and RIVERSIDE in past_part


async def test_home_has_a_clear_empty_state(client: httpx.AsyncClient) -> None:
    html = (await client.get("/")).text
    assert "There are no open calls just now." in html


async def test_more_calls_works_with_and_without_htmx(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organiser = await make_organiser(session)
    for d in range(25):
        await make_call(
            session,
            organiser=organiser,
            closes=dt.timedelta(days=d + 1),
            title=f"Numbered call {d:02d}",
        )
    page = (await client.get("/")).text
    assert page.count('class="card"') == 20
    link = re.search(r'href="/\?after=([^"#]+)#open-calls"', page)
    assert link, "no 'More calls' link"
    # Without JavaScript: a whole page with the rest.
    rest = await client.get(f"/?after={link.group(1)}")
    assert rest.text.count('class="card"') == 5 and "<html" in rest.text
    # With htmx: only the rows, to swap in place of the link.
    fragment = await client.get(f"/?after={link.group(1)}", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and fragment.text.count('class="card"') == 5
    assert "Numbered call 24" in fragment.text and "More calls" not in fragment.text


async def test_call_page_shows_timeline_venues_and_ideas(
    client: httpx.AsyncClient, demo_data: list[str]
) -> None:
    response = await client.get(f"/calls/{FUTURES}")
    assert response.status_code == 200
    html = response.text
    assert "<h1>South West Futures — Open Ideas Day</h1>" in html
    assert "<strong>Call for ideas</strong> is open. It closes <time" in html
    for venue, places in (
        ("Exeter Library", 30),
        ("Beehive Centre, Honiton", 20),
        ("Penryn Campus", 25),
    ):
        assert re.search(rf"<th scope=\"row\">{re.escape(venue)}</th>.*?<td>{places}</td>", html)
    assert "Night buses between Exeter, Crediton and Cullompton" in html
    assert "6 ideas, newest first." in html


async def test_closed_call_shows_outcomes(client: httpx.AsyncClient, demo_data: list[str]) -> None:
    html = (await client.get(f"/calls/{RIVERSIDE}")).text
    assert "This call closed" in html
    assert html.count("Council's answer:") == 4
    assert "Not taken forward" in html and "Partly accepted" in html


async def test_user_text_is_escaped_and_markdown_sanitised(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session, title="<script>alert('t')</script>")
    await make_idea(session, call, title="<img src=x onerror=alert(1)>")
    html = (await client.get(f"/calls/{call.slug}")).text
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x" in html


async def test_ideas_paginate_with_htmx_fragment(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    for i in range(23):
        await make_idea(session, call, title=f"Idea number {i:02d}")
    html = (await client.get(f"/calls/{call.slug}")).text
    assert html.count("Idea number") == 20
    cursor = re.search(r'hx-get="/calls/[^"?]+\?after=([^"]+)"', html)
    assert cursor
    fragment = await client.get(
        f"/calls/{call.slug}?after={cursor.group(1)}", headers={"HX-Request": "true"}
    )
    assert fragment.text.count("Idea number") == 3 and "<html" not in fragment.text
