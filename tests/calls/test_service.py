from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.calls import service
from server.calls.models import Call, Phase, PhaseKind
from server.calls.service import CallInput, PhaseInput
from server.errors import BadRequest, Conflict, NotFound, ValidationFailed
from server.pagination import InvalidCursor
from tests.factories import make_call, make_organiser, now


def _input(**changes: object) -> CallInput:
    start = now()
    base: dict[str, object] = {
        "slug": "a-call",
        "title": "A call",
        "summary": "About something",
        "phases": (
            PhaseInput(PhaseKind.IDEAS, "Ideas", start, start + dt.timedelta(days=5)),
            PhaseInput(
                PhaseKind.FOLLOW_UP,
                "Follow-up",
                start + dt.timedelta(days=5),
                start + dt.timedelta(days=9),
            ),
        ),
    }
    base.update(changes)
    return CallInput(**base)  # type: ignore[arg-type]


async def _count(session: AsyncSession, model: type) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_create_call_mirrors_first_and_last_phase(session: AsyncSession) -> None:
    organiser = await make_organiser(session)
    region = await session.get(service.Region, organiser.region_id)
    assert region is not None
    data = _input()
    call = await service.create_call(session, data, organiser=organiser, region=region)
    assert call.opens_at == data.phases[0].starts_at
    assert call.closes_at == data.phases[-1].ends_at
    phases = await service.phases_of(session, call.id)
    assert [p.title for p in phases] == ["Ideas", "Follow-up"]
    assert [p.position for p in phases] == [0, 1]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "  "}, "title", "Give the call a title."),
        ({"title": "x" * 201}, "title", "200 characters"),
        ({"summary": ""}, "summary", "summary"),
        ({"slug": "Not A Slug"}, "slug", "lower-case"),
        ({"phases": ()}, "phases", "at least one phase"),
    ],
)
async def test_bad_call_input_is_refused_and_writes_nothing(
    session: AsyncSession, changes: dict[str, object], field: str, message: str
) -> None:
    organiser = await make_organiser(session)
    region = await session.get(service.Region, organiser.region_id)
    assert region is not None
    before = (await _count(session, Call), await _count(session, Phase))
    with pytest.raises(ValidationFailed) as caught:
        await service.create_call(session, _input(**changes), organiser=organiser, region=region)
    assert message in caught.value.errors[field]
    assert (await _count(session, Call), await _count(session, Phase)) == before


async def test_phases_must_not_overlap_or_run_backwards(session: AsyncSession) -> None:
    organiser = await make_organiser(session)
    region = await session.get(service.Region, organiser.region_id)
    assert region is not None
    t = now()
    overlapping = (
        PhaseInput(PhaseKind.IDEAS, "Ideas", t, t + dt.timedelta(days=5)),
        PhaseInput(PhaseKind.VOTING, "Vote", t + dt.timedelta(days=4), t + dt.timedelta(days=8)),
    )
    with pytest.raises(ValidationFailed) as caught:
        await service.create_call(
            session, _input(phases=overlapping), organiser=organiser, region=region
        )
    assert "overlaps" in caught.value.errors["phases"]
    backwards = (PhaseInput(PhaseKind.IDEAS, "Ideas", t, t - dt.timedelta(hours=1)),)
    with pytest.raises(ValidationFailed) as caught:
        await service.create_call(
            session, _input(phases=backwards), organiser=organiser, region=region
        )
    assert "must end after it starts" in caught.value.errors["phases"]


async def test_slug_is_unique(session: AsyncSession) -> None:
    call = await make_call(session)
    organiser = await make_organiser(session)
    region = await session.get(service.Region, organiser.region_id)
    assert region is not None
    with pytest.raises(Conflict):
        await service.create_call(
            session, _input(slug=call.slug), organiser=organiser, region=region
        )


async def test_database_refuses_a_phase_that_ends_before_it_starts(session: AsyncSession) -> None:
    call = await make_call(session)
    t = now()
    session.add(
        Phase(
            call_id=call.id,
            position=9,
            kind=PhaseKind.VOTING,
            title="Bad",
            starts_at=t,
            ends_at=t - dt.timedelta(days=1),
        )
    )
    with pytest.raises(IntegrityError, match="ck_phases_ends_after_start"):
        await session.flush()


async def test_get_call_unknown_slug(session: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await service.get_call(session, "nope")


async def test_current_and_next_phase(session: AsyncSession) -> None:
    call = await make_call(session, opens=dt.timedelta(days=-2), closes=dt.timedelta(days=4))
    phases = await service.phases_of(session, call.id)
    assert service.current_phase(phases, now()) == phases[0]
    assert service.next_phase(phases, now()) == phases[1]
    assert service.current_phase(phases, now() + dt.timedelta(days=2)) == phases[1]
    assert service.current_phase(phases, now() + dt.timedelta(days=5)) is None


async def test_open_calls_are_listed_closing_soonest_first_with_stable_cursors(
    session: AsyncSession,
) -> None:
    organiser = await make_organiser(session)
    made = [
        await make_call(session, organiser=organiser, closes=dt.timedelta(days=d))
        for d in (9, 3, 7, 5, 1)
    ]
    await make_call(
        session, organiser=organiser, opens=dt.timedelta(days=-9), closes=dt.timedelta(days=-1)
    )  # already closed
    await make_call(session, organiser=organiser, opens=dt.timedelta(days=2))  # not open yet
    moment = now()
    first = await service.list_open_calls(session, now=moment, first=2)
    assert first.total == 5 and first.has_next
    # A call inserted between page loads must not shift the next page.
    await make_call(session, organiser=organiser, closes=dt.timedelta(hours=1))
    second = await service.list_open_calls(session, now=moment, first=2, after=first.end_cursor)
    third = await service.list_open_calls(session, now=moment, first=2, after=second.end_cursor)
    seen = [c.id for c in first.items + second.items + third.items]
    expected = [c.id for c in sorted(made, key=lambda c: c.closes_at)]
    assert seen == expected
    assert not third.has_next


async def test_invalid_cursor_is_refused(session: AsyncSession) -> None:
    for bad in ("garbage", "W10", "WyJ4IiwxXQ"):
        with pytest.raises(InvalidCursor):
            await service.list_open_calls(session, now=now(), after=bad)


async def test_page_size_is_bounded(session: AsyncSession) -> None:
    with pytest.raises(BadRequest, match="Page size"):
        await service.list_open_calls(session, now=now(), first=1000)
