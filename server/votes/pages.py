"""Voting pages: a vote with its rules in words and a form for its kind; the budget check
(htmx, or a "Check my choices" button without JavaScript); results with the count explained
step by step; the exported ballots file, the ballot's definition and how to verify the result.

``call_votes_context`` feeds the call page's section listing the call's votes. Organisers'
pages are in ``admin_pages``. Every form works without JavaScript."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server.calls.models import Call, Phase, PhaseKind
from server.errors import Forbidden, MootError, NotFound, ValidationFailed
from server.identity import auth
from server.identity.models import Account, Role
from server.identity.service import has_role
from server.personas import service as personas
from server.votes import admin_pages, casting, counting, export, results
from server.votes.eligibility import describe
from server.votes.methods import format_money
from server.votes.models import Ballot, BallotKind, BallotOption, BallotStatus, CastBallot
from server.votes.service import get_ballot, options_of
from server.votes.tables import opinion_map, result_tables, tally_table
from server.votes.turnout import breakdowns, changes_count, eligible_count, show_live
from server.web import now, render

STATEMENT_ANSWERS = (("1", "Agree"), ("-1", "Disagree"), ("0", "Pass"))
KIND_WORDS = {
    BallotKind.SUPPORT: "Support the options you want to go forward.",
    BallotKind.APPROVAL: "Choose the options you approve of.",
    BallotKind.BUDGETING: "Choose projects to fund, within the budget.",
    BallotKind.RANKED: "Rank the options in order of preference: 1 for your first choice.",
    BallotKind.STATEMENTS: "Say whether you agree or disagree with each statement, or pass.",
}
STATUS_WORDS = {
    BallotStatus.DRAFT: "Not open yet",
    BallotStatus.OPEN: "Voting open",
    BallotStatus.CLOSED: "Voting closed, result not yet published",
    BallotStatus.PUBLISHED: "Result published",
}


@dataclass
class Choices:
    """What the form shows as chosen: the person's vote, or what they just sent."""

    chosen: set[int] = field(default_factory=set)
    ranks: dict[int, str] = field(default_factory=dict)
    answers: dict[int, str] = field(default_factory=dict)
    persona_id: int | None = None

    @classmethod
    def of_vote(cls, kind: BallotKind, row: CastBallot | None) -> Choices:
        if row is None:
            return cls()
        if kind == BallotKind.STATEMENTS:
            return cls(answers={int(k): str(v) for k, v in row.content.items()})
        if kind == BallotKind.RANKED:
            return cls(ranks={o: str(i) for i, o in enumerate(row.content, start=1)})
        return cls(chosen=set(row.content), persona_id=row.persona_id)


def rules_in_words(ballot: Ballot) -> list[str]:
    words = [KIND_WORDS[ballot.kind]]
    if ballot.kind == BallotKind.APPROVAL and ballot.max_choices:
        words.append(f"Choose up to {ballot.max_choices}.")
    if ballot.kind == BallotKind.BUDGETING and ballot.budget:
        words.append(f"The budget is {format_money(ballot.budget)}.")
    if ballot.kind == BallotKind.SUPPORT and ballot.threshold:
        words.append(f"An option needs {ballot.threshold:,} supports to go forward.")
    words.append(describe(ballot.eligibility))
    words.append(
        "Your vote is secret: the published ballots do not say who cast them."
        if ballot.secret
        else "This vote is public: the published ballots show the persona each was cast as."
    )
    return words


def budget_words(ballot: Ballot, options: list[BallotOption], chosen: set[int]) -> str:
    budget = ballot.budget or 0
    spent = sum(o.cost or 0 for o in options if o.id in chosen)
    if spent > budget:
        return (
            f"Over budget: your choices cost {format_money(spent)}, "
            f"{format_money(spent - budget)} more than the {format_money(budget)} to share."
        )
    return f"{format_money(budget - spent)} left of {format_money(budget)}"


