"""Votes in the API: ballots with their options, rules, turnout, live tallies (when the vote
allows), the published result, the caller's own ballot; casting, and organisers' mutations."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Self, cast

import strawberry
from sqlalchemy import select
from strawberry import relay
from strawberry.scalars import JSON

from server import live
from server.api.context import Info
from server.api.payloads import UserError, attempt
from server.api.relay import RowNode
from server.calls import loaders as call_loaders
from server.calls.models import Call as CallRow
from server.errors import Forbidden, NotFound, ValidationFailed
from server.identity.models import Account, Role, TokenScope
from server.identity.service import has_role
from server.personas import loaders as persona_loaders
from server.votes import casting, loaders, results, service
from server.votes.casting import VotingClosed
from server.votes.eligibility import NotEligible, describe
from server.votes.models import Ballot as BallotRow
from server.votes.models import BallotKind, BallotStatus, ResultMethod
from server.votes.models import BallotOption as OptionRow
from server.votes.models import CastBallot as CastRow
from server.votes.models import Tally as TallyRow
from server.votes.pages import rules_in_words
from server.web import now

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

        if self.idea_id is None:
            return None
        row = await info.context.loaders.get(loaders.visible_idea_by_id).load(self.idea_id)
        return Idea.from_row(row) if row is not None else None


@strawberry.type(description="A running count of one option during voting.")
class TallyEntry:
    option_number: int = strawberry.field(description="The option's number.")
    key: str = strawberry.field(
        description="`count` (choices, or first preferences when ranked), or `agree`, "
        "`disagree` and `pass` for statements."
    )
    count: int = strawberry.field(description="How many.")


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
    def from_row(cls, row: CastRow) -> Self:
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

        if self.persona_id is None:
            return None
        row = await info.context.loaders.get(persona_loaders.persona_by_id).load(self.persona_id)
        return Persona.from_row(row) if row is not None else None


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

        row = await info.context.loaders.get(call_loaders.call_by_id).load(self.call_id)
        assert row is not None  # a foreign key guarantees it
        return Call.from_row(row)

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
        return [TallyEntry(option_number=r.option_id, key=r.key, count=r.count) for r in rows]

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


@strawberry.type(
    description="A vote's live results at one moment: sent when you subscribe to `ballotTally` "
    "and again after each ballot cast."
)
class BallotTally:
    ballot: Ballot = strawberry.field(description="The vote.")
    turnout: int = strawberry.field(description="How many people have voted so far.")
    tally: list[TallyEntry] = strawberry.field(
        description="The running tally, by option number then key (as `Ballot.liveTally`)."
    )
    at: dt.datetime = strawberry.field(description="When these figures were read.")


class LiveResultsOff(Forbidden):
    code = "LIVE_RESULTS_OFF"
    default_message = "This vote does not show live results."


async def _read_tally(info: Info, ballot_id: int) -> BallotTally | None:
    """The vote's figures now, or None once it no longer shows live results."""
    async with info.context.db.session() as session:
        row = await session.get(BallotRow, ballot_id)
        if row is None or not results.show_live(row):
            return None
        rows = await session.scalars(
            select(TallyRow)
            .where(TallyRow.ballot_id == ballot_id)
            .order_by(TallyRow.option_id, TallyRow.key)
        )
        entries = [TallyEntry(option_number=r.option_id, key=r.key, count=r.count) for r in rows]
        turnout = await casting.turnout(session, ballot_id)
    info.context.refresh(now())
    return BallotTally(ballot=Ballot.from_row(row), turnout=turnout, tally=entries, at=now())


