"""Demo content that shows Moot off: a live Open Ideas Day call and a closed call with answers.

Loading is idempotent (each call is skipped when its slug exists) and goes through the same
service functions as the pages and the API, so the demo obeys every rule real data does. Dates are
relative to the moment of loading, so a fresh demo always has an open call.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.calls import service as calls
from server.calls.models import Call, Organiser, PhaseKind, Region
from server.calls.service import CallInput, PhaseInput
from server.comments import service as comments
from server.comments.models import Stance
from server.events import registrations, sessions
from server.events import service as events
from server.events.models import Event
from server.events.service import VenueInput
from server.ideas import endorsements
from server.ideas import service as ideas
from server.ideas.models import Idea
from server.identity import service as identity
from server.identity.models import Account, Role
from server.outcomes import service as outcomes
from server.outcomes.models import OutcomeStatus
from server.personas import service as personas
from server.personas.models import Persona, PersonaKind
from server.personas.service import PersonaInput

LONDON = ZoneInfo("Europe/London")

FUTURES = "south-west-futures-open-ideas-day"
RIVERSIDE = "exeter-riverside-spaces"

FUTURES_DESCRIPTION = """\
What should the South West be like in 2050? **South West Futures** brings residents, councils,
businesses and community groups together to answer that question, in three steps:

1. **Call for ideas** – share your ideas online, read and discuss other people's.
2. **Open Ideas Day** – the most promising ideas become topics for sessions held on the same
   day in Exeter, Honiton and Penryn. Anyone can come; places are limited at each venue.
3. **Follow-up** – councillors answer every idea, and the solutions from the day are published.