def parse_choices(ballot: Ballot, options: list[BallotOption], form: FormData) -> Choices:
    """The form as the page shows it again (nothing is checked here)."""
    known = {o.id for o in options}
    sent = [str(v) for v in form.getlist("option")]
    chosen = {int(v) for v in sent if v.isdigit() and len(v) < 18 and int(v) in known}
    ranks = {o.id: str(form.get(f"rank-{o.id}", "")).strip() for o in options}
    answers = {o.id: str(form.get(f"statement-{o.id}", "")) for o in options}
    persona = str(form.get("persona_id", ""))
    return Choices(
        chosen=chosen,
        ranks={k: v for k, v in ranks.items() if v},
        answers={k: v for k, v in answers.items() if v},
        persona_id=int(persona) if persona.isdigit() and len(persona) < 18 else None,
    )


def content_of(ballot: Ballot, options: list[BallotOption], form: FormData) -> Any:
    """The ballot content a form asks for, in the API's terms (checked again when cast)."""
    if ballot.kind == BallotKind.STATEMENTS:
        answers: dict[str, int] = {}
        for o in options:
            raw = str(form.get(f"statement-{o.id}", ""))
            if not raw:
                continue
            if raw not in {"1", "-1", "0"}:
                raise ValidationFailed("Answer agree, disagree or pass.", field="choices")
            answers[str(o.id)] = int(raw)
        return answers
    if ballot.kind == BallotKind.RANKED:
        ranked: dict[int, int] = {}
        for o in options:
            raw = str(form.get(f"rank-{o.id}", "")).strip()
            if not raw:
                continue
            if not raw.isdigit() or not 1 <= int(raw) <= len(options):
                raise ValidationFailed(
                    f"Ranks are whole numbers from 1 to {len(options)}.", field="choices"
                )
            if int(raw) in ranked:
                raise ValidationFailed(
                    f"You gave rank {raw} to two options; give each option its own rank.",
                    field="choices",
                )
            ranked[int(raw)] = o.id
        return [ranked[r] for r in sorted(ranked)]
    picked = []
    for value in form.getlist("option"):
        text = str(value)
        if not text.isdigit() or len(text) > 18:
            raise ValidationFailed("Choose from the options listed.", field="choices")
        picked.append(int(text))
    return picked


async def _phase(session: AsyncSession, ballot: Ballot) -> Phase:
    phase = await session.get(Phase, ballot.phase_id)
    assert phase is not None  # a foreign key guarantees it
    return phase


async def _visible(session: AsyncSession, ballot_id: int, account: Account | None) -> Ballot:
    """Drafts are for the call's organisers only; anyone may see other votes."""
    ballot = await get_ballot(session, ballot_id)
    if ballot.status == BallotStatus.DRAFT and not await can_manage(session, account, ballot):
        raise NotFound("There is no such vote.")
    return ballot


async def can_manage(session: AsyncSession, account: Account | None, ballot: Ballot) -> bool:
    if account is None:
        return False
    call = await session.get(Call, ballot.call_id)
    assert call is not None
    return await has_role(session, account.id, Role.ORGANISER, organiser_id=call.organiser_id)


async def my_vote(session: AsyncSession, ballot_id: int, account: Account) -> CastBallot | None:
    if account.person_id is None:
        return None
    return await session.scalar(
        select(CastBallot).where(
            CastBallot.ballot_id == ballot_id, CastBallot.person_id == account.person_id
        )
    )


async def _ballot_page(
    request: Request,
    ballot_id: int,
    *,
    choices: Choices | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    checked: bool = False,
) -> Response:
    account = await auth.current_account(request)
    moment = now()
    async with request.app.state.db.session() as session:
        ballot = await _visible(session, ballot_id, account)
        call = await session.get(Call, ballot.call_id)
        phase = await _phase(session, ballot)
        options = await options_of(session, ballot.id)
        mine = await my_vote(session, ballot.id, account) if account else None
        own = await personas.personas_of(session, account.id) if account else []
        manager = await can_manage(session, account, ballot)
        turnout = await casting.turnout(session, ballot.id)
    shown = choices if choices is not None else Choices.of_vote(ballot.kind, mine)
    if shown.persona_id is None and mine is not None:
        shown.persona_id = mine.persona_id
    is_open = ballot.status == BallotStatus.OPEN and phase.starts_at <= moment < phase.ends_at
    return render(
        request,
        "votes/ballot.html",
        {
            "ballot": ballot,
            "call": call,
            "phase": phase,
            "options": options,
            "rules": rules_in_words(ballot),
            "status_words": STATUS_WORDS[ballot.status],
            "is_open": is_open,
            "not_started": ballot.status == BallotStatus.OPEN and moment < phase.starts_at,
            "mine": mine,
            "personas": own,
            "choices": shown,
            "errors": errors or {},
            "manager": manager,
            "turnout": turnout,
            "answers": STATEMENT_ANSWERS,
            "budget_text": budget_words(ballot, options, shown.chosen)
            if ballot.kind == BallotKind.BUDGETING
            else None,
            "checked": checked,
            "voted": request.query_params.get("voted") == "1" and mine is not None,
        },
        status=status,
    )


