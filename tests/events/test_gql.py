"""The Open Ideas Day through the API: public fields, registering, hosts' and organisers'
mutations, user errors versus permission errors, and no N+1 queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import select
from strawberry.relay import to_base64

from server.api.schema import schema
from server.db import Database
from server.demo import FUTURES
from server.events import registrations, sessions
from server.events.models import Registration, RegistrationStatus, Solution, VenueHost
from server.identity.models import Account
from server.notifications.models import Notification
from tests.events.helpers import call_with_organiser, make_event
from tests.factories import make_account, make_idea, make_persona, make_token
from tests.statements import statements_sent

EVENT_QUERY = """
query($slug: String!) { call(slug: $slug) { events {
  id title
  venues { id name capacity remainingPlaces waitlistLength }
  sessions { id title startsAt endsAt notes notesHtml venue { name }
    idea { title } solutions { title bodyHtml idea { title } } }
  viewerRegistration { status venue { name } }
} } }
"""
REGISTER = """
mutation($venue: ID!, $persona: ID!) { registerForVenue(venueId: $venue, personaId: $persona) {
  registration { id status venue { name remainingPlaces waitlistLength } persona { displayName } }
  errors { field message code }
} }
"""
CANCEL = """
mutation($event: ID!) { cancelRegistration(eventId: $event) {
  registration { status } errors { field message code } } }
