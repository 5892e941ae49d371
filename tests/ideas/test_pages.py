"""The idea pages over HTTP: posting (with and without htmx), similar ideas, the list, an
idea, its history, endorsing and following; bad input shown next to its field."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.comments import service as comments
from server.db import Database
from server.ideas import service
from server.ideas.models import Endorsement, Idea, IdeaFollow
from server.ideas.service import IdeaInput
from server.outcomes import service as outcomes
from server.outcomes.models import OutcomeStatus
from tests.factories import csrf_token, make_account, make_call, make_idea, make_persona, now
from tests.factories import sign_in as sign_in_as
from tests.ideas.helpers import closed_call
from tests.statements import statements_sent


async def _resident(client: httpx.AsyncClient, session: AsyncSession) -> tuple[int, int, str]:
    account = await make_account(session)
    persona = await make_persona(session, account, name="Otter of the Exe")
    await sign_in_as(client, session, account)
    return account.id, persona.id, await csrf_token(client)


async def _ideas(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Idea)) or 0


async def test_post_an_idea_and_read_it(client: httpx.AsyncClient, session: AsyncSession) -> None:
    call = await make_call(session)
    _, persona_id, token = await _resident(client, session)
    page = await client.get(f"/calls/{call.slug}/ideas/new")
    assert page.status_code == 200 and "Otter of the Exe" in page.text
    response = await client.post(
        f"/calls/{call.slug}/ideas",
        data={
            "csrf_token": token,
            "persona_id": str(persona_id),
            "title": "Night buses",
            "body": "Run **night buses** on Fridays.",
            "tags": "Transport, young people",
            "area": "Exeter",
            "action": "publish",
        },
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/ideas/\d+\?done=idea-published", location)
    html = (await client.get(location)).text
    assert "Your idea is published" in html
    assert '<h1 id="idea-title">Night buses</h1>' in html
    assert "<strong>night buses</strong>" in html
    assert "Otter of the Exe" in html and "young people" in html and "About Exeter" in html
    assert "comments/_section" not in html  # the comments section is included, not named
    listing = (await client.get(f"/calls/{call.slug}/ideas")).text
    assert "Night buses" in listing and "Otter of the Exe" in listing
    assert "@example.org" not in html + listing  # never the account


async def test_bad_input_shows_next_to_the_field(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    _, persona_id, token = await _resident(client, session)
    other = await make_persona(session)
    cases = [
        ({"title": ""}, "title", "Give your idea a title."),
        ({"title": "T", "body": "x" * 100_000}, "body", "Keep the description to 20,000"),
        ({"title": "T", "body": "<script>alert(1)</script>"}, "body", "Remove the HTML tag"),
        ({"title": "T", "tags": ",".join(f"t{i}" for i in range(9))}, "tags", "at most 8 tags"),
        ({"title": "T", "persona_id": str(other.id)}, "persona_id", "one of your own personas"),
    ]
    for fields, name, message in cases:
        data = {"csrf_token": token, "persona_id": str(persona_id), "action": "publish", **fields}
        response = await client.post(f"/calls/{call.slug}/ideas", data=data)
        assert response.status_code == 422, name
        error = re.search(rf'<p class="error" id="{name}-error">(.*?)</p>', response.text, re.S)
        assert error and message in error.group(1), (name, response.text[:2000])
        assert 'aria-invalid="true"' in response.text
    assert await _ideas(session) == 0


async def test_posting_outside_the_phase_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await closed_call(session)
    _, persona_id, token = await _resident(client, session)
    page = (await client.get(f"/calls/{call.slug}/ideas/new")).text
    assert "You cannot post ideas during Follow-up." in page and "Publish idea" not in page
    response = await client.post(
        f"/calls/{call.slug}/ideas",
        data={"csrf_token": token, "persona_id": str(persona_id), "title": "Late idea"},
    )
    assert response.status_code == 403
    assert "You cannot post ideas during Follow-up." in response.text
    assert await _ideas(session) == 0


async def test_similar_ideas_without_and_with_javascript(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    await make_idea(session, call, title="Night buses between Exeter and Crediton")
    _, persona_id, token = await _resident(client, session)
    # Without JavaScript: the "Check for similar ideas" button shows them on the form page.
    checked = await client.post(
        f"/calls/{call.slug}/ideas",
        data={
            "csrf_token": token,
            "persona_id": str(persona_id),
            "title": "More night buses",
            "body": "Please",
            "action": "check",
        },
    )
    assert checked.status_code == 200
    assert "Similar ideas already shared" in checked.text
    assert "Night buses between Exeter and Crediton" in checked.text
    assert 'value="More night buses"' in checked.text and ">Please</textarea>" in checked.text
    assert await _ideas(session) == 1
    # With htmx: a fragment as the title is typed.
    fragment = await client.get(
        f"/calls/{call.slug}/ideas/similar",
        params={"title": "night bus", "body": ""},
        headers={"HX-Request": "true"},
    )
    assert "<html" not in fragment.text and "Night buses between Exeter" in fragment.text
    none = await client.get(f"/calls/{call.slug}/ideas/similar", params={"title": "allotments"})
    assert "No similar ideas found" in none.text


async def test_drafts_are_private_and_listed_for_their_author(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    _, persona_id, token = await _resident(client, session)
    response = await client.post(
        f"/calls/{call.slug}/ideas",
        data={
            "csrf_token": token,
            "persona_id": str(persona_id),
            "title": "Half-baked",
            "action": "draft",
        },
    )
    assert response.status_code == 303 and "idea-draft-saved" in response.headers["location"]
    idea_id = int(response.headers["location"].split("/")[2].split("?")[0])
    assert "This is a draft" in (await client.get(f"/ideas/{idea_id}")).text
    new_page = (await client.get(f"/calls/{call.slug}/ideas/new")).text
    assert "Your drafts in this call" in new_page and "Half-baked" in new_page
    assert "Half-baked" not in (await client.get(f"/calls/{call.slug}/ideas")).text
    assert "Half-baked" not in (await client.get(f"/calls/{call.slug}")).text
    client.cookies.clear()
    assert (await client.get(f"/ideas/{idea_id}")).status_code == 404


async def test_edit_keeps_history_and_others_cannot_edit(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    author = await make_account(session)
    persona = await make_persona(session, author)
    idea = await service.post_idea(
        session, author, call, persona.id, IdeaInput("Old title", "Old body"), now=now()
    )
    _, _, token = await _resident(client, session)  # someone else
    assert (await client.get(f"/ideas/{idea.id}/edit")).status_code == 403
    refused = await client.post(
        f"/ideas/{idea.id}/edit", data={"csrf_token": token, "title": "Hijacked"}
    )
    assert refused.status_code == 403 and "Only the author" in refused.text
    await sign_in_as(client, session, author)
    form = (await client.get(f"/ideas/{idea.id}/edit")).text
    assert 'value="Old title"' in form
    saved = await client.post(
        f"/ideas/{idea.id}/edit",
        data={"csrf_token": token, "title": "New title", "body": "New body"},
    )
    assert saved.status_code == 303
    page = (await client.get(f"/ideas/{idea.id}")).text
    assert "New title" in page and "this is version 2" in page
    history = (await client.get(f"/ideas/{idea.id}/history")).text
    assert "Version 2 (current)" in history and "Version 1" in history
    assert "Old title" in history and "Old body" in history and "Replaced <time" in history


async def test_endorse_and_follow_with_forms_and_htmx(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    idea = await make_idea(session, call, title="Plant oaks")
    _, persona_id, token = await _resident(client, session)
    page = (await client.get(f"/ideas/{idea.id}")).text
    assert "Endorse this idea" in page and 'hx-post="/ideas/' in page
    done = await client.post(
        f"/ideas/{idea.id}/endorse", data={"csrf_token": token, "persona_id": str(persona_id)}
    )
    assert done.status_code == 303 and "done=endorsed" in done.headers["location"]
    again = await client.post(
        f"/ideas/{idea.id}/endorse",
        data={"csrf_token": token, "persona_id": str(persona_id)},
        headers={"HX-Request": "true"},
    )
    assert again.status_code == 200 and again.text.lstrip().startswith("<section")
    assert "<strong>1</strong> person endorses" in again.text
    assert "Withdraw endorsement" in again.text
    count = await session.scalar(select(func.count()).select_from(Endorsement))
    assert count == 1
    followed = await client.post(
        f"/ideas/{idea.id}/follow", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert "Stop following" in followed.text
    assert await session.scalar(select(func.count()).select_from(IdeaFollow)) == 1
    await client.post(f"/ideas/{idea.id}/unfollow", data={"csrf_token": token})
    assert await session.scalar(select(func.count()).select_from(IdeaFollow)) == 0
    withdrawn = await client.post(
        f"/ideas/{idea.id}/withdraw", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert "<strong>0</strong> people endorse" in withdrawn.text


async def test_list_filters_search_sort_and_htmx_fragment(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    persona = await make_persona(session)
    for i in range(23):
        await service.create_idea(
            session,
            call,
            persona,
            title=f"Idea number {i:02d}",
            body="",
            now=now(),
            tags=["even" if i % 2 == 0 else "odd"],
        )
    html = (await client.get(f"/calls/{call.slug}/ideas")).text
    assert "23 ideas" in html and html.count("Idea number") == 20
    assert '<option value="even">even</option>' in html
    tagged = (await client.get(f"/calls/{call.slug}/ideas", params={"tag": "odd"})).text
    assert "11 ideas" in tagged
    searched = await client.get(
        f"/calls/{call.slug}/ideas",
        params={"q": "number", "sort": "random"},
        headers={"HX-Request": "true"},
    )
    assert "<html" not in searched.text and "23 ideas matching" in searched.text
    more = re.search(r'hx-get="([^"]+after=[^"]+)"', searched.text)
    assert more and "seed=" in more.group(1) and "sort=random" in more.group(1)
    rest = await client.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert rest.text.lstrip().startswith("<li") and rest.text.count("Idea number") == 3
    assert (await client.get(f"/calls/{call.slug}/ideas", params={"sort": "x"})).status_code == 400


async def test_call_page_links_to_ideas_with_author_and_counts(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    persona = await make_persona(session, name="Heron")
    idea = await make_idea(session, call, title="Bridges", author=persona)
    html = (await client.get(f"/calls/{call.slug}")).text
    assert f'href="/ideas/{idea.id}"' in html and f'href="/calls/{call.slug}/ideas"' in html
    assert "Heron" in html and "0 endorsements · 0 comments" in html
    assert f'href="/calls/{call.slug}/ideas/new"' in html


async def test_pages_cost_the_same_statements_however_much_they_show(
    client: httpx.AsyncClient, session: AsyncSession, db: Database
) -> None:
    """No statement per card or per comment, and the call's phases read once per page."""
    small, big = await make_call(session), await make_call(session)
    lone = await make_idea(session, small)
    ideas = [await make_idea(session, big) for _ in range(25)]
    busy = ideas[-1]
    await outcomes.record_outcome(session, busy, status=OutcomeStatus.ACCEPTED, response="Yes.")
    account = await make_account(session)
    persona = await make_persona(session, account)
    for i in range(5):
        await comments.create_comment(
            session, account, idea_id=busy.id, persona_id=persona.id, body=f"No. {i}", now=now()
        )

    async def sent(path: str, **headers: str) -> list[str]:
        with statements_sent(db) as statements:
            response = await client.get(path, headers=headers)
        assert response.status_code == 200
        return statements

    quiet, discussed = await sent(f"/ideas/{lone.id}"), await sent(f"/ideas/{busy.id}")
    assert "Yes." in (await client.get(f"/ideas/{busy.id}")).text
    assert len(quiet) == len(discussed)
    assert sum("FROM phases" in s for s in discussed) == 1
    for headers in ({}, {"HX-Request": "true"}):
        one = await sent(f"/calls/{small.slug}/ideas", **headers)
        page = await sent(f"/calls/{big.slug}/ideas", **headers)
        assert len(one) == len(page)
    call_page = [s for s in await sent(f"/calls/{big.slug}") if "FROM phases" in s]
    assert len(call_page) == len(set(call_page)), "the same phases read twice"


async def test_filter_choices_are_reused_for_a_short_while(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: Any
) -> None:
    """The list's tag choices are read once per call per FILTER_CHOICES_SECONDS in a process:
    a new tag appears once that time has passed."""
    from server.ideas import pages

    call = await make_call(session)
    persona = await make_persona(session)

    async def post(tag: str) -> None:
        await service.create_idea(
            session, call, persona, title=f"About {tag}", body="", now=now(), tags=[tag]
        )

    await post("parks")
    first = (await client.get(f"/calls/{call.slug}/ideas")).text
    assert '<option value="parks">parks</option>' in first
    await post("buses")
    again = (await client.get(f"/calls/{call.slug}/ideas")).text
    assert "About buses" in again  # the list itself is never stale
    assert '<option value="buses">buses</option>' not in again
    monkeypatch.setattr(pages, "FILTER_CHOICES_SECONDS", 0.0)
    later = (await client.get(f"/calls/{call.slug}/ideas")).text
    assert '<option value="buses">buses</option>' in later
