from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from server.api.context import Info
from server.api.payloads import UserError, attempt
from server.api.relay import RowNode, related, related_or_none
from server.errors import Forbidden, ValidationFailed
from server.events import loaders, registrations, sessions
from server.events import service as events
from server.events.models import Event as EventRow
from server.events.models import EventSession as SessionRow
from server.events.models import Registration as RegistrationRow
from server.events.models import RegistrationStatus
from server.events.models import Solution as SolutionRow
from server.events.models import Venue as VenueRow
from server.identity.models import TokenScope
from server.markdown import render_markdown
from server.personas import loaders as persona_loaders

if TYPE_CHECKING:
    from server.ideas.gql import Idea
    from server.personas.gql import Persona

strawberry.enum(
    RegistrationStatus,
    description="A place at a venue, a place on its waitlist, or a cancelled registration.",
)

IdeaRef = Annotated["Idea", strawberry.lazy("server.ideas.gql")]
PersonaRef = Annotated["Persona", strawberry.lazy("server.personas.gql")]


async def _idea(info: Info, idea_id: int | None) -> Idea | None:
    from server.ideas.gql import Idea

    return await related_or_none(info, loaders.idea_by_id, idea_id, Idea)


@strawberry.type(description="A place where an event's sessions are held in parallel.")
class Venue(RowNode):
    loader = staticmethod(loaders.venue_by_id)
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Name of the venue.")
    address: str = strawberry.field(description="Postal address.")
    capacity: int = strawberry.field(description="How many people can attend.")
    accessibility: str = strawberry.field(description="Access notes (step-free, hearing loop…).")
    remaining_places: int = strawberry.field(description="Places not yet taken.")
    event_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: VenueRow) -> Self:
        return cls(
            id=row.id,
            name=row.name,
            address=row.address,
            capacity=row.capacity,
            accessibility=row.accessibility,
            remaining_places=row.capacity - row.registered,
            event_id=row.event_id,
        )

    @strawberry.field(description="How many people wait for a place to come up.")
    async def waitlist_length(self, info: Info) -> int:
        return await info.context.loaders.get(loaders.waitlist_length_by_venue).load(self.id)

    @strawberry.field(
        description="Who is registered or waitlisted here, places first: for the venue's "
        "hosts and the event's organisers only."
    )
    async def registrations(self, info: Info) -> list[Registration]:
        account = info.context.require(TokenScope.READ)
        hosts = await info.context.loaders.get(loaders.hosts_by_venue).load(self.id)
        if account.id not in {h.account_id for h in hosts}:
            async with info.context.db.session() as session:
                event = await events.get_event(session, self.event_id)
                call = await events.call_of(session, event)
                if not await events.can_manage(session, account, call):
                    raise Forbidden("Only this venue's hosts and organisers can see who comes.")
        rows = await info.context.loaders.get(loaders.live_registrations_by_venue).load(self.id)
        rows = sorted(rows, key=lambda r: (r.status != RegistrationStatus.REGISTERED, r.id))
        return [Registration.from_row(r) for r in rows]


@strawberry.type(description="Someone's place, or place on the waitlist, at a venue.")
class Registration:
    id: relay.GlobalID = strawberry.field(description="Use with `checkIn`.")
    status: RegistrationStatus = strawberry.field(description="Place, waitlist or cancelled.")
    checked_in_at: dt.datetime | None = strawberry.field(description="When they arrived.")
    venue_id: strawberry.Private[int]
    persona_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: RegistrationRow) -> Self:
        return cls(
            id=relay.GlobalID("Registration", str(row.id)),
            status=row.status,
            checked_in_at=row.checked_in_at,
            venue_id=row.venue_id,
            persona_id=row.persona_id,
        )

    @strawberry.field(description="The venue.")
    async def venue(self, info: Info) -> Venue:
        return await related(info, loaders.venue_by_id, self.venue_id, Venue)

    @strawberry.field(description="The persona the person registered as.")
    async def persona(self, info: Info) -> PersonaRef:
        from server.personas.gql import Persona

        return await related(info, persona_loaders.persona_by_id, self.persona_id, Persona)


@strawberry.type(description="A solution that came out of a session, linked to an idea.")
class Solution(RowNode):
    loader = staticmethod(loaders.solution_by_id)
    id: relay.NodeID[int]
    title: str = strawberry.field(description="The solution in a line.")
    body: str = strawberry.field(description="The solution in full (Markdown).")
    idea_id: strawberry.Private[int | None]
    session_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: SolutionRow) -> Self:
        return cls(
            id=row.id,
            title=row.title,
            body=row.body,
            idea_id=row.idea_id,
            session_id=row.session_id,
        )

    @strawberry.field(description="The body rendered as sanitised HTML.")
    def body_html(self) -> str:
        return str(render_markdown(self.body))

    @strawberry.field(description="The idea the solution answers, if any.")
    async def idea(self, info: Info) -> IdeaRef | None:
        return await _idea(info, self.idea_id)


