"""Rows for the open data tests, built with the models directly (not the domain services).

``awkward`` makes a call with everything the export covers, with hard content: commas, quotes,
new lines, emoji, Welsh letters, empty optional fields, a tombstone and a hidden comment, a
secret and a public ballot. ``private`` adds a marker string to every field that must never be
exported."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEntry
from server.calls.models import Call, Organiser, Phase, PhaseKind, Region
from server.comments.models import Comment, Stance
from server.events.models import (
    Event,
    EventSession,
    Registration,
    RegistrationStatus,
    Solution,
    Venue,
)
from server.ideas.models import Endorsement, Idea
from server.identity.models import (
    Account,
    AccountKind,
    ApiToken,
    OutboxMessage,
    Person,
    Session,
    Verification,
    VerificationCode,
)
from server.moderation.models import Report
from server.notifications.models import Notification, NotificationKind
from server.outcomes.models import Outcome, OutcomeStatus
from server.personas.models import Persona, PersonaKind
from server.votes.models import (
    Ballot,
    BallotKind,
    BallotOption,
    BallotStatus,
    CastBallot,
    ResultMethod,
)

WELSH = "Llanfair\u00adpwll ŵ ŷ"
AWKWARD = f'Commas, "quotes", new\nlines, \r\ncarriage returns, emoji 🎉🏴󠁧󠁢󠁷󠁬󠁳󠁿 and {WELSH}'
NOW = dt.datetime(2026, 3, 4, 12, 30, 15, 123456, tzinfo=dt.UTC)


@dataclass
class Seeded:
    call: Call
    ideas: dict[str, Idea] = field(default_factory=dict)
    personas: dict[str, Persona] = field(default_factory=dict)
    ballots: dict[str, Ballot] = field(default_factory=dict)
    options: dict[str, list[BallotOption]] = field(default_factory=dict)
    comments: dict[str, Comment] = field(default_factory=dict)


async def _add(session: AsyncSession, *rows: Any) -> None:
    session.add_all(rows)
    await session.flush()


async def resident(
    session: AsyncSession, name: str, *, person: bool = False
) -> tuple[Account, Persona]:
    person_id = None
    if person:
        p = Person()
        await _add(session, p)
        person_id = p.id
    account = Account(kind=AccountKind.LIGHT, person_id=person_id)
    await _add(session, account)
    persona = Persona(account_id=account.id, kind=PersonaKind.RESIDENT, display_name=name)
    await _add(session, persona)
    return account, persona


async def awkward(session: AsyncSession, *, slug: str = "awkward") -> Seeded:
    region = Region(slug=f"{slug}-region", name=f"Ynys Môn, {WELSH}")
    await _add(session, region)
    organiser = Organiser(slug=f"{slug}-org", name='Cyngor "Sir", Môn 🏛', region_id=region.id)
    await _add(session, organiser)
    opens, closes = NOW - dt.timedelta(days=30), NOW + dt.timedelta(days=30)
    call = Call(
        slug=slug,
        title=AWKWARD[:200],
        summary=AWKWARD,
        description=f'# {AWKWARD}\n\n* one, two\n* "three"',
        organiser_id=organiser.id,
        region_id=region.id,
        tags=["a, b", 'quote "q"', WELSH, "🎉"],
        image_url=None,
        image_alt=None,
        opens_at=opens,
        closes_at=closes,
    )
    await _add(session, call)
    ideas_phase = Phase(
        call_id=call.id,
        position=0,
        kind=PhaseKind.IDEAS,
        title=AWKWARD[:200],
        description="",
        starts_at=opens,
        ends_at=NOW,
    )
    voting = Phase(
        call_id=call.id,
        position=1,
        kind=PhaseKind.VOTING,
        title="Pleidleisio",
        starts_at=NOW,
        ends_at=closes,
    )
    await _add(session, ideas_phase, voting)
    seeded = Seeded(call=call)
    _, alice = await resident(session, f"Alys, {WELSH} 👩‍🌾", person=True)
    bob_account, bob = await resident(session, 'Bob "the builder", Caergybi')
    former = Persona(kind=PersonaKind.FORMER, display_name="Former participant")
    await _add(session, former)
    seeded.personas.update(alice=alice, bob=bob, former=former)

    def idea(key: str, author: Persona, title: str, **kw: Any) -> Idea:
        row = Idea(
            call_id=call.id,
            author_persona_id=author.id,
            title=title,
            body=kw.pop("body", AWKWARD),
            published_at=kw.pop("published_at", NOW - dt.timedelta(days=2)),
            **kw,
        )
        seeded.ideas[key] = row
        return row

    await _add(
        session,
        idea(
            "main",
            alice,
            AWKWARD[:200],
            tags=["x,y", '"z"', WELSH],
            area="Porthaethwy, Môn",
            latitude=Decimal("53.226000"),
            longitude=Decimal("-4.168000"),
            endorsement_count=1,
            comment_count=4,
            status="accepted",
        ),
        idea("plain", bob, "Plain", body="", tags=[], area=None),
        idea("by_former", former, "Kept after deletion"),
    )
    main = seeded.ideas["main"]
    await _add(session, Endorsement(idea_id=main.id, persona_id=bob.id, account_id=bob_account.id))
    top = Comment(
        idea_id=main.id, author_persona_id=bob.id, body=AWKWARD, stance=Stance.FOR, depth=0
    )
    await _add(session, top)
    tomb = Comment(
        idea_id=main.id,
        parent_id=top.id,
        author_persona_id=alice.id,
        body="",
        depth=1,
        deleted_at=NOW,
    )
    hidden = Comment(
        idea_id=main.id,
        parent_id=top.id,
        author_persona_id=alice.id,
        body="rude",
        stance=Stance.AGAINST,
        depth=1,
        hidden_at=NOW,
        hidden_reason="rude",
    )
    await _add(session, tomb, hidden)
    reply = Comment(
        idea_id=main.id,
        parent_id=tomb.id,
        author_persona_id=bob.id,
        body="Reply to a deleted comment, still here",
        depth=2,
        edited_at=NOW,
    )
    await _add(session, reply)
    seeded.comments.update(top=top, tomb=tomb, hidden=hidden, reply=reply)

    event = Event(
        call_id=call.id,
        title=f"Diwrnod Syniadau, {WELSH}",
        starts_at=NOW + dt.timedelta(days=5),
        ends_at=NOW + dt.timedelta(days=5, hours=6),
    )
    await _add(session, event)
    venue = Venue(
        event_id=event.id,
        name='Neuadd "y Dref"',
        address="Stryd Fawr,\nLlangefni",
        capacity=2,
        registered=1,
        accessibility="",
    )
    await _add(session, venue)
    await _add(
        session,
        Registration(
            event_id=event.id,
            venue_id=venue.id,
            account_id=bob_account.id,
            persona_id=bob.id,
            status=RegistrationStatus.REGISTERED,
            checked_in_at=NOW,
        ),
    )
    talk = EventSession(
        venue_id=venue.id,
        idea_id=main.id,
        title="Session, one",
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        notes=AWKWARD,
        notes_posted_at=NOW,
    )
    await _add(session, talk)
    await _add(
        session,
        Solution(session_id=talk.id, idea_id=main.id, title=AWKWARD[:200], body=""),
        Outcome(
            idea_id=main.id,
            status=OutcomeStatus.ACCEPTED,
            response=AWKWARD,
            decision_reference=None,
            budget_line="£1,000",
        ),
    )

    for key, secret in (("secret", True), ("public", False)):
        ballot = Ballot(
            call_id=call.id,
            phase_id=voting.id,
            kind=BallotKind.APPROVAL if secret else BallotKind.STATEMENTS,
            title=f"{key.title()} ballot, {WELSH}",
            result_method=ResultMethod.TOTALS,
            eligibility={"postcode_areas": ["LL"]} if secret else {},
            secret=secret,
            status=BallotStatus.PUBLISHED,
            closed_at=NOW,
            published_at=NOW,
            export_sha256="0" * 64,
            result={"winner": AWKWARD, "totals": {"1": 2}},
        )
        await _add(session, ballot)
        options = [
            BallotOption(
                ballot_id=ballot.id,
                position=i,
                idea_id=main.id if i == 0 else None,
                title=f'Option {i}, "{WELSH}"',
            )
            for i in range(3)
        ]
        await _add(session, *options)
        seeded.ballots[key] = ballot
        seeded.options[key] = options
    return seeded


async def cast(session: AsyncSession, seeded: Seeded, voters: list[tuple[Persona, int]]) -> None:
    """Each voter (persona, person id) casts on both ballots."""
    for persona, person_id in voters:
        secret, public = seeded.options["secret"], seeded.options["public"]
        await _add(
            session,
            CastBallot(
                ballot_id=seeded.ballots["secret"].id,
                person_id=person_id,
                persona_id=persona.id,
                content=[secret[0].id, secret[2].id],
                changes=1,
            ),
            CastBallot(
                ballot_id=seeded.ballots["public"].id,
                person_id=person_id,
                persona_id=persona.id,
                content={str(public[0].id): 1, str(public[1].id): -1, str(public[2].id): 0},
            ),
        )


async def private(session: AsyncSession, seeded: Seeded, mark: str) -> dict[str, int]:
    """A marker in every field that must stay private; returns the ids of private rows."""
    call = seeded.call
    person = Person()
    await _add(session, person)
    account = Account(
        kind=AccountKind.FULL,
        email=f"{mark}.email@example.org",
        password_hash=f"$argon2id$v=19${mark}",
        person_id=person.id,
    )
    await _add(session, account)
    verification = Verification(
        person_id=person.id,
        method="code",
        identity_key=f"{mark}-identity-key",
        claims={"postcode": f"{mark} EX1", "member_of": f"{mark}-club"},
    )
    await _add(session, verification)
    # Display names are public, but this persona only has private traces (a draft, a hidden
    # idea, a registration, a secret vote): it must not be exported at all.
    quiet = Persona(
        account_id=account.id,
        kind=PersonaKind.RESIDENT,
        display_name=f"Quiet {mark}",
        description=f"About {mark}",
    )
    # A deleted account's persona, not yet scrubbed: its description and old name must go.
    gone = Persona(kind=PersonaKind.FORMER, display_name=f"Old {mark}", description=f"{mark}")
    await _add(session, quiet, gone)
    draft = Idea(call_id=call.id, author_persona_id=quiet.id, title=f"Draft {mark}", body=mark)
    hidden = Idea(
        call_id=call.id,
        author_persona_id=quiet.id,
        title=f"Hidden {mark}",
        body=mark,
        published_at=NOW,
        hidden_at=NOW,
        hidden_reason=mark,
    )
    by_gone = Idea(call_id=call.id, author_persona_id=gone.id, title="Still here", published_at=NOW)
    await _add(session, draft, hidden, by_gone)
    main = seeded.ideas["main"]
    await _add(
        session,
        Comment(
            idea_id=main.id,
            author_persona_id=quiet.id,
            body=f"Hidden {mark}",
            hidden_at=NOW,
            hidden_reason=mark,
        ),
        Comment(
            idea_id=main.id, author_persona_id=quiet.id, body=f"Deleted {mark}", deleted_at=NOW
        ),
        Comment(idea_id=hidden.id, author_persona_id=seeded.personas["bob"].id, body=mark),
        Comment(idea_id=draft.id, author_persona_id=seeded.personas["bob"].id, body=mark),
        Endorsement(idea_id=main.id, persona_id=quiet.id, person_id=person.id),
        Outcome(idea_id=hidden.id, status=OutcomeStatus.ACCEPTED, response=mark),
    )
    event = Event(
        call_id=call.id, title="Event", starts_at=NOW, ends_at=NOW + dt.timedelta(hours=1)
    )
    await _add(session, event)
    venue = Venue(event_id=event.id, name="Hall", address="Street", capacity=5, registered=1)
    await _add(session, venue)
    await _add(
        session,
        Registration(
            event_id=event.id,
            venue_id=venue.id,
            account_id=account.id,
            persona_id=quiet.id,
            status=RegistrationStatus.REGISTERED,
        ),
        EventSession(
            venue_id=venue.id,
            idea_id=hidden.id,
            title="Session",
            starts_at=NOW,
            ends_at=NOW + dt.timedelta(hours=1),
            notes=f"Not posted yet {mark}",
        ),
        CastBallot(
            ballot_id=seeded.ballots["secret"].id,
            person_id=person.id,
            persona_id=quiet.id,
            content=[seeded.options["secret"][1].id],
        ),
    )
    draft_ballot = Ballot(
        call_id=call.id,
        phase_id=seeded.ballots["secret"].phase_id,
        kind=BallotKind.APPROVAL,
        title=f"Draft ballot {mark}",
        result_method=ResultMethod.TOTALS,
        status=BallotStatus.DRAFT,
    )
    await _add(session, draft_ballot)
    await _add(
        session,
        BallotOption(ballot_id=draft_ballot.id, position=0, title=f"Option {mark}"),
        Session(
            token_hash=mark.encode().ljust(32, b"x")[:32],
            account_id=account.id,
            expires_at=NOW,
        ),
        ApiToken(account_id=account.id, name=f"Token {mark}", scopes=["read"], expires_at=NOW),
        OutboxMessage(to_address=f"{mark}@example.org", subject=f"Hi {mark}", body=mark),
        AuditEntry(
            actor_account_id=account.id,
            action="test.marker",
            subject_type="account",
            subject_id=account.id,
            details={"note": mark},
        ),
        Notification(account_id=account.id, kind=NotificationKind.REPLY, message=mark, link="/"),
        Report(
            subject_type="idea", subject_id=main.id, reporter_account_id=account.id, reason=mark
        ),
        VerificationCode(
            code_hash=f"{mark}-code", claims={"postcode": mark}, batch=mark, expires_at=NOW
        ),
    )
    return {"quiet": quiet.id, "gone": gone.id, "account": account.id, "person": person.id}
