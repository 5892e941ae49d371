"""Outcomes: a council's answer to each idea, and the aggregate figures councillors work from.

Every figure is one aggregate query per call (never a loop over ideas); hidden and draft ideas
are left out, as they are everywhere in public."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import (
    ColumnElement,
    Date,
    String,
    and_,
    cast,
    func,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.calls.models import Call
from server.comments.models import Comment, Stance
from server.errors import Forbidden, NotFound, ValidationFailed
from server.ideas.models import IDEA_STATUSES, Endorsement, Idea, IdeaFollow
from server.identity.models import Account, Role
from server.identity.service import has_role
from server.notifications.models import NotificationKind
from server.notifications.service import notify
from server.outcomes.models import Outcome, OutcomeStatus
from server.personas.models import Persona
from server.votes.models import Ballot, BallotStatus, CastBallot

MAX_RESPONSE = 20_000
MAX_REFERENCE = 500
MAX_BUDGET_LINE = 200
PARTICIPATION_DAYS = 90  # the chart shows at most the last 90 days with activity


def status_label(status: str) -> str:
    return status.replace("_", " ").capitalize()


async def record_outcome(
    session: AsyncSession,
    idea: Idea,
    *,
    status: OutcomeStatus,
    response: str,
    decided_by: int | None = None,
    decision_reference: str | None = None,
    budget_line: str | None = None,
) -> Outcome:
    """Record or replace the answer to an idea (one current outcome per idea), and give the
    idea the outcome's status, in the caller's transaction."""
    if not response.strip():
        raise ValidationFailed("Write a response that residents can read.", field="response")
    values: dict[str, Any] = {
        "status": status,
        "response": response.strip(),
        "decided_by": decided_by,
        "decision_reference": decision_reference or None,
        "budget_line": budget_line or None,
    }
    stmt = (
        insert(Outcome)
        .values(idea_id=idea.id, **values)
        .on_conflict_do_update(
            index_elements=[Outcome.idea_id], set_={**values, "decided_at": func.now()}
        )
        .returning(Outcome)
    )
    outcome = await session.scalar(stmt, execution_options={"populate_existing": True})
    assert outcome is not None
    await session.execute(update(Idea).where(Idea.id == idea.id).values(status=status.value))
    return outcome


async def outcomes_for(session: AsyncSession, idea_ids: Sequence[int]) -> list[Outcome]:
    rows = await session.scalars(select(Outcome).where(Outcome.idea_id.in_(idea_ids)))
    return list(rows)


# --- answering an idea ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutcomeInput:
    status: str
    response: str
    decision_reference: str = ""
    budget_line: str = ""


async def idea_with_call(session: AsyncSession, idea_id: int) -> tuple[Idea, Call]:
    """A published idea and its call, or NotFound."""
    row = (
        await session.execute(
            select(Idea, Call)
            .join(Call, Call.id == Idea.call_id)
            .where(Idea.id == idea_id, Idea.published_at.is_not(None))
        )
    ).first()
    if row is None:
        raise NotFound("We could not find that idea.")
    return row[0], row[1]


async def can_respond(session: AsyncSession, account_id: int, call: Call) -> bool:
    return await has_role(
        session,
        account_id,
        Role.COUNCILLOR,
        region_id=call.region_id,
        organiser_id=call.organiser_id,
    )


async def can_see_dashboard(session: AsyncSession, account_id: int, call: Call) -> bool:
    scope = {"region_id": call.region_id, "organiser_id": call.organiser_id}
    return await has_role(session, account_id, Role.COUNCILLOR, **scope) or await has_role(
        session, account_id, Role.ORGANISER, **scope
    )


def _reference_problem(reference: str) -> str | None:
    if len(reference) > MAX_REFERENCE:
        return f"Keep the decision reference to {MAX_REFERENCE} characters or fewer."
    if "://" in reference or reference.lower().startswith("www."):
        url = urlsplit(reference)
        if url.scheme not in {"http", "https"} or not url.netloc or " " in reference:
            return "Give a web address starting https://, or a minute reference such as 'EX/23/4'."
    return None


def validate(data: OutcomeInput) -> tuple[OutcomeStatus, str, str, str]:
    errors: dict[str, str] = {}
    try:
        status = OutcomeStatus(data.status)
    except ValueError:
        status = OutcomeStatus.UNDER_CONSIDERATION
        errors["status"] = "Choose what the council decided."
    response, reference, budget = (
        data.response.strip(),
        data.decision_reference.strip(),
        data.budget_line.strip(),
    )
    if not response:
        errors["response"] = "Write a response that residents can read."
    elif len(response) > MAX_RESPONSE:
        errors["response"] = f"Keep the response to {MAX_RESPONSE:,} characters or fewer."
    if problem := _reference_problem(reference):
        errors["decision_reference"] = problem
    if len(budget) > MAX_BUDGET_LINE:
        errors["budget_line"] = f"Keep the budget line to {MAX_BUDGET_LINE} characters or fewer."
    if errors:
        raise ValidationFailed(errors=errors)
    return status, response, reference, budget


async def respond(
    session: AsyncSession, account: Account, idea_id: int, data: OutcomeInput
) -> Outcome:
    """A councillor answers (or re-answers) an idea: the outcome, the idea's status, the audit
    entry and the notifications to its followers and author, all in the caller's transaction."""
    idea, call = await idea_with_call(session, idea_id)
    if not await can_respond(session, account.id, call):
        raise Forbidden("Only a councillor for this call's area can answer its ideas.")
    status, response, reference, budget = validate(data)
    previous = await session.scalar(select(Outcome.status).where(Outcome.idea_id == idea.id))
    outcome = await record_outcome(
        session,
        idea,
        status=status,
        response=response,
        decided_by=account.id,
        decision_reference=reference,
        budget_line=budget,
    )
    await audit.record(
        session,
        actor=account.id,
        action="outcome.changed" if previous else "outcome.recorded",
        subject_type="idea",
        subject_id=idea.id,
        status=status.value,
        previous_status=previous.value if previous else None,
    )
    recipients = await session.scalars(
        select(IdeaFollow.account_id)
        .where(IdeaFollow.idea_id == idea.id)
        .union(select(Persona.account_id).where(Persona.id == idea.author_persona_id))
    )
    verb = "changed its answer to" if previous else "answered"
    await notify(
        session,
        list(recipients),
        kind=NotificationKind.OUTCOME,
        message=f"The council {verb} “{idea.title}”: {status_label(status.value)}.",
        link=f"/ideas/{idea.id}",
    )
    return outcome