@strawberry.type(
    name="Session", description="A session of an event: a topic at a venue and time slot."
)
class EventSession(RowNode):
    loader = staticmethod(loaders.session_by_id)
    id: relay.NodeID[int]
    title: str = strawberry.field(description="The topic.")
    starts_at: dt.datetime = strawberry.field(description="When the session starts.")
    ends_at: dt.datetime = strawberry.field(description="When the session ends.")
    notes: str = strawberry.field(description="The host's notes after the day (Markdown).")
    notes_posted_at: dt.datetime | None = strawberry.field(description="When notes were posted.")
    venue_id: strawberry.Private[int]
    idea_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: SessionRow) -> Self:
        return cls(
            id=row.id,
            title=row.title,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            notes=row.notes,
            notes_posted_at=row.notes_posted_at,
            venue_id=row.venue_id,
            idea_id=row.idea_id,
        )

    @strawberry.field(description="The notes rendered as sanitised HTML.")
    def notes_html(self) -> str:
        return str(render_markdown(self.notes))

    @strawberry.field(description="Where the session is held.")
    async def venue(self, info: Info) -> Venue:
        return await related(info, loaders.venue_by_id, self.venue_id, Venue)

    @strawberry.field(description="The idea the session is about, if any.")
    async def idea(self, info: Info) -> IdeaRef | None:
        return await _idea(info, self.idea_id)

    @strawberry.field(description="Solutions that came out of the session, in order.")
    async def solutions(self, info: Info) -> list[Solution]:
        rows = await info.context.loaders.get(loaders.solutions_by_session).load(self.id)
        return [Solution.from_row(r) for r in rows]


@strawberry.type(description="An in-person day of a call, such as an Open Ideas Day.")
class Event(RowNode):
    loader = staticmethod(loaders.event_by_id)
    id: relay.NodeID[int]
    title: str = strawberry.field(description="The event's title.")
    description: str = strawberry.field(description="What happens on the day (Markdown).")
    starts_at: dt.datetime = strawberry.field(description="When the event starts.")
    ends_at: dt.datetime = strawberry.field(description="When the event ends.")

    @classmethod
    def from_row(cls, row: EventRow) -> Self:
        return cls(
            id=row.id,
            title=row.title,
            description=row.description,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
        )

    @strawberry.field(description="The venues, by name.")
    async def venues(self, info: Info) -> list[Venue]:
        rows = await info.context.loaders.get(loaders.venues_by_event).load(self.id)
        return [Venue.from_row(r) for r in rows]

    @strawberry.field(description="The sessions (the timetable), in time order.")
    async def sessions(self, info: Info) -> list[EventSession]:
        rows = await info.context.loaders.get(loaders.sessions_by_event).load(self.id)
        return [EventSession.from_row(r) for r in rows]

    @strawberry.field(
        description="The signed-in caller's own registration (place or waitlist), if any."
    )
    async def viewer_registration(self, info: Info) -> Registration | None:
        account = info.context.caller.account
        if account is None:
            return None
        loader = info.context.loaders.get(loaders.live_registration_by_account_event)
        row = await loader.load((account.id, self.id))
        return Registration.from_row(row) if row is not None else None


async def events_of_call(info: Info, call_id: int) -> list[EventRow]:
    return await info.context.loaders.get(loaders.events_by_call).load(call_id)


# --- Mutations ----------------------------------------------------------------------------


def _row_id(gid: relay.GlobalID, type_name: str, field: str) -> int:
    if gid.type_name != type_name or not gid.node_id.isdigit() or len(gid.node_id) > 18:
        raise ValidationFailed(f"That is not a {type_name.lower()} id.", field=field)
    return int(gid.node_id)


