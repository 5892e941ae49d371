"""The event pages: registering from the call page, organisers' and hosts' pages, sessions."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.events import registrations, sessions
from server.events.models import EventSession, Registration, Solution, Venue, VenueHost
from server.identity.models import VerificationCode
from tests.events.helpers import call_with_organiser, make_event
from tests.factories import csrf_token, make_account, make_idea, make_persona, now, sign_in

HX = {"HX-Request": "true"}


async def _resident(client: httpx.AsyncClient, session: AsyncSession):  # type: ignore[no-untyped-def]
    account = await make_account(session)
    persona = await make_persona(session, account, name="Jo, resident of Exeter")
    await sign_in(client, session, account)
    return account, persona, await csrf_token(client)


async def test_call_page_shows_places_left_in_words_and_sign_in(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    event, _ = await make_event(session, capacities=(5, 30))
    call = await registrations.call_of(session, event)
    html = (await client.get(f"/calls/{call.slug}")).text
    assert re.search(
        r'<th scope="row">Venue A</th>.*?<td>5</td><td[^>]*>Five of 5 places left', html
    )
    assert "30 of 30 places left" in html
    assert f'href="/sign-in?next=/calls/{call.slug}"' in html
    assert "/events/" not in html.split("Venue A")[1].split("</table>")[0]  # no form


async def test_register_without_javascript_then_cancel(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    event, (venue, _) = await make_event(session, capacities=(5, 30))
    call = await registrations.call_of(session, event)
    _, persona, token = await _resident(client, session)
    page = (await client.get(f"/calls/{call.slug}")).text
    assert 'Register<span class="visually-hidden"> at Venue A</span> as Jo' in page
    response = await client.post(
        f"/events/{event.id}/register",
        data={"csrf_token": token, "venue_id": venue.id, "persona_id": persona.id},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/calls/{call.slug}?event=registered#event-{event.id}"
    html = (await client.get(response.headers["location"])).text
    assert "You have a place. We look forward to seeing you." in html
    assert "You have a place at Venue A." in html and "Four of 5 places left" in html
    assert "Cancel my place" in html
    cancelled = await client.post(f"/events/{event.id}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 303
    html = (await client.get(cancelled.headers["location"])).text
    assert "Your registration is cancelled." in html and "Five of 5 places left" in html


async def test_register_with_htmx_swaps_the_section(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    event, (venue, _) = await make_event(session, capacities=(1, 30))
    other = await make_account(session)
    await registrations.register(
        session, other, venue.id, (await make_persona(session, other)).id, now=now()
    )
    _, persona, token = await _resident(client, session)
    html = (await client.get(f"/calls/{(await registrations.call_of(session, event)).slug}")).text
    assert "Join the waitlist<span" in html and "Full: no places left" in html
    response = await client.post(
        f"/events/{event.id}/register",
        data={"csrf_token": token, "venue_id": venue.id, "persona_id": persona.id},
        headers=HX,
    )
    assert response.status_code == 200 and "<html" not in response.text
    assert response.text.lstrip().startswith(f'<section id="event-section-{event.id}"')
    assert "The venue is full, so you are on its waitlist." in response.text
    assert "You are first on the waitlist for Venue A." in response.text
    assert "Leave the waitlist" in response.text


async def test_bad_registration_is_a_clear_message_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    event, (a, b) = await make_event(session)
    _, elsewhere = await make_event(session)
    account, persona, token = await _resident(client, session)
    someone = await make_persona(session)
    await registrations.register(session, account, a.id, persona.id, now=now())
    cases = [
        ({"venue_id": b.id, "persona_id": persona.id}, "You already have a place at Venue A."),
        ({"venue_id": elsewhere[0].id, "persona_id": persona.id}, "not part of this event"),
        ({"venue_id": b.id, "persona_id": someone.id}, "Choose one of your own personas."),
        ({"venue_id": "x", "persona_id": persona.id}, "Choose a venue."),
    ]
    for data, message in cases:
        plain = await client.post(
            f"/events/{event.id}/register", data={"csrf_token": token, **data}
        )
        assert plain.status_code == 422 and message in plain.text
        assert "There is a problem" in plain.text and "Nothing was changed." in plain.text
        swapped = await client.post(
            f"/events/{event.id}/register", data={"csrf_token": token, **data}, headers=HX
        )
        assert swapped.status_code == 200 and message in swapped.text
        assert 'role="alert"' in swapped.text
    count = await session.scalar(select(func.count()).select_from(Registration))
    assert count == 1


async def test_organiser_manages_venues_hosts_and_sessions(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call, organiser = await call_with_organiser(session)
    event, (venue, other) = await make_event(session, call=call, capacities=(2, 5))
    idea = await make_idea(session, call, title="Night buses")
    for _ in range(2):
        person = await make_account(session)
        persona = await make_persona(session, person)
        await registrations.register(session, person, venue.id, persona.id, now=now())
    resident = await make_account(session, email="resident@example.org")
    await sign_in(client, session, resident)
    assert (await client.get(f"/events/{event.id}/manage")).status_code == 403
    await sign_in(client, session, organiser)
    token = await csrf_token(client)
    page = await client.get(f"/events/{event.id}/manage")
    assert page.status_code == 200 and "<h1>Manage Open Ideas Day</h1>" in page.text
    assert "2 of 2 places taken" in page.text

    too_small = await client.post(
        f"/venues/{venue.id}",
        data={"csrf_token": token, "name": "Venue A", "address": "x", "capacity": "1"},
    )
    assert too_small.status_code == 422
    assert "2 places are already taken, so the capacity cannot be less than 2." in too_small.text
    assert f'href="#venue-{venue.id}-capacity"' in too_small.text
    await session.refresh(venue)
    assert venue.capacity == 2

    saved = await client.post(
        f"/venues/{venue.id}",
        data={"csrf_token": token, "name": "Library", "address": "1 Castle St", "capacity": "4"},
    )
    assert saved.status_code == 303
    await session.refresh(venue)
    assert (venue.name, venue.capacity) == ("Library", 4)

    added = await client.post(
        f"/events/{event.id}/venues",
        data={"csrf_token": token, "name": "Town Hall", "address": "High St", "capacity": "12"},
    )
    assert added.status_code == 303
    assert await session.scalar(select(Venue.id).where(Venue.name == "Town Hall"))

    unknown = await client.post(
        f"/venues/{venue.id}/hosts", data={"csrf_token": token, "email": "nobody@example.org"}
    )
    assert unknown.status_code == 422 and "There is no Moot account with that email." in (
        unknown.text
    )
    host = await client.post(
        f"/venues/{venue.id}/hosts", data={"csrf_token": token, "email": "resident@example.org"}
    )
    assert host.status_code == 303
    twice = await client.post(
        f"/venues/{other.id}/hosts", data={"csrf_token": token, "email": "resident@example.org"}
    )
    assert "resident@example.org already hosts Library at this event." in twice.text

    local = event.starts_at.astimezone(sessions.LONDON)
    slot = {
        "csrf_token": token,
        "idea_id": str(idea.id),
        "venue_id": str(venue.id),
        "starts_at": local.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (local + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    }
    first = await client.post(f"/events/{event.id}/sessions", data=slot)
    assert first.status_code == 303
    clash = await client.post(
        f"/events/{event.id}/sessions",
        data={**slot, "idea_id": "", "title": "Another topic"},
    )
    assert clash.status_code == 422
    assert "Library already has “Night buses” from" in clash.text
    assert "Sessions at one venue cannot overlap" in clash.text
    outside = await client.post(
        f"/events/{event.id}/sessions",
        data={**slot, "venue_id": str(other.id), "ends_at": "2099-01-01T10:00"},
    )
    assert outside.status_code == 422 and "Sessions must fit within the event" in outside.text
    assert await session.scalar(select(func.count()).select_from(EventSession)) == 1
    html = (await client.get(f"/calls/{call.slug}")).text
    assert "Timetable" in html and f'<a href="/ideas/{idea.id}">Night buses</a>' in html


async def test_host_checks_in_hands_out_codes_and_posts_results(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call, organiser = await call_with_organiser(session)
    # The event is under way: it started an hour ago.
    event, (venue, other) = await make_event(
        session, call=call, starts_in=dt.timedelta(hours=-1), capacities=(3, 3)
    )
    idea = await make_idea(session, call, title="Repair cafés")
    topic = await sessions.assign_session(
        session,
        organiser,
        event.id,
        sessions.SessionInput(
            venue.id, event.starts_at, event.starts_at + dt.timedelta(hours=1), idea.id
        ),
    )
    guest = await make_account(session)
    guest_persona = await make_persona(session, guest, name="Guest persona")
    reg = Registration(
        event_id=event.id,
        venue_id=venue.id,
        account_id=guest.id,
        persona_id=guest_persona.id,
        status=registrations.RegistrationStatus.REGISTERED,
    )
    session.add(reg)
    host = await make_account(session)
    session.add(VenueHost(venue_id=venue.id, account_id=host.id))
    await session.flush()
    await sign_in(client, session, host)
    token = await csrf_token(client)
    assert (await client.get(f"/venues/{other.id}/host")).status_code == 403
    page = await client.get(f"/venues/{venue.id}/host")
    assert page.status_code == 200 and "Checked in: 0 of 1 with a place." in page.text
    assert "Guest persona" in page.text

    row = await client.post(
        f"/registrations/{reg.id}/check-in", data={"csrf_token": token}, headers=HX
    )
    assert row.status_code == 200 and row.text.lstrip().startswith(
        f'<tr id="registration-{reg.id}">'
    )
    assert "Arrived at" in row.text
    again = await client.post(f"/registrations/{reg.id}/check-in", data={"csrf_token": token})
    assert again.status_code == 303
    assert "Checked in: 1 of 1 with a place." in (await client.get(f"/venues/{venue.id}/host")).text

    codes = await client.post(f"/venues/{venue.id}/codes", data={"csrf_token": token, "count": "3"})
    assert codes.status_code == 200 and codes.headers["cache-control"] == "no-store"
    assert len(re.findall(r"<code>[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{2}</code>", codes.text)) == 3
    issued = list(await session.scalars(select(VerificationCode)))
    assert len(issued) == 3 and {c.call_id for c in issued} == {call.id}
    bad = await client.post(f"/venues/{venue.id}/codes", data={"csrf_token": token, "count": "500"})
    assert bad.status_code == 422 and "Enter a number of codes from 1 to 50." in bad.text

    notes = await client.post(
        f"/sessions/{topic.id}/notes",
        data={"csrf_token": token, "notes": "We agreed on **three** pilot libraries."},
    )
    assert notes.status_code == 303
    empty = await client.post(
        f"/sessions/{topic.id}/solutions", data={"csrf_token": token, "title": " ", "idea_id": ""}
    )
    assert empty.status_code == 422 and "Give the solution a title." in empty.text
    solved = await client.post(
        f"/sessions/{topic.id}/solutions",
        data={
            "csrf_token": token,
            "title": "Pilot in Exeter",
            "body": "From May.",
            "idea_id": str(idea.id),
        },
    )
    assert solved.status_code == 303
    assert await session.scalar(select(Solution.idea_id)) == idea.id

    public = (await client.get(f"/sessions/{topic.id}")).text
    assert "<h1>Repair cafés</h1>" in public and "<strong>three</strong>" in public
    assert "Pilot in Exeter" in public and f'<a href="/ideas/{idea.id}">Repair cafés</a>' in public
    call_page = (await client.get(f"/calls/{call.slug}")).text
    assert "What came out of the day" in call_page and "Pilot in Exeter" in call_page


async def test_notes_wait_until_the_session_has_started(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call, organiser = await call_with_organiser(session)
    event, (venue, _) = await make_event(session, call=call)
    topic = await sessions.assign_session(
        session,
        organiser,
        event.id,
        sessions.SessionInput(
            venue.id, event.starts_at, event.starts_at + dt.timedelta(hours=1), title="Later"
        ),
    )
    await sign_in(client, session, organiser)
    token = await csrf_token(client)
    page = (await client.get(f"/venues/{venue.id}/host")).text
    assert "You can post notes and solutions once the session has started." in page
    early = await client.post(
        f"/sessions/{topic.id}/notes", data={"csrf_token": token, "notes": "x"}
    )
    assert early.status_code == 422 and "once the session has started" in early.text
    await session.refresh(topic)
    assert topic.notes == "" and topic.notes_posted_at is None