async def _tallies(info: Info, ballot_id: int) -> AsyncGenerator[BallotTally, None]:
    """Listen first, then read: a cast committed in between is in the first figures or in a
    later message. A burst of casts is answered with one fresh read. Ends (completes) when the
    vote closes; leaving the ``async with`` drops the broker subscription."""
    broker = live.broker_for(info.context.request.app)
    async with broker.subscribe(casting.topic(ballot_id)) as sub:
        current = await _read_tally(info, ballot_id)
        while current is not None:
            yield current
            try:
                message = await sub.get(wait=LIVE_WAIT)
                while message is None:
                    message = await sub.get(wait=LIVE_WAIT)
                sub.drain()
            except live.SubscriptionClosed:
                return
            current = await _read_tally(info, ballot_id)


LIVE_WAIT = 30.0  # seconds a subscription waits for news before checking in again


@strawberry.type
class VotesSubscription:
    """Subscriptions of this domain (mixed into the schema's Subscription)."""

    @strawberry.subscription(
        description="A vote's live results: the current tally at once, then a fresh one after "
        "each ballot cast, until voting closes (then the subscription completes). Only for "
        "votes whose organiser shows live results while voting is open; otherwise refused "
        "with `LIVE_RESULTS_OFF`. Anyone may listen."
    )
    async def ballot_tally(
        self, info: Info, ballot_id: relay.GlobalID
    ) -> AsyncIterator[BallotTally]:
        if ballot_id.type_name != "Ballot" or not ballot_id.node_id.isdigit():
            raise NotFound("There is no such vote.", field="ballot_id")
        pk = int(ballot_id.node_id) if len(ballot_id.node_id) <= 18 else 0
        async with info.context.db.session() as session:
            row = await session.get(BallotRow, pk)
        if row is None or row.status == BallotStatus.DRAFT:
            raise NotFound("There is no such vote.", field="ballot_id")
        if not results.show_live(row):
            if row.status == BallotStatus.OPEN:
                raise LiveResultsOff(
                    "This vote does not show live results: its organiser publishes the result "
                    "after voting closes (`Ballot.result`).",
                    field="ballot_id",
                )
            raise LiveResultsOff(
                "Voting has closed, so there are no live results: read the published result "
                "(`Ballot.result`) once it is out.",
                field="ballot_id",
            )
        return _tallies(info, pk)


async def ballots_of_call(info: Info, call_id: int) -> list[Ballot]:
    """The votes of a call (drafts left out), for ``Call.ballots``."""
    rows = await info.context.loaders.get(loaders.public_ballots_by_call).load(call_id)
    return [Ballot.from_row(r) for r in rows]


# --- Mutations ----------------------------------------------------------------------------


def _row_id(gid: relay.GlobalID, type_name: str, field: str) -> int:
    if gid.type_name != type_name or not gid.node_id.isdigit() or len(gid.node_id) > 18:
        raise ValidationFailed(f"That is not a {type_name.lower()} id.", field=field)
    return int(gid.node_id)


def _option_number(value: Any) -> int:
    """An option given as its number, or its global id."""
    if isinstance(value, bool):
        raise ValidationFailed("Choose from the options listed.", field="choices")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if value.isdigit() and len(value) <= 18:
            return int(value)
        try:
            gid = relay.GlobalID.from_id(value)
        except Exception:  # any undecodable id is bad input
            raise ValidationFailed(
                f"{value!r} is not an option of this vote.", field="choices"
            ) from None
        return _row_id(gid, "BallotOption", "choices")
    raise ValidationFailed("Choose from the options listed.", field="choices")


def choices_content(kind: BallotKind, choices: Any) -> Any:
    """``castBallot``'s choices in the stored form: numbers (or global ids) of options."""
    if kind == BallotKind.STATEMENTS:
        if not isinstance(choices, dict):
            raise ValidationFailed(
                'Answer statements as {"<statement number>": 1, -1 or 0}.', field="choices"
            )
        return {str(_option_number(k)): v for k, v in choices.items()}
    if not isinstance(choices, list):
        raise ValidationFailed("Give the option numbers you choose, as a list.", field="choices")
    return [_option_number(v) for v in choices]


