"""The discussion on the idea page, and the forms that post, reply, edit and delete without
JavaScript: bad input is shown next to the field and changes nothing."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.comments import service
from server.comments.models import Comment, Stance
from server.ideas.models import Idea
from server.identity.models import Account
from server.personas.models import Persona
from tests.factories import make_account, make_call, make_idea, make_persona, now, sign_in


async def _csrf(client: httpx.AsyncClient, idea: Idea) -> str:
    html = (await client.get(f"/ideas/{idea.id}")).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def _resident(
    client: httpx.AsyncClient, session: AsyncSession, idea: Idea | None = None
) -> tuple[Account, Persona, Idea, dict[str, str]]:
    account = await make_account(session)
    persona = await make_persona(session, account, name="Sam of Penryn")
    idea = idea or await make_idea(session, await make_call(session))
    await sign_in(client, session, account)
    form = {"csrf_token": await _csrf(client, idea), "persona_id": str(persona.id)}
    return account, persona, idea, form


async def _count(session: AsyncSession, idea: Idea) -> int:
    return (
        await session.scalar(
            select(func.count()).select_from(Comment).where(Comment.idea_id == idea.id)
        )
        or 0
    )


async def _add(
    session: AsyncSession, account: Account, persona: Persona, idea: Idea, body: str, **kw: object
) -> Comment:
    return await service.create_comment(
        session,
        account,
        idea_id=idea.id,
        persona_id=persona.id,
        body=body,
        now=now(),
        **kw,  # type: ignore[arg-type]
    )


async def test_idea_page_shows_the_thread_tally_and_tombstones(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, persona, idea, _ = await _resident(client, session)
    root = await _add(session, account, persona, idea, "Root **bold**", stance=Stance.FOR)
    chain = [root]
    for depth in range(1, 6):
        chain.append(
            await _add(session, account, persona, idea, f"Depth {depth}", parent_id=chain[-1].id)
        )
    gone = await _add(session, account, persona, idea, "Bye", stance=Stance.AGAINST)
    await service.delete_comment(session, account, gone.id, now=now())
    rude = await _add(session, account, persona, idea, "Rude words")
    rude.hidden_at, rude.hidden_reason = now(), "Personal abuse"
    await session.flush()
    html = (await client.get(f"/ideas/{idea.id}")).text
    assert "<strong>1</strong> for, <strong>0</strong> against" in html
    assert "<strong>bold</strong>" in html and "This comment was deleted" in html
    assert "Hidden by a moderator: Personal abuse" in html and "Rude words" not in html
    # Nested up to four levels; deeper replies sit at the fourth and say whom they answer.
    assert f'id="replies-{chain[2].id}"' in html and f'id="replies-{chain[3].id}"' not in html
    assert f'in reply to <a href="#comment-{chain[4].id}">Sam of Penryn</a>' in html
    section = html[html.index(f'id="replies-{chain[2].id}"') :]
    assert section.index("Depth 3") < section.index("Depth 4") < section.index("Depth 5")
    # Live updates and the extension come from our origin; the form works without them.
    assert f'hx-sse:connect="/ideas/{idea.id}/comments/stream?after=' in html
    assert '<script src="/static/vendor/htmx/ext/hx-sse.min.js?v=' in html
    assert f'action="/ideas/{idea.id}/comments"' in html


async def test_posting_redirects_back_to_the_comment(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, idea, form = await _resident(client, session)
    posted = await client.post(
        f"/ideas/{idea.id}/comments", data={**form, "body": "More buses", "stance": "for"}
    )
    assert posted.status_code == 303
    comment = await session.scalar(select(Comment).where(Comment.idea_id == idea.id))
    assert comment is not None and comment.stance == Stance.FOR
    assert posted.headers["location"] == f"/ideas/{idea.id}#comment-{comment.id}"
    await session.refresh(idea)
    assert idea.comment_count == 1
    reply_form = await client.get(f"/ideas/{idea.id}/comments/{comment.id}/reply")
    assert (
        reply_form.status_code == 200
        and f'name="parent_id" value="{comment.id}"' in reply_form.text
    )
    replied = await client.post(
        f"/ideas/{idea.id}/comments", data={**form, "body": "Yes", "parent_id": str(comment.id)}
    )
    assert replied.status_code == 303
    assert await _count(session, idea) == 2


async def test_bad_input_is_shown_next_to_the_field_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, persona, idea, form = await _resident(client, session)
    other = await make_idea(session, await make_call(session))
    elsewhere = await _add(session, account, persona, other, "Elsewhere")
    cases = [
        ({"body": ""}, "Write your comment before posting it."),
        ({"body": "x" * 100_000}, "Keep your comment to 10,000 characters or fewer"),
        ({"body": "Hi", "stance": "maybe"}, "Choose for, against, neutral or no stance."),
        (
            {"body": "Hi", "parent_id": str(elsewhere.id)},
            "You can only reply to a comment on this idea.",
        ),
        ({"body": "Hi", "persona_id": "x"}, "That choice is not valid."),
    ]
    for data, message in cases:
        response = await client.post(f"/ideas/{idea.id}/comments", data={**form, **data})
        assert response.status_code == 422, data
        assert message in response.text
        assert 'class="error" id="comment-' in response.text
    assert await _count(session, idea) == 0


async def test_script_tags_are_shown_as_text(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, idea, form = await _resident(client, session)
    await client.post(
        f"/ideas/{idea.id}/comments", data={**form, "body": "<script>alert('x')</script>"}
    )
    html = (await client.get(f"/ideas/{idea.id}")).text
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html


async def test_hidden_idea_and_closed_phase_refuse_with_a_message(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, idea, form = await _resident(client, session)
    await session.execute(update(Idea).where(Idea.id == idea.id).values(hidden_at=func.now()))
    hidden = await client.post(f"/ideas/{idea.id}/comments", data={**form, "body": "Hi"})
    assert hidden.status_code == 422 and "hidden by a moderator" in hidden.text
    later = await make_idea(session, await make_call(session, opens=dt.timedelta(days=2)))
    shut = await client.post(f"/ideas/{later.id}/comments", data={**form, "body": "Hi"})
    assert shut.status_code == 403 and "This call is not open just now" in shut.text
    page = (await client.get(f"/ideas/{later.id}")).text
    assert "This call is not open just now, so you cannot comment." in page
    assert f'action="/ideas/{later.id}/comments"' not in page
    assert await _count(session, idea) == 0 and await _count(session, later) == 0


async def test_editing_within_the_window_and_not_after(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, persona, idea, form = await _resident(client, session)
    comment = await _add(session, account, persona, idea, "Teh buses")
    edit_url = f"/ideas/{idea.id}/comments/{comment.id}/edit"
    assert "Teh buses" in (await client.get(edit_url)).text
    saved = await client.post(edit_url, data={**form, "body": "The buses", "stance": "neutral"})
    assert saved.status_code == 303
    html = (await client.get(f"/ideas/{idea.id}")).text
    assert "The buses" in html and "edited <time" in html
    await session.execute(
        update(Comment)
        .where(Comment.id == comment.id)
        .values(created_at=func.now() - dt.timedelta(minutes=16))
    )
    late = await client.post(edit_url, data={**form, "body": "Too late"})
    assert late.status_code == 403 and "15 minutes" in late.text
    await session.refresh(comment)
    assert comment.body == "The buses"


async def test_only_the_author_edits_or_deletes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    author = await make_account(session)
    idea = await make_idea(session, await make_call(session))
    comment = await _add(session, author, await make_persona(session, author), idea, "Mine")
    _, _, _, form = await _resident(client, session, idea)
    base = f"/ideas/{idea.id}/comments/{comment.id}"
    assert (await client.get(f"{base}/edit")).status_code == 403
    assert (await client.post(f"{base}/edit", data={**form, "body": "Yours"})).status_code == 403
    assert (await client.post(f"{base}/delete", data=form)).status_code == 403
    await session.refresh(comment)
    assert comment.body == "Mine" and comment.deleted_at is None


async def test_deleting_leaves_a_tombstone_for_the_replies(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, persona, idea, form = await _resident(client, session)
    parent = await _add(session, account, persona, idea, "Parent words")
    await _add(session, account, persona, idea, "Child words", parent_id=parent.id)
    done = await client.post(f"/ideas/{idea.id}/comments/{parent.id}/delete", data=form)
    assert done.status_code == 303
    html = (await client.get(f"/ideas/{idea.id}")).text
    assert "Parent words" not in html and "This comment was deleted" in html
    assert html.index("This comment was deleted") < html.index("Child words")
    await session.refresh(idea)
    assert idea.comment_count == 1


async def test_forms_need_sign_in_and_csrf(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    idea = await make_idea(session, await make_call(session))
    page = (await client.get(f"/ideas/{idea.id}")).text
    assert "to join the discussion" in page
    refused = await client.post(f"/ideas/{idea.id}/comments", data={"body": "Hi"})
    assert refused.status_code == 403
    assert await _count(session, idea) == 0
