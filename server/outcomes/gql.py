from __future__ import annotations

import datetime as dt
from typing import Self

import strawberry
from strawberry import relay

from server.api.context import Info
from server.api.payloads import UserError, attempt
from server.api.relay import RowNode
from server.calls.service import get_call
from server.errors import NotFound
from server.identity.models import TokenScope
from server.markdown import render_markdown
from server.moderation.gql import row_id
from server.outcomes import loaders, service
from server.outcomes.models import Outcome as OutcomeRow
from server.outcomes.models import OutcomeStatus

strawberry.enum(OutcomeStatus, description="What the council decided to do with an idea.")


@strawberry.type(description="The council's answer to an idea.")
class Outcome(RowNode):
    loader = staticmethod(loaders.outcome_by_id)
    id: relay.NodeID[int]
    status: OutcomeStatus = strawberry.field(description="The decision.")
    response: str = strawberry.field(description="The written response, in Markdown.")
    decided_at: dt.datetime = strawberry.field(description="When the answer was given.")
    decision_reference: str | None = strawberry.field(
        description="Where the decision is recorded: a web address or a minute reference."
    )
    budget_line: str | None = strawberry.field(description="The budget line that pays for it.")

    @classmethod
    def from_row(cls, row: OutcomeRow) -> Self:
        return cls(
            id=row.id,
            status=row.status,
            response=row.response,
            decided_at=row.decided_at,
            decision_reference=row.decision_reference,
            budget_line=row.budget_line,
        )

    @strawberry.field(description="The response rendered as sanitised HTML.")
    def response_html(self) -> str:
        return str(render_markdown(self.response))


async def outcome_of_idea(info: Info, idea_id: int) -> Outcome | None:
    row = await info.context.loaders.get(loaders.outcome_by_idea).load(idea_id)
    return Outcome.from_row(row) if row else None


@strawberry.type(description="How many of a call's ideas fall in one group.")
class GroupCount:
    key: str | None = strawberry.field(
        description="The group: a status (open, under_consideration, accepted, partly_accepted, "
        "not_taken_forward, already_happening), a tag, or an area (null: no area given)."
    )
    count: int = strawberry.field(description="How many ideas.")


@strawberry.type(description="What people did in a call on one day (London time).")
class ParticipationDay:
    day: dt.date = strawberry.field(description="The day.")
    ideas: int = strawberry.field(description="Ideas published that day.")
    comments: int = strawberry.field(description="Comments posted that day.")
    endorsements: int = strawberry.field(description="Endorsements given that day.")
    votes: int = strawberry.field(description="Ballots first cast that day in the call's votes.")


@strawberry.type(description="Aggregate figures for a call: public, and never about one person.")
class CallMetrics:
    slug: str = strawberry.field(description="The call's slug.")
    call_id: strawberry.Private[int]

    @strawberry.field(description="Ideas in the call (published, not hidden).")
    async def idea_count(self, info: Info) -> int:
        async with info.context.db.session() as session:
            return sum(n for _, n in await service.status_counts(session, self.call_id))

    @strawberry.field(
        description="How many people took part: published an idea, commented, endorsed or "
        "voted. Counted by account (someone with several personas counts once); a number "
        "only, never who."
    )
    async def participants(self, info: Info) -> int:
        async with info.context.db.session() as session:
            return await service.participant_count(session, self.call_id)

    @strawberry.field(
        description="Comments on the call's ideas (shown ones: not deleted or hidden)."
    )
    async def comment_count(self, info: Info) -> int:
        async with info.context.db.session() as session:
            return await service.comment_count(session, self.call_id)

    @strawberry.field(description="Ballots cast in the call's votes (one per person per vote).")
    async def vote_count(self, info: Info) -> int:
        async with info.context.db.session() as session:
            return await service.vote_count(session, self.call_id)

    @strawberry.field(description="Ideas the council has answered.")
    async def answered_count(self, info: Info) -> int:
        async with info.context.db.session() as session:
            return await service.answered_count(session, self.call_id)

    @strawberry.field(description="Ideas by status, every status listed (zeros included).")
    async def by_status(self, info: Info) -> list[GroupCount]:
        async with info.context.db.session() as session:
            rows = await service.status_counts(session, self.call_id)
        return [GroupCount(key=k, count=n) for k, n in rows]

    @strawberry.field(description="Ideas by tag, most used first.")
    async def by_tag(self, info: Info) -> list[GroupCount]:
        async with info.context.db.session() as session:
            rows = await service.tag_counts(session, self.call_id)
        return [GroupCount(key=k, count=n) for k, n in rows]

    @strawberry.field(description="Ideas by area, largest first.")
    async def by_area(self, info: Info) -> list[GroupCount]:
        async with info.context.db.session() as session:
            rows = await service.area_counts(session, self.call_id)
        return [GroupCount(key=k, count=n) for k, n in rows]

    @strawberry.field(
        description="Activity per day (ideas, comments, endorsements and votes), from the first "
        "day with any (max 90 days)."
    )
    async def participation(self, info: Info) -> list[ParticipationDay]:
        async with info.context.db.session() as session:
            rows = await service.participation(session, self.call_id)
        return [
            ParticipationDay(
                day=r.day,
                ideas=r.ideas,
                comments=r.comments,
                endorsements=r.endorsements,
                votes=r.votes,
            )
            for r in rows
        ]


@strawberry.type(description="The result of recording an outcome.")
class OutcomePayload:
    outcome: Outcome | None = strawberry.field(description="The outcome, when it was recorded.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


@strawberry.type
class OutcomesQuery:
    @strawberry.field(description="Aggregate figures for a call, or null when there is no call.")
    async def call_metrics(self, info: Info, slug: str) -> CallMetrics | None:
        async with info.context.db.session() as session:
            try:
                call = await get_call(session, slug)
            except NotFound:
                return None
        return CallMetrics(slug=call.slug, call_id=call.id)


@strawberry.type
class OutcomesMutations:
    @strawberry.mutation(
        description="Answer an idea, or change the answer (councillors for the call's area). "
        "Followers and the author are notified."
    )
    async def record_outcome(
        self,
        info: Info,
        idea_id: strawberry.ID,
        status: OutcomeStatus,
        response: str,
        decision_reference: str | None = None,
        budget_line: str | None = None,
    ) -> OutcomePayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> OutcomeRow:
            data = service.OutcomeInput(
                status=status.value,
                response=response,
                decision_reference=decision_reference or "",
                budget_line=budget_line or "",
            )
            idea = row_id(str(idea_id), "Idea", field="idea_id")
            async with info.context.db.session() as session, session.begin():
                return await service.respond(session, account, idea, data)

        row, errors = await attempt(work)
        return OutcomePayload(outcome=Outcome.from_row(row) if row else None, errors=errors)