@strawberry.type(description="The result of casting or changing a ballot.")
class CastBallotPayload:
    ballot: Ballot | None = strawberry.field(description="The vote, when the ballot counted.")
    my_vote: MyVote | None = strawberry.field(description="Your ballot as now counted.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


@strawberry.type(description="The result of creating, opening, closing or publishing a vote.")
class BallotPayload:
    ballot: Ballot | None = strawberry.field(description="The vote.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")


@strawberry.input(description="An option of a new vote.")
class BallotOptionInput:
    title: str = strawberry.field(description="The option in a line.")
    description: str = strawberry.field(default="", description="More about it (Markdown).")
    cost: int | None = strawberry.field(default=None, description="Cost in pence (budgeting).")
    idea_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The call's idea the option comes from."
    )


@strawberry.input(description="A new vote for a call's voting phase.")
class CreateBallotInput:
    kind: BallotKind = strawberry.field(description="How people answer.")
    title: str = strawberry.field(description="The vote's title.")
    options: list[BallotOptionInput] = strawberry.field(description="The options, in order.")
    result_method: ResultMethod = strawberry.field(description="How the result is counted.")
    description: str = strawberry.field(default="", description="What is being decided.")
    max_choices: int | None = strawberry.field(default=None, description="Approval limit.")
    budget: int | None = strawberry.field(default=None, description="Budget in pence.")
    threshold: int | None = strawberry.field(default=None, description="Support threshold.")
    eligibility: JSON | None = strawberry.field(
        default=None,
        description='Who may vote: {} for anyone signed in, or rules such as {"verified": true}, '
        '{"postcode_areas": ["EX"]}, {"min_age": 16}.',
    )
    secret: bool = strawberry.field(default=True, description="Anonymous published ballots.")
    live_results: bool = strawberry.field(default=False, description="Public running tallies.")


async def _require_organiser(session: Any, account: Account, call: CallRow) -> None:
    if not await has_role(session, account.id, Role.ORGANISER, organiser_id=call.organiser_id):
        raise Forbidden("Only the call's organisers and admins can manage its votes.")


async def _ballot_action(
    info: Info, ballot_id: relay.GlobalID, act: Callable[[Any, int, Account], Awaitable[BallotRow]]
) -> BallotPayload:
    account = info.context.require(TokenScope.PARTICIPATE)

    async def work() -> BallotRow:
        target = _row_id(ballot_id, "Ballot", "ballot_id")
        async with info.context.db.session() as session, session.begin():
            ballot = await service.get_ballot(session, target)
            call = await session.get(CallRow, ballot.call_id)
            assert call is not None
            await _require_organiser(session, account, call)
            return await act(session, target, account)

    row, errors = await attempt(work)
    return BallotPayload(ballot=Ballot.from_row(row) if row else None, errors=errors)


@strawberry.type
class VotesQuery:
    """Root query fields of this domain (mixed into the schema's Query)."""

    @strawberry.field(description="A vote by its id, or null (drafts are not public).")
    async def ballot(self, info: Info, id: relay.GlobalID) -> Ballot | None:
        if id.type_name != "Ballot" or not id.node_id.isdigit() or len(id.node_id) > 18:
            return None
        row = await info.context.loaders.get(loaders.ballot_by_id).load(int(id.node_id))
        if row is None or row.status == BallotStatus.DRAFT:
            return None
        return Ballot.from_row(row)