Ideas can be about anything that shapes the region's future: transport, housing, work, nature,
energy, culture or how decisions are made.
"""

FUTURES_IDEAS = [
    (
        "Night buses between Exeter, Crediton and Cullompton",
        "The last bus leaves before 11pm. Hospitality workers and students need a way home. "
        "A Friday and Saturday night service would also cut drink-driving.",
    ),
    (
        "Community energy on every school roof",
        "Schools have big flat roofs and use most power in daylight. A community energy "
        "co-operative could fund panels and share the savings with the school.",
    ),
    (
        "Repair cafés in libraries",
        "Monthly repair cafés in branch libraries: volunteers fix small appliances, clothes and "
        "bikes. Less waste, and a reason to visit the library.",
    ),
    (
        "Safe cycle route from Penryn to Falmouth",
        "The A39 is frightening on a bike. A separated path along the old railway line would link "
        "the campus, the town and the docks.",
    ),
    (
        "Affordable homes above high-street shops",
        "Many flats above shops in Honiton stand empty. Grants to convert them would bring people "
        "back into the town centre.",
    ),
    (
        "A citizens' assembly on the region's water",
        "Sewage spills, droughts and floods: a citizens' assembly of 50 residents chosen by lot "
        "could weigh the trade-offs and recommend a plan.",
    ),
]

RIVERSIDE_IDEAS = [
    (
        "Open-air cinema on the Quay",
        "Summer film nights on the Quay with deckchairs, run with local cafés.",
        OutcomeStatus.ACCEPTED,
        "We will run four film nights on the Quay from June, with the Quay traders. Dates will be "
        "published on the council's website in April.",
    ),
    (
        "More benches and shade along the Riverside Valley Park",
        "There is almost nowhere to sit between the Mill on the Exe and Countess Wear.",
        OutcomeStatus.PARTLY_ACCEPTED,
        "Twelve new benches will be installed this year. Tree planting for shade is part of the "
        "2027 park plan, so we cannot add it now.",
    ),
    (
        "Free parking on the Quay on Sundays",
        "Families would visit more if parking were free on Sundays.",
        OutcomeStatus.NOT_TAKEN_FORWARD,
        "Parking income pays for the Quay's upkeep, and the Quay is well served by buses and the "
        "cycle network. We will instead extend the Sunday park-and-ride to the Quay.",
    ),
    (
        "A lido in the old canal basin",
        "Outdoor swimming in a clean, supervised basin, like the lidos in Bristol and Penzance.",
        OutcomeStatus.UNDER_CONSIDERATION,
        "A feasibility study on water quality and costs will report to the Executive in March.",
    ),
]


# Demo sign-ins (development only; README lists them). Every demo account shares this password.
DEMO_PASSWORD = "moot-demo-password"  # noqa: S105 - a documented demo login, never production data
DEMO_STAFF = (
    ("admin@moot.example", Role.ADMIN),
    ("councillor@moot.example", Role.COUNCILLOR),
    ("moderator@moot.example", Role.MODERATOR),
)
DEMO_RESIDENTS = (
    ("sam@moot.example", PersonaKind.RESIDENT, "Sam, resident of Exeter", "#0b4f6c"),
    ("priya@moot.example", PersonaKind.RESIDENT, "Priya, resident of Penryn", "#6f3a00"),
    ("tom@moot.example", PersonaKind.PSEUDONYM, "Curlew", "#4c2c92"),
    ("ann@moot.example", PersonaKind.RESIDENT, "Ann, resident of Honiton", "#00703c"),
)


async def _people(session: AsyncSession, now: dt.datetime) -> list[Persona]:
    """Demo staff and residents, each resident with one persona (created once)."""
    for email, role in DEMO_STAFF:
        await identity.create_user(session, email=email, role=role, password=DEMO_PASSWORD, now=now)
    speakers = []
    for email, kind, name, colour in DEMO_RESIDENTS:
        account = await identity.create_user(
            session, email=email, role=None, password=DEMO_PASSWORD, now=now
        )
        own = await personas.personas_of(session, account.id)
        speakers.append(
            own[0]
            if own
            else await personas.create_persona(
                session, account, PersonaInput(kind, name, avatar_colour=colour), now=now
            )
        )
    return speakers


DEMO_COMMENTS = (
    # (idea index, speaker index, stance, text, reply to comment index or None)
    (0, 1, Stance.FOR, "The 22:40 from Exeter is always packed; a later one would fill.", None),
    (0, 2, Stance.AGAINST, "Would a demand-responsive minibus be cheaper than a full route?", None),
    (0, 0, Stance.NEUTRAL, "Devon's trial in 2024 ran for six months: worth reading first.", 1),
    (1, 3, Stance.FOR, "Our primary school has the roof and a PTA keen to help.", None),
    (2, 1, Stance.FOR, "Penryn library would host one: there is space on Saturdays.", None),
    (5, 0, Stance.FOR, "A citizens' assembly is exactly the right scale for water.", None),
)
DEMO_ENDORSEMENTS = ((1, 0), (1, 2), (2, 3), (5, 1), (5, 3))  # (idea, speaker)
DEMO_REGISTRATIONS = ((0, "Exeter Library"), (1, "Penryn Campus"), (2, "Penryn Campus"))


async def _deliberation(
    session: AsyncSession,
    organiser: Organiser,
    event: Event,
    posted: list[Idea],
    speakers: list[Persona],
    now: dt.datetime,
) -> None:
    """Comments with stances, endorsements, registrations and the day's sessions, made through
    the same services as the pages, by the demo people."""
    owners = {p.id: await session.get(Account, p.account_id) for p in speakers}
    made: list[int] = []
    for idea_i, who, stance, text, reply_to in DEMO_COMMENTS:
        persona = speakers[who]
        account = owners[persona.id]
        assert account is not None
        comment = await comments.create_comment(
            session,
            account,
            idea_id=posted[idea_i].id,
            persona_id=persona.id,
            body=text,
            stance=stance,
            parent_id=made[reply_to] if reply_to is not None else None,
            now=now,
        )
        made.append(comment.id)
    for idea_i, who in DEMO_ENDORSEMENTS:
        account = owners[speakers[who].id]
        assert account is not None
        await endorsements.endorse(session, account, posted[idea_i].id, speakers[who].id, now=now)
    staff = await identity.create_user(
        session, email="organiser@moot.example", role=None, password=DEMO_PASSWORD, now=now
    )
    if not await identity.has_role(session, staff.id, Role.ORGANISER, organiser_id=organiser.id):
        await identity.grant_role(
            session, staff, Role.ORGANISER, actor=None, organiser_id=organiser.id
        )
    venues = {v.name: v for v in await events.venues_of(session, [event.id])}
    for who, venue_name in DEMO_REGISTRATIONS:
        account = owners[speakers[who].id]
        assert account is not None
        await registrations.register(
            session, account, venues[venue_name].id, speakers[who].id, now=now
        )
    for slot, (venue_name, idea_i) in enumerate(
        (("Exeter Library", 0), ("Penryn Campus", 3), ("Beehive Centre, Honiton", 4))
    ):
        start = event.starts_at + dt.timedelta(minutes=30 + 15 * slot)
        await sessions.assign_session(
            session,
            staff,
            event.id,
            sessions.SessionInput(
                venue_id=venues[venue_name].id,
                starts_at=start,
                ends_at=start + dt.timedelta(minutes=90),
                idea_id=posted[idea_i].id,
                title=posted[idea_i].title,
            ),
        )


async def _riverside_workshop(
    session: AsyncSession,
    call: Call,
    council: Organiser,
    idea: Idea,
    start: dt.date,
    now: dt.datetime,
) -> None:
    """A past workshop of the closed call, with the notes and the solution its host posted."""
    staff = await identity.create_user(
        session, email="organiser@moot.example", role=None, password=DEMO_PASSWORD, now=now
    )
    if not await identity.has_role(session, staff.id, Role.ORGANISER, organiser_id=council.id):
        await identity.grant_role(
            session, staff, Role.ORGANISER, actor=None, organiser_id=council.id
        )
    day = start + dt.timedelta(days=30)
    event = await events.create_event(
        session,
        call,
        title="Riverside workshop",
        starts_at=_at(day, 10),
        ends_at=_at(day, 13),
        description="Residents worked the most-supported ideas into proposals.",
        venues=[
            VenueInput(
                "Custom House",
                "The Quay, Exeter EX2 4AN",
                25,
                "Step-free ground floor; accessible toilet.",
            )
        ],
    )
    [venue] = await events.venues_of(session, [event.id])
    slot = await sessions.assign_session(
        session,
        staff,
        event.id,
        sessions.SessionInput(
            venue_id=venue.id,
            starts_at=_at(day, 10, 30),
            ends_at=_at(day, 12),
            idea_id=idea.id,
            title=idea.title,
        ),
    )
    await sessions.post_notes(
        session,
        staff,
        slot.id,
        "Twenty-two residents and two Quay traders took part.\n\n"
        "- Evenings in July and August suit families best.\n"
        "- Films should be free, with cafés selling food.\n"
        "- The Quay's steps make a natural amphitheatre.",
        now=now,
    )
    await sessions.add_solution(
        session,
        staff,
        slot.id,
        title="Four summer film nights on the Quay steps",
        body="Run with the Quay traders; the council covers licences and stewards.",
        idea_id=idea.id,
        now=now,
    )


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


async def _region_and_organisers(session: AsyncSession) -> tuple[Region, Organiser, Organiser]:
    region = await session.scalar(select(Region).where(Region.slug == "south-west"))
    if region is None:
        region = await calls.create_region(session, slug="south-west", name="South West")
    found = {
        o.slug: o
        for o in await session.scalars(
            select(Organiser).where(
                Organiser.slug.in_(["south-west-futures", "exeter-city-council"])
            )
        )
    }
    partnership = found.get("south-west-futures") or await calls.create_organiser(
        session, slug="south-west-futures", name="South West Futures Partnership", region=region
    )
    council = found.get("exeter-city-council") or await calls.create_organiser(
        session, slug="exeter-city-council", name="Exeter City Council", region=region
    )
    return region, partnership, council


async def load(session: AsyncSession, *, now: dt.datetime) -> list[str]:
    """Load what is missing; returns the slugs of the calls created."""
    region, partnership, council = await _region_and_organisers(session)
    speakers = await _people(session, now)
    existing = set(
        await session.scalars(select(Call.slug).where(Call.slug.in_([FUTURES, RIVERSIDE])))
    )
    created = []
    today = now.astimezone(LONDON).date()
    if FUTURES not in existing:
        day = today + dt.timedelta(days=28)
        call = await calls.create_call(
            session,
            CallInput(
                slug=FUTURES,
                title="South West Futures — Open Ideas Day",
                summary="Share your ideas for the region in 2050, then shape them with others on "
                "one day in Exeter, Honiton and Penryn.",
                description=FUTURES_DESCRIPTION,
                tags=("transport", "housing", "energy", "nature", "democracy"),
                phases=(
                    PhaseInput(
                        PhaseKind.IDEAS,
                        "Call for ideas",
                        _at(today - dt.timedelta(days=14), 9),
                        _at(day - dt.timedelta(days=7), 17),
                        "Post ideas online and comment on other people's.",
                    ),
                    PhaseInput(
                        PhaseKind.EVENT,
                        "Open Ideas Day",
                        _at(day, 9),
                        _at(day, 18),
                        "Sessions run in parallel at three venues.",
                    ),
                    PhaseInput(
                        PhaseKind.FOLLOW_UP,
                        "Follow-up",
                        _at(day + dt.timedelta(days=1), 9),
                        _at(day + dt.timedelta(days=90), 17),
                        "Councillors answer every idea; solutions from the day are published.",
                    ),
                ),
            ),
            organiser=partnership,
            region=region,
        )
        event = await events.create_event(
            session,
            call,
            title="Open Ideas Day",
            starts_at=_at(day, 10),
            ends_at=_at(day, 16),
            description="Morning: the most-supported ideas are presented. Afternoon: small groups "
            "work each idea into a proposal the councils can act on.",
            venues=[
                VenueInput(
                    "Exeter Library",
                    "Castle Street, Exeter EX4 3PQ",
                    30,
                    "Step-free entrance and lift; hearing loop in the meeting room.",
                ),
                VenueInput(
                    "Beehive Centre, Honiton",
                    "Dowell Street, Honiton EX14 1LZ",
                    20,
                    "Step-free throughout; accessible toilet; parking next door.",
                ),
                VenueInput(
                    "Penryn Campus",
                    "Treliever Road, Penryn TR10 9FE",
                    25,
                    "Step-free; quiet room available; bus stop at the entrance.",
                ),
            ],
        )
        posted = []
        for i, (title, body) in enumerate(FUTURES_IDEAS):
            author = speakers[i % len(speakers)]
            posted.append(
                await ideas.create_idea(session, call, author, title=title, body=body, now=now)
            )
        await _deliberation(session, partnership, event, posted, speakers, now)
        councillor = await identity.find_by_email(session, "councillor@moot.example")
        assert councillor is not None
        await outcomes.record_outcome(
            session,
            posted[5],
            status=OutcomeStatus.UNDER_CONSIDERATION,
            response="The Environment Committee will discuss a citizens' assembly on water "
            "at its next meeting; we will post the minutes here.",
            decided_by=councillor.id,
        )
        created.append(FUTURES)
    if RIVERSIDE not in existing:
        start = today - dt.timedelta(days=150)
        call = await calls.create_call(
            session,
            CallInput(
                slug=RIVERSIDE,
                title="Exeter Riverside Spaces",
                summary="How should the Quay and the Riverside Valley Park be used? The call has "
                "closed and the council has answered every idea.",
                description="Exeter City Council asked residents how the riverside should change. "
                "**Thank you** to everyone who took part: every idea has an answer below.",
                tags=("parks", "riverside", "leisure"),
                phases=(
                    PhaseInput(
                        PhaseKind.IDEAS,
                        "Call for ideas",
                        _at(start, 9),
                        _at(start + dt.timedelta(days=42), 17),
                    ),
                    PhaseInput(
                        PhaseKind.FOLLOW_UP,
                        "Follow-up",
                        _at(start + dt.timedelta(days=43), 9),
                        _at(start + dt.timedelta(days=120), 17),
                    ),
                ),
            ),
            organiser=council,
            region=region,
        )
        answered = []
        for i, (title, body, status, response) in enumerate(RIVERSIDE_IDEAS):
            author = speakers[(i + 1) % len(speakers)]
            idea = await ideas.create_idea(session, call, author, title=title, body=body, now=now)
            await outcomes.record_outcome(session, idea, status=status, response=response)
            answered.append(idea)
        await _riverside_workshop(session, call, council, answered[0], start, now)
        created.append(RIVERSIDE)
    return created