async def ballot_page(request: Request) -> Response:
    return await _ballot_page(request, request.path_params["id"])


def _errors(exc: MootError) -> dict[str, str]:
    if isinstance(exc, ValidationFailed) and exc.errors:
        return {("choices" if k not in {"persona_id"} else k): v for k, v in exc.errors.items()}
    return {"choices" if exc.field not in {"persona_id"} else "persona_id": exc.message}


async def cast_vote(request: Request) -> Response:
    form = await auth.read_form(request, max_fields=500)
    account = await auth.require_account(request)
    ballot_id: int = request.path_params["id"]
    async with request.app.state.db.session() as session:
        ballot = await _visible(session, ballot_id, account)
        options = await options_of(session, ballot.id)
    shown = parse_choices(ballot, options, form)
    try:
        persona = str(form.get("persona_id", ""))
        if not persona.isdigit() or len(persona) > 18:
            raise ValidationFailed("Choose who to vote as.", field="persona_id")
        content = content_of(ballot, options, form)
        async with request.app.state.db.session() as session, session.begin():
            await casting.cast(session, ballot.id, account, int(persona), content, now=now())
    except ValidationFailed as exc:
        return await _ballot_page(
            request, ballot_id, choices=shown, errors=_errors(exc), status=422
        )
    except Forbidden as exc:  # voting closed, not eligible, not your persona
        return await _ballot_page(
            request, ballot_id, choices=shown, errors=_errors(exc), status=403
        )
    return RedirectResponse(f"/votes/{ballot_id}?voted=1#your-vote", status_code=303)


async def check_budget(request: Request) -> Response:
    """What is left of the budget for the choices sent: a fragment for htmx, else the page."""
    form = await auth.read_form(request, max_fields=500)
    ballot_id: int = request.path_params["id"]
    account = await auth.current_account(request)
    async with request.app.state.db.session() as session:
        ballot = await _visible(session, ballot_id, account)
        options = await options_of(session, ballot.id)
    if ballot.kind != BallotKind.BUDGETING:
        raise NotFound("This vote has no budget.")
    shown = parse_choices(ballot, options, form)
    if request.headers.get("HX-Request") == "true":
        text = budget_words(ballot, options, shown.chosen)
        return render(request, "votes/_budget_left.html", {"budget_text": text})
    return await _ballot_page(request, ballot_id, choices=shown, checked=True)


# --- results ----------------------------------------------------------------------------------


async def _close_if_due(request: Request, ballot: Ballot, moment: dt.datetime) -> bool:
    if ballot.status != BallotStatus.OPEN:
        return False
    async with request.app.state.db.session() as session:
        phase = await _phase(session, ballot)
    if phase.ends_at > moment:
        return False
    async with request.app.state.db.session() as session, session.begin():
        await results.close_due_ballots(session, moment)
    return True