@strawberry.type
class VotesMutations:
    """Mutations of this domain (mixed into the schema's Mutation)."""

    @strawberry.mutation(
        description="Cast your ballot, or change it while voting is open, as one of your "
        "personas. `choices`: a list of option numbers (or option ids), in order of preference "
        'for ranked votes; for statements, {"<statement number>": 1 (agree), -1 (disagree) '
        "or 0 (pass)}. Whichever persona you use, you have one ballot."
    )
    async def cast_ballot(
        self, info: Info, ballot_id: relay.GlobalID, persona_id: relay.GlobalID, choices: JSON
    ) -> CastBallotPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> tuple[BallotRow, CastRow]:
            target = _row_id(ballot_id, "Ballot", "ballot_id")
            persona = _row_id(persona_id, "Persona", "persona_id")
            async with info.context.db.session() as session, session.begin():
                ballot = await session.get(BallotRow, target)
                if ballot is None or ballot.status == BallotStatus.DRAFT:
                    raise NotFound("There is no such vote.")
                content = choices_content(ballot.kind, choices)
                row = await casting.cast(
                    session, target, account, persona, content, now=info.context.now
                )
                return ballot, row

        try:
            done, errors = await attempt(work)
        except (VotingClosed, NotEligible) as exc:
            return CastBallotPayload(
                ballot=None,
                my_vote=None,
                errors=[
                    UserError(field=exc.field or "ballot_id", message=exc.message, code=exc.code)
                ],
            )
        if done is None:
            return CastBallotPayload(ballot=None, my_vote=None, errors=errors)
        ballot, row = done
        return CastBallotPayload(
            ballot=Ballot.from_row(ballot), my_vote=MyVote.from_row(row), errors=[]
        )

    @strawberry.mutation(
        description="Create a vote (a draft) for a call's voting phase (the call's organisers)."
    )
    async def create_ballot(
        self, info: Info, call_id: relay.GlobalID, input: CreateBallotInput
    ) -> BallotPayload:
        account = info.context.require(TokenScope.PARTICIPATE)

        async def work() -> BallotRow:
            target = _row_id(call_id, "Call", "call_id")
            rules: Any = input.eligibility if input.eligibility is not None else {}
            if not isinstance(rules, dict):
                raise ValidationFailed("Eligibility rules are an object.", field="eligibility")
            data = service.BallotInput(
                kind=input.kind,
                title=input.title,
                description=input.description,
                options=[
                    service.OptionInput(
                        o.title,
                        description=o.description,
                        cost=o.cost,
                        idea_id=_row_id(o.idea_id, "Idea", "options") if o.idea_id else None,
                    )
                    for o in input.options
                ],
                result_method=input.result_method,
                max_choices=input.max_choices,
                budget=input.budget,
                threshold=input.threshold,
                eligibility=rules,
                secret=input.secret,
                live_results=input.live_results,
            )
            async with info.context.db.session() as session, session.begin():
                call = await session.get(CallRow, target)
                if call is None:
                    raise NotFound("There is no such call.")
                await _require_organiser(session, account, call)
                return await service.create_ballot(session, call, data, actor=account.id)

        row, errors = await attempt(work)
        return BallotPayload(ballot=Ballot.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(description="Open a draft vote (the call's organisers).")
    async def open_ballot(self, info: Info, ballot_id: relay.GlobalID) -> BallotPayload:
        async def act(session: Any, target: int, account: Account) -> BallotRow:
            return await service.open_ballot(session, target, actor=account.id)

        return await _ballot_action(info, ballot_id, act)

    @strawberry.mutation(description="Close an open vote now, freezing the tally (organisers).")
    async def close_ballot(self, info: Info, ballot_id: relay.GlobalID) -> BallotPayload:
        async def act(session: Any, target: int, account: Account) -> BallotRow:
            return await service.close_ballot(
                session, target, now=info.context.now, actor=account.id
            )

        return await _ballot_action(info, ballot_id, act)

    @strawberry.mutation(
        description="Count a closed vote and publish its result with the exported ballots "
        "file and its SHA-256 (the call's organisers)."
    )
    async def publish_results(self, info: Info, ballot_id: relay.GlobalID) -> BallotPayload:
        async def act(session: Any, target: int, account: Account) -> BallotRow:
            return await results.publish_results(
                session, target, now=info.context.now, actor=account.id
            )

        return await _ballot_action(info, ballot_id, act)
