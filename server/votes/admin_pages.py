"""Organisers' voting pages: create a vote for a call's voting phase (options from the call's
ideas or written by the organiser), open it, close it and publish its result.

Only the call's organisers (``Role.ORGANISER`` for its organiser) and admins may use them."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.calls import service as calls
from server.calls.models import Call, Phase, PhaseKind
from server.errors import Conflict, Forbidden, ValidationFailed
from server.ideas.listing import listed
from server.ideas.models import Idea
from server.identity import auth
from server.identity.models import Account, Role
from server.identity.service import has_role
from server.votes import casting, results, service
from server.votes.models import Ballot, BallotKind, ResultMethod
from server.votes.service import METHODS, BallotInput, OptionInput
from server.web import now, render

BLANK_OPTIONS = 6
KIND_LABELS = {
    BallotKind.SUPPORT: "Support: people support any options; a threshold marks those that go on",
    BallotKind.APPROVAL: "Approval: people choose up to a number of options",
    BallotKind.BUDGETING: "Participatory budgeting: people choose projects within a budget",
    BallotKind.RANKED: "Ranked choice: people rank options; counted by instant runoff",
    BallotKind.STATEMENTS: "Statements: people agree, disagree or pass on each statement",
}
METHOD_LABELS = {
    ResultMethod.TOTALS: "Totals (support and approval votes)",
    ResultMethod.GREEDY: "Greedy: fund the most voted projects that fit (budgeting)",
    ResultMethod.EQUAL_SHARES: "Method of Equal Shares (budgeting)",
    ResultMethod.INSTANT_RUNOFF: "Instant runoff (ranked choice)",
    ResultMethod.OPINION_GROUPS: "Opinion groups (statements)",
}
DONE = {
    "created": "The vote is saved as a draft. Open it when you are ready.",
    "opened": "Voting is open.",
    "closed": "Voting is closed and the tally is frozen.",
    "published": "The result is published, with the exported ballots and their SHA-256.",
}


async def may_organise(session: AsyncSession, account: Account, call: Call) -> bool:
    return await has_role(session, account.id, Role.ORGANISER, organiser_id=call.organiser_id)


async def _organised_call(request: Request, session: AsyncSession) -> Call:
    account = await auth.require_account(request)
    call = await calls.get_call(session, request.path_params["slug"])
    if not await may_organise(session, account, call):
        raise Forbidden("Only the call's organisers and admins can set up its votes.")
    return call


async def _managed_ballot(request: Request, session: AsyncSession) -> tuple[Account, Ballot]:
    account = await auth.require_account(request)
    ballot = await service.get_ballot(session, request.path_params["id"])
    call = await session.get(Call, ballot.call_id)
    assert call is not None
    if not await may_organise(session, account, call):
        raise Forbidden("Only the call's organisers and admins can manage its votes.")
    return account, ballot


def pence(raw: str, field: str, *, required: bool = False) -> int | None:
    """Pounds as typed (``1,250`` or ``£99.50``) to whole pence."""
    text = raw.strip().replace(",", "").removeprefix("£")
    if not text:
        if required:
            raise ValidationFailed("Give an amount in pounds.", field=field)
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(
            "Give an amount in pounds, like 1250 or 99.50.", field=field
        ) from None
    if not amount.is_finite() or amount <= 0 or amount > Decimal(10) ** 12:
        raise ValidationFailed("Give an amount in pounds, more than nothing.", field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed("Give the amount to the penny at most.", field=field)
    return int(amount * 100)


def whole(raw: str, field: str, message: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 6 or int(text) < 1:
        raise ValidationFailed(message, field=field)
    return int(text)


def _text(form: FormData, name: str) -> str:
    return str(form.get(name, ""))


def parse(form: FormData, ideas: list[Idea], rows: int) -> BallotInput:
    try:
        kind = BallotKind(_text(form, "kind"))
    except ValueError:
        raise ValidationFailed("Choose the kind of vote.", field="kind") from None
    try:
        method = ResultMethod(_text(form, "result_method"))
    except ValueError:
        raise ValidationFailed("Choose how the result is counted.", field="result_method") from None
    costed = kind == BallotKind.BUDGETING
    options: list[OptionInput] = []
    chosen = {str(v) for v in form.getlist("idea")}
    for idea in ideas:
        if str(idea.id) in chosen:
            cost = (
                pence(_text(form, f"idea-{idea.id}-cost"), f"idea-{idea.id}-cost")
                if costed
                else None
            )
            options.append(OptionInput(idea.title, cost=cost, idea_id=idea.id))
    for i in range(rows):
        title = _text(form, f"option-{i}-title").strip()
        if not title:
            continue
        cost = pence(_text(form, f"option-{i}-cost"), f"option-{i}-cost") if costed else None
        options.append(
            OptionInput(title, description=_text(form, f"option-{i}-description"), cost=cost)
        )
    rules: dict[str, Any] = {}
    if _text(form, "who") == "verified":
        rules["verified"] = True
    areas = [a.strip().upper() for a in _text(form, "postcode_areas").split(",") if a.strip()]
    if areas:
        rules["postcode_areas"] = areas
    age = whole(_text(form, "min_age"), "min_age", "Give the minimum age in whole years.")
    if age is not None:
        rules["min_age"] = age
    return BallotInput(
        kind=kind,
        title=_text(form, "title"),
        description=_text(form, "description"),
        options=options,
        result_method=method,
        max_choices=whole(
            _text(form, "max_choices"), "max_choices", "Give the number of choices as a number."
        ),
        budget=pence(_text(form, "budget"), "budget") if costed else None,
        threshold=whole(
            _text(form, "threshold"), "threshold", "Give the threshold as a whole number."
        ),
        eligibility=rules,
        secret=_text(form, "secret") != "public",
        live_results=form.get("live_results") == "on",
    )


async def _call_ideas(session: AsyncSession, call: Call) -> list[Idea]:
    return list(
        await session.scalars(
            select(Idea).where(Idea.call_id == call.id, *listed()).order_by(Idea.title, Idea.id)
        )
    )


def _form_values(form: FormData | None) -> dict[str, Any]:
    if form is None:
        return {"kind": "", "result_method": "", "secret": "secret", "who": "anyone", "ideas": []}
    values: dict[str, Any] = {k: str(v) for k, v in form.items()}
    values["ideas"] = [str(v) for v in form.getlist("idea")]
    return values


async def _render_form(
    request: Request,
    slug: str,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    async with request.app.state.db.session() as session:
        request.path_params["slug"] = slug
        call = await _organised_call(request, session)
        ideas = await _call_ideas(session, call)
        voting = await session.scalar(
            select(Phase).where(Phase.call_id == call.id, Phase.kind == PhaseKind.VOTING).limit(1)
        )
    return render(
        request,
        "votes/new.html",
        {
            "call": call,
            "ideas": ideas,
            "voting": voting,
            "values": values,
            "errors": errors,
            "rows": BLANK_OPTIONS,
            "kinds": KIND_LABELS,
            "methods": METHOD_LABELS,
            "methods_for": {k.value: sorted(m.value for m in v) for k, v in METHODS.items()},
        },
        status=status,
    )


async def new_page(request: Request) -> Response:
    return await _render_form(
        request, request.path_params["slug"], values=_form_values(None), errors={}
    )


async def create(request: Request) -> Response:
    form = await auth.read_form(request, max_fields=400)
    account = await auth.require_account(request)
    slug = request.path_params["slug"]
    try:
        async with request.app.state.db.session() as session, session.begin():
            call = await _organised_call(request, session)
            ideas = await _call_ideas(session, call)
            data = parse(form, ideas, BLANK_OPTIONS)
            ballot = await service.create_ballot(session, call, data, actor=account.id)
            ballot_id = ballot.id
    except ValidationFailed as exc:
        errors = exc.errors or {exc.field or "title": exc.message}
        return await _render_form(
            request, slug, values=_form_values(form), errors=errors, status=422
        )
    return RedirectResponse(f"/votes/{ballot_id}/manage?done=created", status_code=303)


async def _manage(
    request: Request, *, done: str | None, error: str | None, status: int = 200
) -> Response:
    async with request.app.state.db.session() as session:
        _, ballot = await _managed_ballot(request, session)
        call = await session.get(Call, ballot.call_id)
        phase = await session.get(Phase, ballot.phase_id)
        options = await service.options_of(session, ballot.id)
        turnout = await casting.turnout(session, ballot.id)
    return render(
        request,
        "votes/manage.html",
        {
            "ballot": ballot,
            "call": call,
            "phase": phase,
            "options": options,
            "turnout": turnout,
            "done": done,
            "error": error,
        },
        status=status,
    )


async def manage_page(request: Request) -> Response:
    return await _manage(request, done=DONE.get(request.query_params.get("done", "")), error=None)


async def _act(request: Request, action: str) -> Response:
    await auth.read_form(request)
    moment = now()
    try:
        async with request.app.state.db.session() as session, session.begin():
            account, ballot = await _managed_ballot(request, session)
            if action == "opened":
                await service.open_ballot(session, ballot.id, actor=account.id)
            elif action == "closed":
                await service.close_ballot(session, ballot.id, now=moment, actor=account.id)
            else:
                await results.publish_results(session, ballot.id, now=moment, actor=account.id)
            ballot_id = ballot.id
    except Conflict as exc:
        return await _manage(request, done=None, error=exc.message, status=409)
    return RedirectResponse(f"/votes/{ballot_id}/manage?done={action}", status_code=303)


async def open_vote(request: Request) -> Response:
    return await _act(request, "opened")


async def close_vote(request: Request) -> Response:
    return await _act(request, "closed")


async def publish_vote(request: Request) -> Response:
    return await _act(request, "published")


routes = [
    Route("/calls/{slug:str}/votes/new", new_page, methods=["GET"]),
    Route("/calls/{slug:str}/votes", create, methods=["POST"]),
    Route("/votes/{id:id}/manage", manage_page, methods=["GET"]),
    Route("/votes/{id:id}/open", open_vote, methods=["POST"]),
    Route("/votes/{id:id}/close", close_vote, methods=["POST"]),
    Route("/votes/{id:id}/publish", publish_vote, methods=["POST"]),
]
