"""The votes domain's mutations: casting (or changing) a ballot, and the organisers' create,
open, close and publish."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from server.api.context import Info
from server.api.payloads import UserError, attempt
from server.api.relay import related_or_none
from server.calls.models import Call as CallRow
from server.errors import Forbidden, NotFound, ValidationFailed
from server.identity.models import Account, Role, TokenScope
from server.identity.service import has_role
from server.votes import casting, loaders, results, service
from server.votes.casting import Cast, VotingClosed
from server.votes.eligibility import NotEligible
from server.votes.gql_types import Ballot, MyVote
from server.votes.models import Ballot as BallotRow
from server.votes.models import BallotKind, ResultMethod


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
    my_vote: MyVote | None = strawberry.field(description="Your ballot as now counted.")
    errors: list[UserError] = strawberry.field(description="Problems with the input.")
    ballot_id: strawberry.Private[int | None] = None

    @strawberry.field(description="The vote, when the ballot counted.")
    async def ballot(self, info: Info) -> Ballot | None:
        # Loaded only when asked for: casting itself reads no more of the vote than it needs.
        return await related_or_none(info, loaders.ballot_by_id, self.ballot_id, Ballot)


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

        async def work() -> Cast:
            target = _row_id(ballot_id, "Ballot", "ballot_id")
            persona = _row_id(persona_id, "Persona", "persona_id")
            async with info.context.db.session() as session, session.begin():
                return await casting.cast(
                    session,
                    target,
                    account,
                    persona,
                    choices,
                    now=info.context.now,
                    convert=choices_content,
                )

        try:
            row, errors = await attempt(work)
        except (VotingClosed, NotEligible) as exc:
            return CastBallotPayload(
                my_vote=None,
                errors=[
                    UserError(field=exc.field or "ballot_id", message=exc.message, code=exc.code)
                ],
            )
        if row is None:
            return CastBallotPayload(my_vote=None, errors=errors)
        return CastBallotPayload(
            my_vote=MyVote.from_row(row), errors=[], ballot_id=int(ballot_id.node_id)
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
