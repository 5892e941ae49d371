"""Posting, editing and publishing ideas: the rules, whoever asks (pages or the API)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEntry
from server.calls.rules import PhaseClosed
from server.errors import Forbidden, NotFound, ValidationFailed
from server.ideas import service
from server.ideas.models import Idea, IdeaRevision
from server.ideas.service import IdeaInput
from tests.factories import make_account, make_call, make_persona, now
from tests.ideas.helpers import closed_call, light_account


async def _count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Idea)) or 0


async def test_post_idea_normalises_and_audits(session: AsyncSession) -> None:
    account = await make_account(session)
    persona = await make_persona(session, account)
    call = await make_call(session)
    data = IdeaInput(
        title="  Night   buses  ",
        body="More **buses**.",
        tags=["Transport", " transport ", "Young  People", ""],
        area=" Honiton ",
        latitude="50.7987",
        longitude="-3.1887",
    )
    idea = await service.post_idea(session, account, call, persona.id, data, now=now())
    assert idea.title == "Night buses" and idea.tags == ["transport", "young people"]
    assert idea.area == "Honiton" and str(idea.latitude) == "50.798700"
    assert idea.published_at is not None and idea.version == 1
    actions = await session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_id == idea.id)
    )
    assert "idea.published" in list(actions)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (IdeaInput(title="   "), "title", "Give your idea a title."),
        (IdeaInput(title="x" * 201), "title", "Keep the title to 200 characters or fewer."),
        (IdeaInput(title="T", body="b" * 100_000), "body", "Keep the description to 20,000"),
        (IdeaInput(title="T", body="Hi <script>alert(1)</script>"), "body", "Remove the HTML"),
        (IdeaInput(title="T", tags=[f"t{i}" for i in range(9)]), "tags", "Use at most 8 tags."),
        (IdeaInput(title="T", tags=["x" * 51]), "tags", "Keep each tag to 50"),
        (IdeaInput(title="T", area="a" * 101), "area", "Keep the area to 100"),
        (IdeaInput(title="T", latitude="91", longitude="0"), "latitude", "between -90 and 90"),
        (IdeaInput(title="T", latitude="50.1"), "longitude", "Give both latitude"),
    ],
    ids=["empty", "long-title", "100kb", "script", "9-tags", "long-tag", "area", "lat", "half"],
)
async def test_bad_input_is_refused_and_changes_nothing(
    session: AsyncSession, data: IdeaInput, field: str, message: str
) -> None:
    account = await make_account(session)
    persona = await make_persona(session, account)
    call = await make_call(session)
    before = await _count(session)
    with pytest.raises(ValidationFailed) as caught:
        await service.post_idea(session, account, call, persona.id, data, now=now())
    assert message in caught.value.errors[field]
    assert await _count(session) == before


async def test_outside_the_ideas_phase_nothing_is_posted(session: AsyncSession) -> None:
    account = await make_account(session)
    persona = await make_persona(session, account)
    call = await closed_call(session)
    with pytest.raises(PhaseClosed, match="You cannot post ideas during Follow-up"):
        await service.post_idea(session, account, call, persona.id, IdeaInput("T"), now=now())
    assert await _count(session) == 0


async def test_someone_elses_persona_is_refused(session: AsyncSession) -> None:
    account = await make_account(session)
    theirs = await make_persona(session)
    call = await make_call(session)
    with pytest.raises(ValidationFailed) as caught:
        await service.post_idea(session, account, call, theirs.id, IdeaInput("T"), now=now())
    assert caught.value.errors == {"persona_id": "Choose one of your own personas."}


async def test_light_account_only_in_its_own_call(session: AsyncSession) -> None:
    home, elsewhere = await make_call(session), await make_call(session)
    account, persona = await light_account(session, home)
    await service.post_idea(session, account, home, persona.id, IdeaInput("Mine"), now=now())
    with pytest.raises(Forbidden, match="only take part in the call it was made for"):
        await service.post_idea(session, account, elsewhere, persona.id, IdeaInput("X"), now=now())


async def test_editing_a_published_idea_keeps_history(session: AsyncSession) -> None:
    account = await make_account(session)
    persona = await make_persona(session, account)
    call = await make_call(session)
    idea = await service.post_idea(
        session, account, call, persona.id, IdeaInput("First", "One"), now=now()
    )
    await service.edit_idea(session, account, idea.id, IdeaInput("Second", "Two"), now=now())
    await service.edit_idea(session, account, idea.id, IdeaInput("Third", "Two"), now=now())
    # Changing only the tags is not a new version of the text.
    await service.edit_idea(
        session, account, idea.id, IdeaInput("Third", "Two", tags=["x"]), now=now()
    )
    assert (idea.title, idea.version, idea.tags) == ("Third", 3, ["x"])
    revisions = await service.revisions_of(session, idea.id)
    assert [(r.version, r.title, r.body) for r in revisions] == [
        (2, "Second", "Two"),
        (1, "First", "One"),
    ]


async def test_editing_a_draft_keeps_no_history_until_published(session: AsyncSession) -> None:
    account = await make_account(session)
    persona = await make_persona(session, account)
    call = await make_call(session)
    draft = await service.post_idea(
        session, account, call, persona.id, IdeaInput("Draft"), now=now(), publish=False
    )
    await service.edit_idea(session, account, draft.id, IdeaInput("Better draft"), now=now())
    assert draft.version == 1 and draft.published_at is None
    assert [d.id for d in await service.drafts_of(session, account, call.id)] == [draft.id]
    await service.publish_idea(session, account, draft.id, now=now())
    assert draft.published_at is not None
    assert await service.drafts_of(session, account, call.id) == []
    rows = await session.scalars(select(IdeaRevision).where(IdeaRevision.idea_id == draft.id))
    assert list(rows) == []


async def test_only_the_author_edits_and_drafts_stay_private(session: AsyncSession) -> None:
    author = await make_account(session)
    persona = await make_persona(session, author)
    other = await make_account(session)
    call = await make_call(session)
    idea = await service.post_idea(session, author, call, persona.id, IdeaInput("A"), now=now())
    with pytest.raises(Forbidden, match="Only the author"):
        await service.edit_idea(session, other, idea.id, IdeaInput("Hijack"), now=now())
    assert idea.title == "A" and idea.version == 1
    draft = await service.post_idea(
        session, author, call, persona.id, IdeaInput("Secret"), now=now(), publish=False
    )
    with pytest.raises(NotFound):
        await service.visible_idea(session, draft.id, other)
    with pytest.raises(NotFound):
        await service.visible_idea(session, draft.id, None)
    assert (await service.visible_idea(session, draft.id, author)).id == draft.id


async def test_editing_after_the_ideas_phase_is_refused(session: AsyncSession) -> None:
    account = await make_account(session)
    persona = await make_persona(session, account)
    call = await closed_call(session)
    idea = await service.create_idea(session, call, persona, title="Old", body="", now=now())
    with pytest.raises(PhaseClosed):
        await service.edit_idea(session, account, idea.id, IdeaInput("New"), now=now())
    assert idea.title == "Old"
