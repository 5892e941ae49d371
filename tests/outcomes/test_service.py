"""Answering ideas, and the dashboard's aggregate figures, at the service and SQL level."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.calls.models import Call
from server.comments.models import Stance
from server.errors import Forbidden, NotFound, ValidationFailed
from server.ideas.models import Idea, IdeaFollow
from server.identity import service as identity
from server.identity.models import Role
from server.notifications.models import Notification, NotificationKind
from server.outcomes import service
from server.outcomes.models import Outcome, OutcomeStatus
from server.outcomes.service import OutcomeInput
from tests.factories import make_account, make_call, make_idea, make_persona
from tests.moderation.support import audit_actions, endorse, make_comment

BAD_REFERENCE = "Give a web address starting https://, or a minute reference such as 'EX/23/4'."


async def _councillor(session: AsyncSession, call: Call, *, scope: str = "region"):  # type: ignore[no-untyped-def]
    account = await make_account(session)
    await identity.grant_role(
        session,
        account,
        Role.COUNCILLOR,
        actor=None,
        region_id=call.region_id if scope == "region" else None,
        organiser_id=call.organiser_id if scope == "organiser" else None,
    )
    return account


async def test_councillor_answers_and_followers_and_author_are_told(
    session: AsyncSession,
) -> None:
    call = await make_call(session)
    author_account = await make_account(session)
    idea = await make_idea(
        session, call, title="Night buses", author=await make_persona(session, author_account)
    )
    follower = await make_account(session)
    session.add_all(
        [
            IdeaFollow(idea_id=idea.id, account_id=follower.id),
            IdeaFollow(idea_id=idea.id, account_id=author_account.id),
        ]
    )
    councillor = await _councillor(session, call)
    outcome = await service.respond(
        session,
        councillor,
        idea.id,
        OutcomeInput(
            status="accepted",
            response="  We will run them from May.  ",
            decision_reference="https://example.org/minutes/34",
            budget_line="Transport 2025/26",
        ),
    )
    assert (
        outcome.status == OutcomeStatus.ACCEPTED
        and outcome.response == "We will run them from May."
    )
    assert outcome.decided_by == councillor.id and outcome.budget_line == "Transport 2025/26"
    assert (await session.get(Idea, idea.id, populate_existing=True)).status == "accepted"  # type: ignore[union-attr]
    notes = list(await session.scalars(select(Notification).order_by(Notification.account_id)))
    assert sorted(n.account_id for n in notes) == sorted([follower.id, author_account.id])
    assert {n.kind for n in notes} == {NotificationKind.OUTCOME}
    assert "Night buses" in notes[0].message and notes[0].link == f"/ideas/{idea.id}"

    # Changing the answer later is allowed, replaces it and notifies again.
    again = await service.respond(
        session,
        councillor,
        idea.id,
        OutcomeInput(status="partly_accepted", response="Fridays only."),
    )
    assert again.id == outcome.id and again.decision_reference is None
    rows = list(await session.scalars(select(Outcome).where(Outcome.idea_id == idea.id)))
    assert len(rows) == 1 and rows[0].status == OutcomeStatus.PARTLY_ACCEPTED
    assert (await session.get(Idea, idea.id, populate_existing=True)).status == "partly_accepted"  # type: ignore[union-attr]
    assert len(list(await session.scalars(select(Notification)))) == 4
    assert await audit_actions(session, "idea", idea.id) == ["outcome.recorded", "outcome.changed"]


async def test_organiser_scoped_councillor_and_admin_may_answer(session: AsyncSession) -> None:
    call = await make_call(session)
    idea = await make_idea(session, call)
    for account in (
        await _councillor(session, call, scope="organiser"),
        await make_account(session, role=Role.ADMIN),
    ):
        await service.respond(session, account, idea.id, OutcomeInput("accepted", "Yes."))


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (OutcomeInput("maybe", "Hmm."), {"status": "Choose what the council decided."}),
        (
            OutcomeInput("accepted", "   "),
            {"response": "Write a response that residents can read."},
        ),
        (
            OutcomeInput("accepted", "Yes.", decision_reference="javascript://alert(1)"),
            {"decision_reference": BAD_REFERENCE},
        ),
        (
            OutcomeInput("accepted", "Yes.", budget_line="x" * 201),
            {"budget_line": "Keep the budget line to 200 characters or fewer."},
        ),
    ],
)
async def test_bad_outcomes_change_nothing(
    session: AsyncSession, data: OutcomeInput, errors: dict[str, str]
) -> None:
    call = await make_call(session)
    idea = await make_idea(session, call)
    session.add(IdeaFollow(idea_id=idea.id, account_id=(await make_account(session)).id))
    councillor = await _councillor(session, call)
    with pytest.raises(ValidationFailed) as refused:
        await service.respond(session, councillor, idea.id, data)
    assert refused.value.errors == errors
    assert await session.scalar(select(Outcome)) is None
    assert await session.scalar(select(Notification)) is None
    assert idea.status == "open"


async def test_a_minute_reference_needs_no_url(session: AsyncSession) -> None:
    call = await make_call(session)
    idea = await make_idea(session, call)
    outcome = await service.respond(
        session,
        await _councillor(session, call),
        idea.id,
        OutcomeInput("not_taken_forward", "Too costly.", decision_reference="Executive EX/23/4"),
    )
    assert outcome.decision_reference == "Executive EX/23/4"


async def test_residents_and_other_regions_councillors_cannot_answer(session: AsyncSession) -> None:
    call = await make_call(session)
    idea = await make_idea(session, call)
    elsewhere = await _councillor(session, await make_call(session))
    for account in (
        await make_account(session),
        elsewhere,
        await make_account(session, role=Role.MODERATOR),
    ):
        with pytest.raises(Forbidden):
            await service.respond(session, account, idea.id, OutcomeInput("accepted", "Yes."))
    with pytest.raises(NotFound):
        await service.respond(session, elsewhere, 999_999, OutcomeInput("accepted", "Yes."))
    assert await session.scalar(select(Outcome)) is None


async def test_figures_for_a_call(session: AsyncSession) -> None:
    call = await make_call(session)
    other = await make_call(session)
    buses = await make_idea(session, call, title="Buses")
    parks = await make_idea(session, call, title="Parks")
    hidden = await make_idea(session, call, title="Hidden")
    await make_idea(session, other, title="Elsewhere")
    buses.tags, buses.area = ["transport", "night"], "Exeter"
    parks.tags, parks.area = ["transport"], None
    hidden.tags, hidden.hidden_at = ["transport"], buses.created_at
    for stance in (Stance.FOR, Stance.FOR, Stance.AGAINST, None):
        await make_comment(session, buses, stance=stance)
    deleted = await make_comment(session, buses, stance=Stance.AGAINST)
    deleted.deleted_at = deleted.created_at
    await make_comment(session, hidden, stance=Stance.FOR)
    await endorse(session, buses)
    await endorse(session, parks)
    await service.record_outcome(session, parks, status=OutcomeStatus.ACCEPTED, response="Yes.")
    await session.flush()

    assert dict(await service.status_counts(session, call.id)) == {
        "open": 1,
        "under_consideration": 0,
        "accepted": 1,
        "partly_accepted": 0,
        "not_taken_forward": 0,
        "already_happening": 0,
    }
    assert await service.tag_counts(session, call.id) == [("transport", 2), ("night", 1)]
    assert await service.area_counts(session, call.id) == [("Exeter", 1), (None, 1)]
    [today] = await service.participation(session, call.id)
    assert (today.ideas, today.comments, today.endorsements, today.total) == (2, 4, 2, 8)
    tallies = {
        t.title: (t.for_, t.against, t.neutral)
        for t in await service.stance_tallies(session, call.id)
    }
    assert tallies == {"Buses": (2, 1, 0), "Parks": (0, 0, 0)}
    assert [i.title for i in await service.unanswered(session, call.id)] == ["Buses"]
    assert await service.answered_count(session, call.id) == 1


async def test_participation_fills_the_days_between(session: AsyncSession) -> None:
    call = await make_call(session)
    old = await make_idea(session, call)
    new = await make_idea(session, call)
    assert old.published_at is not None and new.published_at is not None
    old.published_at = new.published_at - dt.timedelta(days=3)
    await session.flush()
    days = await service.participation(session, call.id)
    assert [d.ideas for d in days] == [1, 0, 0, 1]
    assert [d.day for d in days] == [days[0].day + dt.timedelta(days=n) for n in range(4)]
    assert await service.participation(session, (await make_call(session)).id) == []