async def results_page(request: Request) -> Response:
    account = await auth.current_account(request)
    ballot_id: int = request.path_params["id"]
    moment = now()
    async with request.app.state.db.session() as session:
        ballot = await _visible(session, ballot_id, account)
    if await _close_if_due(request, ballot, moment):
        pass
    async with request.app.state.db.session() as session:
        ballot = await _visible(session, ballot_id, account)
        call = await session.get(Call, ballot.call_id)
        phase = await _phase(session, ballot)
        options = await options_of(session, ballot.id)
        titles = {o.id: o.title for o in options}
        turnout = await casting.turnout(session, ballot.id)
        changes = await changes_count(session, ballot.id)
        manager = await can_manage(session, account, ballot)
        published = ballot.status == BallotStatus.PUBLISHED
        live = show_live(ballot)
        tally = await casting.tallies(session, ballot.id) if live else {}
        eligible = await eligible_count(session, ballot, moment) if published else None
        groups = await breakdowns(session, ballot, moment) if published else None
    tables = result_tables(ballot, titles, ballot.result or {}) if published else []
    return render(
        request,
        "votes/results.html",
        {
            "ballot": ballot,
            "call": call,
            "phase": phase,
            "options": options,
            "titles": titles,
            "status_words": STATUS_WORDS[ballot.status],
            "turnout": turnout,
            "changes": changes,
            "eligible": eligible,
            "turnout_share": f"{turnout / eligible:.0%}" if eligible else None,
            "published": published,
            "live_table": tally_table(ballot.kind, options, tally) if live else None,
            "tables": tables,
            "steps": (ballot.result or {}).get("steps", []) if published else [],
            "groups": groups,
            "opinion_map": opinion_map(ballot.result or {})
            if published and ballot.kind == BallotKind.STATEMENTS
            else None,
            "manager": manager,
        },
    )


async def _published(request: Request) -> tuple[Ballot, list[BallotOption]]:
    account = await auth.current_account(request)
    async with request.app.state.db.session() as session:
        ballot = await _visible(session, request.path_params["id"], account)
        options = await options_of(session, ballot.id)
    return ballot, options


async def ballots_csv(request: Request) -> Response:
    ballot, _ = await _published(request)
    if ballot.status != BallotStatus.PUBLISHED:
        raise NotFound("The ballots are published with the result, once voting has closed.")
    async with request.app.state.db.session() as session:
        text = await export.published_file(session, ballot.id)
    if text is None:
        raise NotFound("The exported ballots file is missing.")
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="ballots-{ballot.id}.csv"',
            "X-Content-SHA256": ballot.export_sha256 or "",
        },
    )


async def definition_json(request: Request) -> Response:
    ballot, options = await _published(request)
    return JSONResponse(counting.definition(ballot, options))


async def verify_page(request: Request) -> Response:
    ballot, options = await _published(request)
    base = f"{request.url.scheme}://{request.url.netloc}"
    return render(
        request,
        "votes/verify.html",
        {
            "ballot": ballot,
            "options": options,
            "published": ballot.status == BallotStatus.PUBLISHED,
            "base": base,
            "definition": json.dumps(counting.definition(ballot, options)["tie_order"]),
        },
    )


# --- the call page's section ------------------------------------------------------------------


async def call_votes_context(request: Request, session: AsyncSession, call: Call) -> dict[str, Any]:
    """What calls/call.html's votes section (votes/_call_votes.html) needs."""
    account = await auth.current_account(request)
    organiser = account is not None and await has_role(
        session, account.id, Role.ORGANISER, organiser_id=call.organiser_id
    )
    query = select(Ballot).where(Ballot.call_id == call.id).order_by(Ballot.id)
    if not organiser:
        query = query.where(Ballot.status != BallotStatus.DRAFT)
    rows = list(await session.scalars(query))
    has_voting = (
        await session.scalar(
            select(Phase.id).where(Phase.call_id == call.id, Phase.kind == PhaseKind.VOTING)
        )
        is not None
    )
    return {
        "votes": [{"ballot": b, "status_words": STATUS_WORDS[b.status]} for b in rows],
        "votes_organiser": organiser,
        "votes_can_create": organiser and has_voting,
    }


def _routes() -> list[BaseRoute]:
    return [
        Route("/votes/{id:id}", ballot_page, methods=["GET"], name="ballot"),
        Route("/votes/{id:id}", cast_vote, methods=["POST"]),
        Route("/votes/{id:id}/check", check_budget, methods=["POST"]),
        Route("/votes/{id:id}/results", results_page, methods=["GET"], name="ballot_results"),
        Route("/votes/{id:id}/ballots.csv", ballots_csv, methods=["GET"]),
        Route("/votes/{id:id}/definition.json", definition_json, methods=["GET"]),
        Route("/votes/{id:id}/verify", verify_page, methods=["GET"]),
        *admin_pages.routes,
    ]


routes: list[BaseRoute] = _routes()
