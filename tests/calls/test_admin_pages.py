"""Organisers create and edit calls and their timelines from pages."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.calls import service
from server.calls.models import Call
from server.identity.models import Role
from server.identity.service import grant_role
from tests.factories import csrf_token, make_account, make_call, make_organiser, sign_in


def _form(token: str, organiser_id: int, **extra: str) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "rows": "3",
        "organiser_id": str(organiser_id),
        "title": "Cleaner rivers",
        "slug": "cleaner-rivers",
        "summary": "Ideas for our rivers",
        "description": "**Rivers** matter.",
        "tags": "Water, nature",
        "phase-0-kind": "ideas",
        "phase-0-title": "Call for ideas",
        "phase-0-starts": "2027-01-10T09:00",
        "phase-0-ends": "2027-02-10T17:00",
        "phase-1-kind": "follow_up",
        "phase-1-title": "Follow-up",
        "phase-1-starts": "2027-02-11T09:00",
        "phase-1-ends": "2027-04-01T17:00",
    }
    data.update(extra)
    return data


async def test_an_organiser_creates_then_edits_a_call(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organiser = await make_organiser(session)
    person = await make_account(session)
    await grant_role(session, person, Role.ORGANISER, actor=None, organiser_id=organiser.id)
    await sign_in(client, session, person)
    page = await client.get("/calls/new")
    assert page.status_code == 200 and organiser.name in page.text
    token = await csrf_token(client)
    created = await client.post("/calls", data=_form(token, organiser.id))
    assert created.status_code == 303 and created.headers["location"].startswith(
        "/calls/cleaner-rivers"
    )
    call = await service.get_call(session, "cleaner-rivers")
    assert call.tags == ["water", "nature"]
    assert call.opens_at.isoformat() == "2027-01-10T09:00:00+00:00"  # UK time in January is UTC
    phases = await service.phases_of(session, call.id)
    assert [p.title for p in phases] == ["Call for ideas", "Follow-up"]
    edit = await client.get("/calls/cleaner-rivers/edit")
    assert 'value="2027-02-10T17:00"' in edit.text
    changed = _form(
        token,
        organiser.id,
        title="Cleaner rivers and seas",
        **{
            "phase-2-kind": "voting",
            "phase-2-title": "Vote",
            "phase-2-starts": "2027-04-02T09:00",
            "phase-2-ends": "2027-04-20T17:00",
        },
    )
    saved = await client.post("/calls/cleaner-rivers/edit", data=changed)
    assert saved.status_code == 303
    await session.refresh(call)
    assert call.title == "Cleaner rivers and seas"
    phases = await service.phases_of(session, call.id)
    assert [p.kind.value for p in phases] == ["ideas", "follow_up", "voting"]
    assert call.closes_at == phases[-1].ends_at


async def test_bad_timelines_are_refused_next_to_the_field(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organiser = await make_organiser(session)
    admin = await make_account(session, role=Role.ADMIN)
    await sign_in(client, session, admin)
    token = await csrf_token(client)
    before = await session.scalar(select(func.count()).select_from(Call))
    overlap = await client.post(
        "/calls", data=_form(token, organiser.id, **{"phase-1-starts": "2027-02-01T09:00"})
    )
    assert overlap.status_code == 422 and "overlaps the phase before it" in overlap.text
    bad_date = await client.post(
        "/calls", data=_form(token, organiser.id, **{"phase-0-starts": "tomorrow"})
    )
    assert bad_date.status_code == 422 and "Enter a date and time" in bad_date.text
    no_alt = await client.post(
        "/calls", data=_form(token, organiser.id, image_url="https://example.org/a.jpg")
    )
    assert no_alt.status_code == 422 and "Describe the image" in no_alt.text
    assert await session.scalar(select(func.count()).select_from(Call)) == before


async def test_residents_cannot_create_or_edit_calls(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_call(session)
    resident = await make_account(session)
    await sign_in(client, session, resident)
    assert (await client.get("/calls/new")).status_code == 403
    assert (await client.get(f"/calls/{call.slug}/edit")).status_code == 403
    token = await csrf_token(client)
    refused = await client.post(
        f"/calls/{call.slug}/edit", data=_form(token, call.organiser_id, slug=call.slug)
    )
    assert refused.status_code == 403
    await session.refresh(call)
    assert call.title != "Cleaner rivers"