# --- figures for a call ---------------------------------------------------------------------


def _listed(call_id: int) -> tuple[ColumnElement[bool], ...]:
    return (Idea.call_id == call_id, Idea.published_at.is_not(None), Idea.hidden_at.is_(None))


def _visible_comment() -> tuple[ColumnElement[bool], ...]:
    return (Comment.deleted_at.is_(None), Comment.hidden_at.is_(None))


@dataclass(frozen=True, slots=True)
class DayActivity:
    day: dt.date
    ideas: int
    comments: int
    endorsements: int
    votes: int = 0  # ballots first cast that day, in the call's votes

    @property
    def total(self) -> int:
        return self.ideas + self.comments + self.endorsements


@dataclass(frozen=True, slots=True)
class StanceTally:
    idea_id: int
    title: str
    for_: int
    against: int
    neutral: int


async def status_counts(session: AsyncSession, call_id: int) -> list[tuple[str, int]]:
    """Every status, in workflow order, with zeros."""
    rows = await session.execute(
        select(Idea.status, func.count()).where(*_listed(call_id)).group_by(Idea.status)
    )
    found = {status: count for status, count in rows}
    return [(s, found.get(s, 0)) for s in IDEA_STATUSES]


async def tag_counts(session: AsyncSession, call_id: int) -> list[tuple[str, int]]:
    tag = func.unnest(Idea.tags).label("tag")
    inner = select(tag).where(*_listed(call_id)).subquery()
    count = func.count().label("n")
    rows = await session.execute(
        select(inner.c.tag, count).group_by(inner.c.tag).order_by(count.desc(), inner.c.tag)
    )
    return [(t, n) for t, n in rows]


async def area_counts(session: AsyncSession, call_id: int) -> list[tuple[str | None, int]]:
    count = func.count().label("n")
    rows = await session.execute(
        select(Idea.area, count)
        .where(*_listed(call_id))
        .group_by(Idea.area)
        .order_by(count.desc(), Idea.area.nulls_last())
    )
    return [(a, n) for a, n in rows]


def _day(column: Any) -> ColumnElement[dt.date]:
    return cast(func.timezone("Europe/London", column), Date)