@strawberry.type(description="The result of registering, cancelling or checking in.")
class RegistrationPayload:
    registration: Registration | None = strawberry.field(description="The registration.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


@strawberry.type(description="The result of changing a session.")
class SessionPayload:
    session: EventSession | None = strawberry.field(description="The session, when changed.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


@strawberry.type(description="The result of adding a solution.")
class SolutionPayload:
    solution: Solution | None = strawberry.field(description="The new solution.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


def _registration(row: RegistrationRow | None, errors: list[UserError]) -> RegistrationPayload:
    return RegistrationPayload(
        registration=Registration.from_row(row) if row else None, errors=errors
    )


def _session(row: SessionRow | None, errors: list[UserError]) -> SessionPayload:
    return SessionPayload(session=EventSession.from_row(row) if row else None, errors=errors)


@strawberry.type
class EventsQuery:
    """Root query fields of this domain (mixed into the schema's Query)."""


@strawberry.type
class EventsMutations:
    """Mutations of this domain (mixed into the schema's Mutation)."""

    @strawberry.mutation(
        description="Register for a venue as one of your personas: a place if one is left, "
        "otherwise a place on the waitlist (status WAITLISTED)."
    )
    async def register_for_venue(
        self, info: Info, venue_id: relay.GlobalID, persona_id: relay.GlobalID
    ) -> RegistrationPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> RegistrationRow:
            venue = _row_id(venue_id, "Venue", "venue_id")
            persona = _row_id(persona_id, "Persona", "persona_id")
            async with info.context.db.session() as session, session.begin():
                return await registrations.register(
                    session, account, venue, persona, now=info.context.now
                )

        return _registration(*await attempt(work))

    @strawberry.mutation(
        description="Cancel your registration for an event; a freed place goes to the first "
        "person on the waitlist."
    )
    async def cancel_registration(
        self, info: Info, event_id: relay.GlobalID
    ) -> RegistrationPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> RegistrationRow:
            event = _row_id(event_id, "Event", "event_id")
            async with info.context.db.session() as session, session.begin():
                return await registrations.cancel(session, account, event, now=info.context.now)

        return _registration(*await attempt(work))

    @strawberry.mutation(description="Check someone in at your venue (hosts; idempotent).")
    async def check_in(self, info: Info, registration_id: relay.GlobalID) -> RegistrationPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> RegistrationRow:
            registration = _row_id(registration_id, "Registration", "registration_id")
            async with info.context.db.session() as session, session.begin():
                return await registrations.check_in(
                    session, account, registration, now=info.context.now
                )

        return _registration(*await attempt(work))

    @strawberry.mutation(description="Post (or replace) a session's notes, in Markdown (hosts).")
    async def post_session_notes(
        self, info: Info, session_id: relay.GlobalID, notes: str
    ) -> SessionPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> SessionRow:
            target = _row_id(session_id, "Session", "session_id")
            async with info.context.db.session() as session, session.begin():
                return await sessions.post_notes(
                    session, account, target, notes, now=info.context.now
                )

        return _session(*await attempt(work))

    @strawberry.mutation(
        description="Add a solution that came out of a session (hosts). It answers `ideaId`, "
        "or the session's own idea when none is given."
    )
    async def add_solution(
        self,
        info: Info,
        session_id: relay.GlobalID,
        title: str,
        body: str = "",
        idea_id: relay.GlobalID | None = None,
    ) -> SolutionPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> SolutionRow:
            target = _row_id(session_id, "Session", "session_id")
            idea = _row_id(idea_id, "Idea", "idea_id") if idea_id is not None else None
            async with info.context.db.session() as session, session.begin():
                return await sessions.add_solution(
                    session,
                    account,
                    target,
                    title=title,
                    body=body,
                    idea_id=idea,
                    now=info.context.now,
                )

        row, errors = await attempt(work)
        return SolutionPayload(solution=Solution.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Turn an idea into a session at a venue and time of the event "
        "(organisers). With `sessionId`, move or retitle that session instead."
    )
    async def assign_session(
        self,
        info: Info,
        event_id: relay.GlobalID,
        venue_id: relay.GlobalID,
        starts_at: dt.datetime,
        ends_at: dt.datetime,
        idea_id: relay.GlobalID | None = None,
        title: str = "",
        session_id: relay.GlobalID | None = None,
    ) -> SessionPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> SessionRow:
            data = sessions.SessionInput(
                venue_id=_row_id(venue_id, "Venue", "venue_id"),
                starts_at=starts_at,
                ends_at=ends_at,
                idea_id=_row_id(idea_id, "Idea", "idea_id") if idea_id is not None else None,
                title=title,
            )
            existing = (
                _row_id(session_id, "Session", "session_id") if session_id is not None else None
            )
            async with info.context.db.session() as session, session.begin():
                return await sessions.assign_session(
                    session,
                    account,
                    _row_id(event_id, "Event", "event_id"),
                    data,
                    session_id=existing,
                )

        return _session(*await attempt(work))
