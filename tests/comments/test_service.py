"""The rules of comments, through the service: threads, stances, edits, tombstones, counts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.calls.rules import PhaseClosed
from server.comments import service
from server.comments.models import Comment, Stance
from server.errors import Forbidden, NotFound, ValidationFailed
from server.ideas.models import Idea
from server.identity.models import Account, AccountKind
from server.notifications.models import Notification
from server.personas.models import Persona
from tests.factories import make_account, make_call, make_idea, make_persona, now


async def _setup(session: AsyncSession) -> tuple[Account, Persona, Idea]:
    account = await make_account(session)
    persona = await make_persona(session, account)
    idea = await make_idea(session, await make_call(session))
    return account, persona, idea


async def _post(
    session: AsyncSession,
    account: Account,
    persona: Persona,
    idea: Idea,
    body: str = "A thought.",
    **kw: object,
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


async def _count(session: AsyncSession, idea: Idea) -> int:
    return (
        await session.scalar(
            select(func.count()).select_from(Comment).where(Comment.idea_id == idea.id)
        )
        or 0
    )


async def test_threads_keep_reading_order_and_count(session: AsyncSession) -> None:
    account, persona, idea = await _setup(session)
    first = await _post(session, account, persona, idea, "First", stance=Stance.FOR)
    second = await _post(session, account, persona, idea, "Second", stance=Stance.AGAINST)
    reply = await _post(session, account, persona, idea, "Reply", parent_id=first.id)
    deeper = await _post(session, account, persona, idea, "Deeper", parent_id=reply.id)
    assert (reply.depth, deeper.depth) == (1, 2)
    assert deeper.path.startswith(reply.path + ".") and reply.path.startswith(first.path + ".")
    page = await service.list_comments(session, idea.id)
    assert [c.body for c in page.items] == ["First", "Reply", "Deeper", "Second"]
    assert page.total == 4
    await session.refresh(idea)
    assert idea.comment_count == 4
    tally = await service.stance_tally(session, idea.id)
    assert (tally.for_, tally.against, tally.neutral, tally.total) == (1, 1, 0, 2)
    assert second.parent_id is None


async def test_pages_follow_thread_order(session: AsyncSession) -> None:
    account, persona, idea = await _setup(session)
    root = await _post(session, account, persona, idea, "root")
    for i in range(4):
        await _post(session, account, persona, idea, f"reply {i}", parent_id=root.id)
    one = await service.list_comments(session, idea.id, first=2)
    two = await service.list_comments(session, idea.id, first=2, after=one.end_cursor)
    three = await service.list_comments(session, idea.id, first=2, after=two.end_cursor)
    bodies = [c.body for p in (one, two, three) for c in p.items]
    assert bodies == ["root", "reply 0", "reply 1", "reply 2", "reply 3"]
    assert one.has_next and two.has_next and not three.has_next


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Write your comment"),
        ("   \n ", "Write your comment"),
        ("x" * 10_001, "10,000 characters or fewer"),
        ("x" * 100_000, "10,000 characters or fewer"),
    ],
)
async def test_body_must_be_1_to_10000_characters(
    session: AsyncSession, body: str, message: str
) -> None:
    account, persona, idea = await _setup(session)
    with pytest.raises(ValidationFailed) as failed:
        await _post(session, account, persona, idea, body)
    assert message in failed.value.errors["body"]
    assert await _count(session, idea) == 0


async def test_script_tags_never_reach_the_page(session: AsyncSession) -> None:
    from server.markdown import render_markdown

    account, persona, idea = await _setup(session)
    comment = await _post(session, account, persona, idea, "<script>alert(1)</script> **hi**")
    html = str(render_markdown(comment.body))
    assert "<script" not in html and "&lt;script&gt;" in html and "<strong>hi</strong>" in html


async def test_hidden_and_draft_ideas_take_no_comments(session: AsyncSession) -> None:
    account, persona, idea = await _setup(session)
    idea.hidden_at = now()
    await session.flush()
    with pytest.raises(ValidationFailed) as hidden:
        await _post(session, account, persona, idea)
    assert "hidden by a moderator" in hidden.value.message
    idea.hidden_at = None
    idea.published_at = None
    await session.flush()
    with pytest.raises(NotFound):
        await _post(session, account, persona, idea)
    assert await _count(session, idea) == 0


async def test_reply_must_be_to_a_comment_of_the_same_idea(session: AsyncSession) -> None:
    account, persona, idea = await _setup(session)
    other = await make_idea(session, await make_call(session))
    elsewhere = await _post(session, account, persona, other)
    with pytest.raises(ValidationFailed) as failed:
        await _post(session, account, persona, idea, parent_id=elsewhere.id)
    assert failed.value.field == "parent_id"
    with pytest.raises(ValidationFailed):
        await _post(session, account, persona, idea, parent_id=10**12)
    assert await _count(session, idea) == 0


async def test_only_while_the_phase_allows_comments(session: AsyncSession) -> None:
    account, persona, _ = await _setup(session)
    later = await make_idea(session, await make_call(session, opens=dt.timedelta(days=2)))
    with pytest.raises(PhaseClosed):
        await _post(session, account, persona, later)
    assert await _count(session, later) == 0


async def test_only_as_ones_own_unarchived_persona(session: AsyncSession) -> None:
    account, persona, idea = await _setup(session)
    stranger = await make_persona(session)
    with pytest.raises(Forbidden):
        await _post(session, account, stranger, idea)
    persona.archived_at = now()
    await session.flush()
    with pytest.raises(ValidationFailed):
        await _post(session, account, persona, idea)
    assert await _count(session, idea) == 0


async def test_light_accounts_comment_only_in_their_call(session: AsyncSession) -> None:
    _, _, idea = await _setup(session)
    other_call = await make_call(session)
    light = Account(kind=AccountKind.LIGHT, light_call_id=other_call.id)
    session.add(light)
    await session.flush()
    persona = await make_persona(session, light)
    with pytest.raises(Forbidden) as refused:
        await _post(session, light, persona, idea)
    assert refused.value.code == "OUTSIDE_CALL"
    at_home = await make_idea(session, other_call)
    assert (await _post(session, light, persona, at_home)).id


async def test_editing_is_for_the_author_within_15_minutes(session: AsyncSession) -> None:
    account, persona, idea = await _setup(session)
    comment = await _post(session, account, persona, idea, "Frist")
    edited = await service.edit_comment(
        session, account, comment.id, body="First", stance=Stance.NEUTRAL, now=now()
    )
    assert edited.body == "First" and edited.edited_at is not None
    other = await make_account(session)
    with pytest.raises(service.NotYourComment):
        await service.edit_comment(
            session, other, comment.id, body="Mine now", stance=None, now=now()
        )
    with pytest.raises(service.EditWindowClosed):
        await service.edit_comment(
            session, account, comment.id, body="Late", stance=None,
            now=now() + dt.timedelta(minutes=16),
        )  # fmt: skip
    with pytest.raises(ValidationFailed):
        await service.edit_comment(session, account, comment.id, body="", stance=None, now=now())
    await session.refresh(comment)
    assert comment.body == "First"


async def test_deleting_leaves_a_tombstone_and_fixes_the_count(session: AsyncSession) -> None:
    account, persona, idea = await _setup(session)
    parent = await _post(session, account, persona, idea, "Parent", stance=Stance.FOR)
    reply = await _post(session, account, persona, idea, "Reply", parent_id=parent.id)
    with pytest.raises(service.NotYourComment):
        await service.delete_comment(session, await make_account(session), parent.id, now=now())
    await service.delete_comment(session, account, parent.id, now=now())
    page = await service.list_comments(session, idea.id)
    assert [c.id for c in page.items] == [parent.id, reply.id]
    assert page.items[0].deleted_at is not None and page.items[0].body == ""
    await session.refresh(idea)
    assert idea.comment_count == 1
    assert (await service.stance_tally(session, idea.id)).total == 0
    with pytest.raises(ValidationFailed):
        await _post(session, account, persona, idea, parent_id=parent.id)


async def test_hidden_comments_leave_the_tally(session: AsyncSession) -> None:
    account, persona, idea = await _setup(session)
    comment = await _post(session, account, persona, idea, stance=Stance.AGAINST)
    comment.hidden_at, comment.hidden_reason = now(), "Personal abuse"
    await session.flush()
    assert (await service.stance_tally(session, idea.id)).against == 0


async def test_replies_notify_the_parent_and_idea_authors_not_the_replier(
    session: AsyncSession,
) -> None:
    idea_owner = await make_account(session)
    call = await make_call(session)
    idea = await make_idea(session, call, author=await make_persona(session, idea_owner))
    parent_owner = await make_account(session)
    parent_persona = await make_persona(session, parent_owner)
    parent = await _post(session, parent_owner, parent_persona, idea)
    replier = await make_account(session)
    reply = await _post(
        session, replier, await make_persona(session, replier), idea, parent_id=parent.id
    )
    rows = list(await session.scalars(select(Notification).order_by(Notification.account_id)))
    assert sorted(n.account_id for n in rows) == sorted([idea_owner.id, parent_owner.id])
    assert all(n.link == f"/ideas/{idea.id}#comment-{reply.id}" for n in rows)
    # Replying to your own comment on your own idea tells nobody.
    own_persona = await session.get(Persona, idea.author_persona_id)
    assert own_persona is not None
    own = await _post(session, idea_owner, own_persona, idea)
    await _post(session, idea_owner, own_persona, idea, parent_id=own.id)
    assert len(list(await session.scalars(select(Notification)))) == 2