async def participation(
    session: AsyncSession, call_id: int, *, days: int = PARTICIPATION_DAYS
) -> list[DayActivity]:
    """Ideas, comments and endorsements per day (London time), every day from the first with
    activity to the last (at most ``days`` days), zeros included."""
    parts = union_all(
        select(literal("ideas").label("kind"), _day(Idea.published_at).label("day")).where(
            *_listed(call_id)
        ),
        select(literal("comments"), _day(Comment.created_at))
        .join(Idea, Idea.id == Comment.idea_id)
        .where(*_listed(call_id), *_visible_comment()),
        select(literal("endorsements"), _day(Endorsement.created_at))
        .join(Idea, Idea.id == Endorsement.idea_id)
        .where(*_listed(call_id)),
        select(literal("votes"), _day(CastBallot.cast_at))
        .join(Ballot, Ballot.id == CastBallot.ballot_id)
        .where(Ballot.call_id == call_id, Ballot.status != BallotStatus.DRAFT),
    ).subquery()
    rows = await session.execute(
        select(parts.c.kind, parts.c.day, func.count()).group_by(parts.c.kind, parts.c.day)
    )
    counts: dict[dt.date, dict[str, int]] = {}
    for kind, day, n in rows:
        counts.setdefault(day, {})[kind] = n
    if not counts:
        return []
    last = max(counts)
    first = max(min(counts), last - dt.timedelta(days=days - 1))
    out = []
    day = first
    while day <= last:
        c = counts.get(day, {})
        out.append(
            DayActivity(
                day,
                c.get("ideas", 0),
                c.get("comments", 0),
                c.get("endorsements", 0),
                c.get("votes", 0),
            )
        )
        day += dt.timedelta(days=1)
    return out


async def comment_count(session: AsyncSession, call_id: int) -> int:
    """Shown comments (not deleted or hidden) on the call's listed ideas."""
    count = await session.scalar(
        select(func.count(Comment.id))
        .join(Idea, Idea.id == Comment.idea_id)
        .where(*_listed(call_id), *_visible_comment())
    )
    return count or 0


async def vote_count(session: AsyncSession, call_id: int) -> int:
    """Ballots cast in the call's (public) votes: one per person per vote."""
    count = await session.scalar(
        select(func.count(CastBallot.id))
        .join(Ballot, Ballot.id == CastBallot.ballot_id)
        .where(Ballot.call_id == call_id, Ballot.status != BallotStatus.DRAFT)
    )
    return count or 0


async def participant_count(session: AsyncSession, call_id: int) -> int:
    """How many accounts took part in the call: published a listed idea, posted a visible comment
    on one, endorsed one, or voted in one of its votes. Counted by account behind the personas
    used, so someone with two personas counts once; a deleted account's former persona counts
    as one. A single number: nothing about anyone in particular."""
    personas = union_all(
        select(Idea.author_persona_id.label("persona_id")).where(*_listed(call_id)),
        select(Comment.author_persona_id)
        .join(Idea, Idea.id == Comment.idea_id)
        .where(*_listed(call_id), *_visible_comment()),
        select(Endorsement.persona_id)
        .join(Idea, Idea.id == Endorsement.idea_id)
        .where(*_listed(call_id)),
        select(CastBallot.persona_id)
        .join(Ballot, Ballot.id == CastBallot.ballot_id)
        .where(Ballot.call_id == call_id, CastBallot.persona_id.is_not(None)),
    ).subquery()
    # concat() skips a NULL account id, leaving "a": those are told apart by persona.
    who = func.coalesce(
        func.nullif(func.concat("a", cast(Persona.account_id, String)), "a"),
        func.concat("p", cast(Persona.id, String)),
    )
    count = await session.scalar(
        select(func.count(func.distinct(who)))
        .select_from(Persona)
        .join(personas, personas.c.persona_id == Persona.id)
    )
    return count or 0


async def stance_tallies(session: AsyncSession, call_id: int) -> list[StanceTally]:
    """For, against and neutral comments on each idea of the call (ideas without comments too)."""

    def tally(stance: Stance) -> ColumnElement[int]:
        return func.count(Comment.id).filter(Comment.stance == stance)

    rows = await session.execute(
        select(Idea.id, Idea.title, tally(Stance.FOR), tally(Stance.AGAINST), tally(Stance.NEUTRAL))
        .outerjoin(Comment, and_(Comment.idea_id == Idea.id, *_visible_comment()))
        .where(*_listed(call_id))
        .group_by(Idea.id, Idea.title)
        .order_by(Idea.created_at, Idea.id)
    )
    return [StanceTally(*row) for row in rows]


async def unanswered(session: AsyncSession, call_id: int) -> list[Idea]:
    """The call's ideas still waiting for the council's answer, oldest first."""
    rows = await session.scalars(
        select(Idea)
        .outerjoin(Outcome, Outcome.idea_id == Idea.id)
        .where(*_listed(call_id), Outcome.id.is_(None))
        .order_by(Idea.created_at, Idea.id)
    )
    return list(rows)


async def answered_count(session: AsyncSession, call_id: int) -> int:
    return (
        await session.scalar(
            select(func.count()).select_from(Idea).join(Outcome).where(*_listed(call_id))
        )
        or 0
    )
