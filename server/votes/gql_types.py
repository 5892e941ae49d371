"""The votes domain's GraphQL object types: ballots with their options, rules, turnout, live
tallies (when the vote allows), the published result and the caller's own ballot.

Imported through ``server.votes.gql``, which re-exports them with the root fields; the mutations
(``gql_mutations``) and the ``ballotTally`` subscription (``gql_subscriptions``) build on them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Self, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from server.api.context import Info
from server.api.relay import RowNode, related, related_or_none
from server.calls import loaders as call_loaders
from server.personas import loaders as persona_loaders
from server.votes import loaders, results
from server.votes.casting import Cast
from server.votes.eligibility import describe
from server.votes.models import Ballot as BallotRow
from server.votes.models import BallotKind, BallotStatus, ResultMethod
from server.votes.models import BallotOption as OptionRow
from server.votes.models import CastBallot as CastRow
from server.votes.pages import rules_in_words

if TYPE_CHECKING:
    from server.calls.gql import Call
    from server.ideas.gql import Idea
    from server.personas.gql import Persona

strawberry.enum(BallotKind, description="How people answer a vote.")
strawberry.enum(BallotStatus, description="Where a vote is in its life.")
strawberry.enum(ResultMethod, description="How a vote's result is counted.")

IdeaRef = Annotated["Idea", strawberry.lazy("server.ideas.gql")]
PersonaRef = Annotated["Persona", strawberry.lazy("server.personas.gql")]
CallRef = Annotated["Call", strawberry.lazy("server.calls.gql")]


@strawberry.type(description="One option of a vote (a statement, in a statements vote).")
class BallotOption(RowNode):
    loader = staticmethod(loaders.option_by_id)
    id: relay.NodeID[int]
    number: int = strawberry.field(
        description="The option's number, as used in `castBallot` choices, the exported ballots "
        "file and the result."
    )
    position: int = strawberry.field(description="Place on the ballot, from 0.")
    title: str = strawberry.field(description="The option (or statement) in a line.")
    description: str = strawberry.field(description="More about it (Markdown).")
    cost: int | None = strawberry.field(description="Cost in pence (budgeting votes).")
    idea_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: OptionRow) -> Self:
        return cls(
            id=row.id,
            number=row.id,
            position=row.position,
            title=row.title,
            description=row.description,
            cost=row.cost,
            idea_id=row.idea_id,
        )

    @strawberry.field(description="The idea the option comes from, if any (and still visible).")
    async def idea(self, info: Info) -> IdeaRef | None:
        from server.ideas.gql import Idea

        return await related_or_none(info, loaders.visible_idea_by_id, self.idea_id, Idea)


@strawberry.type(description="A running count of one option during voting.")
class TallyEntry:
    option_number: int = strawberry.field(description="The option's number.")
    key: str = strawberry.field(
        description="`count` (choices, or first preferences when ranked), or `agree`, "
        "`disagree` and `pass` for statements."
    )
    count: int = strawberry.field(description="How many.")

    @classmethod
    def from_row(cls, row: loaders.TallyCount) -> Self:
        return cls(option_number=row.option_id, key=row.key, count=row.count)


@strawberry.type(description="One explained step of the count.")
class ResultStep:
    kind: str = strawberry.field(description="A short tag, e.g. round, eliminate, fund.")
    message: str = strawberry.field(description="The step in words.")
    option: int | None = strawberry.field(description="The option number it is about, if any.")
    values: JSON = strawberry.field(description="The exact figures the message quotes.")


@strawberry.type(description="A published result, as computed from the exported ballots.")
class BallotResult:
    method: ResultMethod = strawberry.field(description="The counting method.")
    data: JSON = strawberry.field(
        description="The whole result as JSON (exact fractions as strings), as recomputed by "
        "`moot results verify`."
    )
    steps: list[ResultStep] = strawberry.field(description="The count, step by step.")


@strawberry.type(description="The caller's own ballot in a vote.")
class MyVote:
    content: JSON = strawberry.field(
        description="Option numbers chosen (in order of preference when ranked), or "
        '`{"<statement number>": 1 | -1 | 0}`.'
    )
    changes: int = strawberry.field(description="How many times it has been changed.")
    cast_at: dt.datetime = strawberry.field(description="When it was first cast.")
    updated_at: dt.datetime = strawberry.field(description="When it was last changed.")
    persona_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: CastRow | Cast) -> Self:
        return cls(
            content=row.content,
            changes=row.changes,
            cast_at=row.cast_at,
            updated_at=row.updated_at,
            persona_id=row.persona_id,
        )

    @strawberry.field(description="The persona it was last cast as.")
    async def persona(self, info: Info) -> PersonaRef | None:
        from server.personas.gql import Persona

        return await related_or_none(info, persona_loaders.persona_by_id, self.persona_id, Persona)


@strawberry.type(
    description="A vote of a call: support, approval, budgeting, ranked or statements."
)
class Ballot(RowNode):
    loader = staticmethod(loaders.ballot_by_id)
    id: relay.NodeID[int]
    kind: BallotKind = strawberry.field(description="How people answer.")
    title: str = strawberry.field(description="The vote's title.")
    description: str = strawberry.field(description="What is being decided (Markdown).")
    status: BallotStatus = strawberry.field(description="Draft, open, closed or published.")
    max_choices: int | None = strawberry.field(description="Most options one may choose.")
    budget: int | None = strawberry.field(description="Budget in pence (budgeting).")
    threshold: int | None = strawberry.field(description="Supports needed to go forward.")
    result_method: ResultMethod = strawberry.field(description="How the result is counted.")
    secret: bool = strawberry.field(description="Whether the published ballots are anonymous.")
    live_results: bool = strawberry.field(description="Whether tallies are public during voting.")
    closed_at: dt.datetime | None = strawberry.field(description="When voting closed.")
    published_at: dt.datetime | None = strawberry.field(description="When the result came out.")
    export_sha256: str | None = strawberry.field(
        description="SHA-256 of the exported ballots file the result was computed from."
    )
    phase_id: strawberry.Private[int]
    call_id: strawberry.Private[int]
    row: strawberry.Private[BallotRow]

    @classmethod
    def from_row(cls, row: BallotRow) -> Self:
        return cls(
            id=row.id,
            kind=row.kind,
            title=row.title,
            description=row.description,
            status=row.status,
            max_choices=row.max_choices,
            budget=row.budget,
            threshold=row.threshold,
            result_method=row.result_method,
            secret=row.secret,
            live_results=row.live_results,
            closed_at=row.closed_at,
            published_at=row.published_at,
            export_sha256=row.export_sha256,
            phase_id=row.phase_id,
            call_id=row.call_id,
            row=row,
        )

    @strawberry.field(description="The rules of the vote in words.")
    def rules(self) -> list[str]:
        return rules_in_words(self.row)

    @strawberry.field(description="Who may vote, in words.")
    def eligibility(self) -> str:
        return describe(self.row.eligibility)

    @strawberry.field(description="When voting closes: the end of the call's voting phase.")
    async def closes_at(self, info: Info) -> dt.datetime:
        phase = await info.context.loaders.get(call_loaders.phase_by_id).load(self.phase_id)
        assert phase is not None  # a foreign key guarantees it
        return phase.ends_at

    @strawberry.field(description="The call the vote belongs to.")
    async def call(self, info: Info) -> CallRef:
        from server.calls.gql import Call

        return await related(info, call_loaders.call_by_id, self.call_id, Call)

    @strawberry.field(description="The options, in ballot order.")
    async def options(self, info: Info) -> list[BallotOption]:
        rows = await info.context.loaders.get(loaders.options_by_ballot).load(self.id)
        return [BallotOption.from_row(r) for r in rows]

    @strawberry.field(description="How many people have voted (each person once).")
    async def turnout(self, info: Info) -> int:
        return await info.context.loaders.get(loaders.turnout_by_ballot).load(self.id)

    @strawberry.field(description="How many times ballots were changed, summed over everyone.")
    async def changes_count(self, info: Info) -> int:
        return await info.context.loaders.get(loaders.changes_by_ballot).load(self.id)

    @strawberry.field(
        description="Running tallies while voting is open, when the vote shows live results; "
        "null otherwise."
    )
    async def live_tally(self, info: Info) -> list[TallyEntry] | None:
        if not results.show_live(self.row):
            return None
        rows = await info.context.loaders.get(loaders.tallies_by_ballot).load(self.id)
        return [TallyEntry.from_row(r) for r in rows]

    @strawberry.field(description="The published result, or null until it is published.")
    def result(self) -> BallotResult | None:
        if self.row.status != BallotStatus.PUBLISHED or self.row.result is None:
            return None
        data = self.row.result
        steps = [
            ResultStep(
                kind=s.get("kind", ""),
                message=s.get("message", ""),
                option=s.get("option"),
                values=cast(JSON, s.get("values") or {}),
            )
            for s in data.get("steps", [])
        ]
        return BallotResult(method=self.row.result_method, data=cast(JSON, data), steps=steps)

    @strawberry.field(description="The signed-in caller's own ballot in this vote, if any.")
    async def my_vote(self, info: Info) -> MyVote | None:
        account = info.context.caller.account
        if account is None or account.person_id is None:
            return None
        loader = info.context.loaders.get(loaders.cast_by_person_ballot)
        row = await loader.load((account.person_id, self.id))
        return MyVote.from_row(row) if row is not None else None