"""


async def api(
    client: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _token(db: Database, app: Any, account: Account) -> str:
    async with db.session() as s, s.begin():
        jwt = await make_token(s, app.state.keys, account)
    return jwt


def gid(type_name: str, row_id: int) -> str:
    return to_base64(type_name, row_id)


async def test_public_fields_on_the_demo(demo_api: httpx.AsyncClient) -> None:
    result = await api(demo_api, EVENT_QUERY, slug=FUTURES)
    assert "errors" not in result, result
    [event] = result["data"]["call"]["events"]
    assert {v["name"]: (v["remainingPlaces"], v["waitlistLength"]) for v in event["venues"]} == {
        # The demo registers Sam at Exeter and Priya and Curlew at Penryn.
        "Exeter Library": (29, 0),
        "Beehive Centre, Honiton": (20, 0),
        "Penryn Campus": (23, 0),
    }
    # Its timetable: one session per venue, each on an idea.
    assert len(event["sessions"]) == 3 and event["viewerRegistration"] is None
    # Who hosts a venue, and who comes, is not public.
    venue_fields = schema._schema.type_map["Venue"].fields  # type: ignore[attr-defined]
    assert "hosts" not in venue_fields
    hidden = await api(
        demo_api,
        "query($slug: String!) { call(slug: $slug) { events { venues "
        "{ registrations { status } } } } }",
        slug=FUTURES,
    )
    assert hidden["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_register_waitlist_cancel_and_promotion(
    live_app: Any, live_client: httpx.AsyncClient, live_db: Database
) -> None:
    async with live_db.session() as s, s.begin():
        event, (venue, _) = await make_event(s, capacities=(1, 5))
        call = await registrations.call_of(s, event)
        first, second = await make_account(s), await make_account(s)
        p1 = await make_persona(s, first, name="First")
        p2 = await make_persona(s, second, name="Second")
        stranger = await make_persona(s)
    t1, t2 = await _token(live_db, live_app, first), await _token(live_db, live_app, second)
    placed = await api(
        live_client, REGISTER, t1, venue=gid("Venue", venue.id), persona=gid("Persona", p1.id)
    )
    payload = placed["data"]["registerForVenue"]
    assert payload["errors"] == []
    assert payload["registration"]["status"] == "REGISTERED"
    assert payload["registration"]["venue"] == {
        "name": "Venue A",
        "remainingPlaces": 0,
        "waitlistLength": 0,
    }
    assert payload["registration"]["persona"] == {"displayName": "First"}
    waiting = await api(
        live_client, REGISTER, t2, venue=gid("Venue", venue.id), persona=gid("Persona", p2.id)
    )
    assert waiting["data"]["registerForVenue"]["registration"]["status"] == "WAITLISTED"
    mine = await api(live_client, EVENT_QUERY, t2, slug=call.slug)
    assert mine["data"]["call"]["events"][0]["viewerRegistration"] == {
        "status": "WAITLISTED",
        "venue": {"name": "Venue A"},
    }
    # Bad input: user errors, nothing changed.
    again = await api(
        live_client, REGISTER, t1, venue=gid("Venue", venue.id), persona=gid("Persona", p1.id)
    )
    assert again["data"]["registerForVenue"] == {
        "registration": None,
        "errors": [
            {
                "field": "venue_id",
                "message": "You already have a place at Venue A.",
                "code": "INVALID_INPUT",
            }
        ],
    }
    theirs = await api(
        live_client, REGISTER, t1, venue=gid("Venue", venue.id), persona=gid("Persona", stranger.id)
    )
    assert theirs["data"]["registerForVenue"]["errors"][0]["field"] == "persona_id"
    wrong_type = await api(
        live_client, REGISTER, t1, venue=gid("Event", venue.id), persona=gid("Persona", p1.id)
    )
    assert wrong_type["data"]["registerForVenue"]["errors"][0]["message"] == (
        "That is not a venue id."
    )
    cancelled = await api(live_client, CANCEL, t1, event=gid("Event", event.id))
    assert cancelled["data"]["cancelRegistration"] == {
        "registration": {"status": "CANCELLED"},
        "errors": [],
    }
    nothing = await api(live_client, CANCEL, t1, event=gid("Event", event.id))
    assert nothing["data"]["cancelRegistration"]["errors"][0]["code"] == "NOT_FOUND"
    promoted = await api(live_client, EVENT_QUERY, t2, slug=call.slug)
    assert promoted["data"]["call"]["events"][0]["viewerRegistration"]["status"] == "REGISTERED"
    async with live_db.session() as s:
        told = list(await s.scalars(select(Notification.account_id)))
    assert told == [second.id]
    anonymous = await api(
        live_client, REGISTER, venue=gid("Venue", venue.id), persona=gid("Persona", p1.id)
    )
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_past_event_is_a_user_error(
    live_app: Any, live_client: httpx.AsyncClient, live_db: Database
) -> None:
    async with live_db.session() as s, s.begin():
        _, (venue, _) = await make_event(s, starts_in=dt.timedelta(days=-3))
        account = await make_account(s)
        persona = await make_persona(s, account)
    token = await _token(live_db, live_app, account)
    result = await api(
        live_client,
        REGISTER,
        token,
        venue=gid("Venue", venue.id),
        persona=gid("Persona", persona.id),
    )
    assert result["data"]["registerForVenue"]["errors"] == [
        {
            "field": None,
            "code": "INVALID_INPUT",
            "message": "This event has already taken place, so registration is closed.",
        }
    ]


ASSIGN = """
mutation($event: ID!, $venue: ID!, $idea: ID, $start: DateTime!, $end: DateTime!) {
  assignSession(eventId: $event, venueId: $venue, ideaId: $idea, startsAt: $start, endsAt: $end) {
    session { id title idea { title } venue { name } } errors { field message } } }
"""
NOTES = """
mutation($session: ID!, $notes: String!) { postSessionNotes(sessionId: $session, notes: $notes) {
  session { notes notesHtml } errors { message } } }
"""
SOLUTION = """
mutation($session: ID!, $title: String!) { addSolution(sessionId: $session, title: $title) {
  solution { title idea { title } } errors { field message } } }
"""
CHECK_IN = """
mutation($registration: ID!) { checkIn(registrationId: $registration) {
  registration { status checkedInAt } errors { field message } } }
