"""A call's list of ideas: filters, sorts, search, stable keyset pages, similar ideas."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from server.calls.models import Call
from server.ideas import listing, service
from server.ideas.listing import ListQuery, Sort
from server.ideas.models import Idea
from server.outcomes import service as outcomes
from server.outcomes.models import OutcomeStatus
from server.pagination import InvalidCursor
from tests.factories import make_call, make_persona, now


async def _idea(session: AsyncSession, call: Call, title: str, **kwargs: object) -> Idea:
    persona = await make_persona(session)
    return await service.create_idea(
        session, call, persona, title=title, body=str(kwargs.pop("body", "")), now=now(), **kwargs
    )  # type: ignore[arg-type]


async def _all_pages(session: AsyncSession, call: Call, q: ListQuery, size: int) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        page = await listing.list_ideas(session, call.id, q, first=size, after=after)
        seen += [i.id for i in page.items]
        if not page.has_next:
            return seen
        after = page.end_cursor


@pytest.mark.parametrize("sort", list(Sort))
async def test_every_sort_pages_through_everything_once(session: AsyncSession, sort: Sort) -> None:
    call = await make_call(session)
    ideas = [await _idea(session, call, f"Idea {i}") for i in range(11)]
    ids = sorted(i.id for i in ideas)
    # Ties on every sort key: only the id breaks them.
    moment = now()
    for i, idea in enumerate(ideas):
        idea.endorsement_count, idea.comment_count, idea.published_at = i % 3, i % 2, moment
    await session.flush()
    q = ListQuery(sort=sort, seed="fixed" if sort == Sort.RANDOM else None)
    one_by_one = await _all_pages(session, call, q, 3)
    at_once = await _all_pages(session, call, q, 100)
    assert one_by_one == at_once and sorted(at_once) == ids
    if sort == Sort.MOST_ENDORSED:
        first = await listing.list_ideas(session, call.id, q, first=4)
        assert [i.endorsement_count for i in first.items] == [2, 2, 2, 1]


async def _all_cards(session: AsyncSession, call: Call, q: ListQuery, size: int) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        cards = await listing.list_cards(session, call.id, q, first=size, after=after)
        assert cards.page.total == 11
        seen += [r.id for r in cards.page.items]
        if not cards.page.has_next:
            return seen
        after = cards.page.end_cursor


@pytest.mark.parametrize("sort", list(Sort))
async def test_cards_list_what_list_ideas_lists(session: AsyncSession, sort: Sort) -> None:
    call = await make_call(session)
    author = await make_persona(session, name="Heron")
    ideas = [
        await service.create_idea(
            session, call, author, title=f"Idea {i}", body="", now=now(), tags=["parks"]
        )
        for i in range(11)
    ]
    moment = now()
    for i, idea in enumerate(ideas):
        idea.endorsement_count, idea.comment_count, idea.published_at = i % 3, i % 2, moment
    await session.flush()
    await outcomes.record_outcome(
        session, ideas[4], status=OutcomeStatus.ACCEPTED, response="We will do it."
    )
    q = ListQuery(sort=sort, seed="fixed" if sort == Sort.RANDOM else None)
    assert await _all_cards(session, call, q, 3) == await _all_pages(session, call, q, 3)
    cards = await listing.list_cards(session, call.id, q, first=100)
    assert cards.authors == {author.id: listing.Byline("Heron", author.avatar_colour)}
    assert cards.outcomes == {ideas[4].id: listing.Answer(OutcomeStatus.ACCEPTED, "We will do it.")}
    assert cards.page.items[0].tags == ["parks"]


async def test_cards_past_the_end_still_count(session: AsyncSession) -> None:
    call = await make_call(session)
    for i in range(3):
        await _idea(session, call, f"Idea {i}")
    first = await listing.list_cards(session, call.id, first=3)
    assert first.page.total == 3 and not first.page.has_next
    beyond = await listing.list_cards(session, call.id, after=first.page.end_cursor)
    assert beyond.page.items == [] and beyond.page.total == 3
    none = await listing.list_cards(session, call.id, ListQuery(search="nothing like it"))
    assert none.page.items == [] and none.page.total == 0


async def test_filter_options_are_the_listed_ideas_tags_and_areas(session: AsyncSession) -> None:
    call = await make_call(session)
    await _idea(session, call, "Buses", tags=["transport", "night"], area="Exeter")
    await _idea(session, call, "Oaks", tags=["nature"], area="Honiton")
    await _idea(session, call, "Benches", tags=["nature"])
    await _idea(session, call, "Draft", tags=["secret"], area="Nowhere", publish=False)
    hidden = await _idea(session, call, "Hidden", tags=["hidden"], area="Elsewhere")
    await session.execute(update(Idea).where(Idea.id == hidden.id).values(hidden_at=now()))
    options = await listing.filter_options(session, call.id)
    assert options == {"tags": ["nature", "night", "transport"], "areas": ["Exeter", "Honiton"]}
    assert await listing.filter_options(session, (await make_call(session)).id) == {
        "tags": [],
        "areas": [],
    }


async def test_random_order_depends_on_the_seed(session: AsyncSession) -> None:
    call = await make_call(session)
    for i in range(12):
        await _idea(session, call, f"Idea {i}")
    a = await _all_pages(session, call, ListQuery(sort=Sort.RANDOM, seed="a"), 5)
    again = await _all_pages(session, call, ListQuery(sort=Sort.RANDOM, seed="a"), 5)
    b = await _all_pages(session, call, ListQuery(sort=Sort.RANDOM, seed="b"), 5)
    assert a == again and a != b and sorted(a) == sorted(b)


async def test_filters_and_search(session: AsyncSession) -> None:
    call = await make_call(session)
    bus = await _idea(
        session, call, "Night buses", body="Buses after midnight", tags=["transport"], area="Exeter"
    )
    await _idea(session, call, "More trees", body="Plant oaks", tags=["nature"], area="Honiton")
    park = await _idea(session, call, "Shelters for buses in parks", tags=["transport", "nature"])
    bus_id, park_id = bus.id, park.id
    park.status = "accepted"
    await session.flush()

    async def ids(q: ListQuery) -> set[int]:
        return {i.id for i in (await listing.list_ideas(session, call.id, q)).items}

    assert await ids(ListQuery(tag="Transport")) == {bus_id, park_id}
    assert await ids(ListQuery(area="Exeter")) == {bus_id}
    assert await ids(ListQuery(status="accepted")) == {park_id}
    assert await ids(ListQuery(search="buses")) == {bus_id, park_id}
    assert await ids(ListQuery(search="buses -parks")) == {bus_id}
    page = await listing.list_ideas(session, call.id, ListQuery(tag="nature", search="shelter"))
    assert [i.id for i in page.items] == [park_id] and page.total == 1


async def test_hidden_and_draft_ideas_never_listed(session: AsyncSession) -> None:
    call = await make_call(session)
    shown = await _idea(session, call, "Cycle lanes for Exeter")
    hidden = await _idea(session, call, "Cycle lanes for Exeter now")
    await session.execute(update(Idea).where(Idea.id == hidden.id).values(hidden_at=now()))
    await _idea(session, call, "Cycle lanes for Exeter soon", publish=False)
    page = await listing.list_ideas(session, call.id, ListQuery(search="cycle"))
    assert [i.id for i in page.items] == [shown.id] and page.total == 1
    similar = await listing.similar_ideas(session, call.id, title="Cycle lanes in Exeter")
    assert [i.id for i in similar] == [shown.id]


async def test_similar_ideas_by_words_and_by_spelling(session: AsyncSession) -> None:
    call = await make_call(session)
    other_call = await make_call(session)
    buses = await _idea(session, call, "Night buses between Exeter and Crediton")
    typo = await _idea(session, call, "Nite bus", body="")
    await _idea(session, call, "Plant more oak trees")
    await _idea(session, other_call, "Night buses everywhere")
    for i in range(6):
        await _idea(session, call, f"More buses, idea {i}")
    found = await listing.similar_ideas(session, call.id, title="night buses", body="")
    assert len(found) == 5 and found[0].id == buses.id
    assert all(i.call_id == call.id for i in found)
    spelled = await listing.similar_ideas(session, call.id, title="Nite buss")
    assert typo.id in {i.id for i in spelled}
    assert await listing.similar_ideas(session, call.id, title="   ") == []


async def test_a_cursor_from_another_sort_is_refused(session: AsyncSession) -> None:
    call = await make_call(session)
    for i in range(3):
        await _idea(session, call, f"Idea {i}")
    page = await listing.list_ideas(session, call.id, first=1)
    with pytest.raises(InvalidCursor):
        await listing.list_ideas(
            session, call.id, ListQuery(sort=Sort.MOST_ENDORSED), first=1, after=page.end_cursor
        )
    assert page.items[0].published_at is not None
    assert isinstance(page.items[0].published_at, dt.datetime)