"""


async def test_organisers_and_hosts(
    live_app: Any, live_client: httpx.AsyncClient, live_db: Database
) -> None:
    async with live_db.session() as s, s.begin():
        call, organiser = await call_with_organiser(s)
        event, (venue, other) = await make_event(s, call=call, starts_in=dt.timedelta(hours=-1))
        idea = await make_idea(s, call, title="Community energy")
        host = await make_account(s)
        s.add(VenueHost(venue_id=venue.id, account_id=host.id))
        guest = await make_account(s)
        guest_persona = await make_persona(s, guest, name="Guest")
        reg = Registration(
            event_id=event.id,
            venue_id=venue.id,
            account_id=guest.id,
            persona_id=guest_persona.id,
            status=RegistrationStatus.REGISTERED,
        )
        s.add(reg)
    t_org = await _token(live_db, live_app, organiser)
    t_host = await _token(live_db, live_app, host)
    t_guest = await _token(live_db, live_app, guest)
    slot = {
        "event": gid("Event", event.id),
        "venue": gid("Venue", venue.id),
        "idea": gid("Idea", idea.id),
        "start": event.starts_at.isoformat(),
        "end": (event.starts_at + dt.timedelta(hours=1)).isoformat(),
    }
    forbidden = await api(live_client, ASSIGN, t_host, **slot)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    made = await api(live_client, ASSIGN, t_org, **slot)
    session_payload = made["data"]["assignSession"]
    assert session_payload["errors"] == []
    assert session_payload["session"]["title"] == "Community energy"
    assert session_payload["session"]["venue"] == {"name": "Venue A"}
    clash = await api(live_client, ASSIGN, t_org, **slot)
    assert clash["data"]["assignSession"]["session"] is None
    assert "cannot overlap" in clash["data"]["assignSession"]["errors"][0]["message"]
    elsewhere = await api(live_client, ASSIGN, t_org, **{**slot, "venue": gid("Venue", other.id)})
    assert elsewhere["data"]["assignSession"]["errors"] == []

    session_id = session_payload["session"]["id"]
    notes = await api(live_client, NOTES, t_host, session=session_id, notes="*Agreed* a pilot.")
    assert notes["data"]["postSessionNotes"]["session"]["notesHtml"].startswith(
        "<p><em>Agreed</em>"
    )
    solution = await api(live_client, SOLUTION, t_host, session=session_id, title="Pilot")
    assert solution["data"]["addSolution"] == {
        "solution": {"title": "Pilot", "idea": {"title": "Community energy"}},
        "errors": [],
    }
    denied = await api(live_client, NOTES, t_guest, session=session_id, notes="mine")
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    checked = await api(live_client, CHECK_IN, t_host, registration=gid("Registration", reg.id))
    first_time = checked["data"]["checkIn"]["registration"]["checkedInAt"]
    assert first_time is not None
    twice = await api(live_client, CHECK_IN, t_host, registration=gid("Registration", reg.id))
    assert twice["data"]["checkIn"]["registration"]["checkedInAt"] == first_time
    self_check = await api(live_client, CHECK_IN, t_guest, registration=gid("Registration", reg.id))
    assert self_check["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    listing = (
        "query($slug: String!) { call(slug: $slug) { events { venues { name "
        "registrations { status persona { displayName } } } } } }"
    )
    as_guest = await api(live_client, listing, t_guest, slug=call.slug)
    assert as_guest["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    as_org = await api(live_client, listing, t_org, slug=call.slug)
    venues = as_org["data"]["call"]["events"][0]["venues"]
    assert venues[0]["registrations"] == [
        {"status": "REGISTERED", "persona": {"displayName": "Guest"}}
    ]


async def test_no_n_plus_one(live_client: httpx.AsyncClient, live_db: Database) -> None:
    """The statement count does not grow with events, venues, sessions and solutions."""
    async with live_db.session() as s, s.begin():
        call, organiser = await call_with_organiser(s)
        slug = call.slug

    async def grow(n: int) -> None:
        async with live_db.session() as s, s.begin():
            event, venues = await make_event(
                s, call=call, capacities=(5, 5, 5), starts_in=dt.timedelta(hours=-n)
            )
            idea = await make_idea(s, call)
            for i, venue in enumerate(venues):
                row = await sessions.assign_session(
                    s,
                    organiser,
                    event.id,
                    sessions.SessionInput(
                        venue.id,
                        event.starts_at,
                        event.starts_at + dt.timedelta(hours=1),
                        idea.id if i else None,
                        title=f"Topic {i}",
                    ),
                )
                s.add(Solution(session_id=row.id, idea_id=idea.id, title=f"Solution {i}"))

    async def measure() -> int:
        with statements_sent(live_db) as statements:
            result = await api(live_client, EVENT_QUERY, slug=slug)
        assert "errors" not in result, result
        return len(statements)

    await grow(1)
    small = await measure()
    await grow(2)
    await grow(3)
    large = await measure()
    print(f"event query: {small} statements for 1 event, {large} for 3")
    assert small == large, (small, large)
    assert large <= 10
