"""Voting in the browser's terms (forms posted with httpx): each kind of vote, changing a vote,
every kind of bad input (nothing changes), the budget check with and without htmx, and
organisers creating and opening a vote from the page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from server.calls.models import Call, Phase
from server.identity.keys import Keys
from server.identity.models import Account, Role
from server.identity.service import grant_role
from server.identity.verification import VerifiedIdentity, attach
from server.personas.models import Persona
from server.votes import pages, service
from server.votes.models import Ballot, BallotKind, BallotStatus, CastBallot
from tests.factories import csrf_token, make_account, make_idea, make_persona, now, sign_in
from tests.votes.factories import make_ballot, make_voting_call

KEYS = Keys(secret=b"s" * 32, identity_pepper=b"p" * 32)


async def voter(
    session: AsyncSession, client: httpx.AsyncClient | None = None, **claims: object
) -> tuple[Account, Persona]:
    """A signed-in resident with a persona (verified with ``claims``, if any)."""
    account = await make_account(session)
    if claims:
        identity = VerifiedIdentity(
            method="code", identity_key=KEYS.identity_key("t", f"{account.id}"), claims=dict(claims)
        )
        await attach(session, account, identity, actor=account.id)
    persona = await make_persona(session, account)
    await session.flush()
    if client is not None:
        await sign_in(client, session, account)
    return account, persona


async def option_ids(session: AsyncSession, ballot_id: int) -> list[int]:
    return [o.id for o in await service.options_of(session, ballot_id)]


async def stored(session: AsyncSession, ballot_id: int) -> list[CastBallot]:
    rows = await session.scalars(
        select(CastBallot)
        .where(CastBallot.ballot_id == ballot_id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


def form_for(kind: BallotKind, o: list[int]) -> tuple[dict[str, Any], Any]:
    """A filled-in form for each kind of vote, and the content it should store."""
    if kind == BallotKind.SUPPORT:
        return {"option": [str(o[0]), str(o[2])]}, [o[0], o[2]]
    if kind == BallotKind.APPROVAL:
        return {"option": [str(o[1]), str(o[0])]}, [o[0], o[1]]
    if kind == BallotKind.BUDGETING:
        return {"option": [str(o[0]), str(o[1])]}, [o[0], o[1]]  # £200 + £400 of £1,000
    if kind == BallotKind.RANKED:
        return {f"rank-{o[2]}": "1", f"rank-{o[0]}": "2", f"rank-{o[1]}": ""}, [o[2], o[0]]
    return (
        {f"statement-{o[0]}": "1", f"statement-{o[1]}": "-1", f"statement-{o[2]}": "0"},
        {str(o[0]): 1, str(o[1]): -1, str(o[2]): 0},
    )


@pytest.mark.parametrize("kind", list(BallotKind))
async def test_each_kind_of_vote_cast_from_its_form(
    client: httpx.AsyncClient, session: AsyncSession, kind: BallotKind
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call, kind)
    o = await option_ids(session, ballot.id)
    _, persona = await voter(session, client)
    page = await client.get(f"/votes/{ballot.id}")
    assert page.status_code == 200
    assert "Anyone signed in can vote." in page.text
    assert "Voting closes" in page.text and "in 7 days" in page.text
    assert persona.display_name in page.text
    data, expected = form_for(kind, o)
    response = await client.post(
        f"/votes/{ballot.id}",
        data={**data, "persona_id": str(persona.id), "csrf_token": await csrf_token(client)},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/votes/{ballot.id}?voted=1#your-vote"
    (row,) = await stored(session, ballot.id)
    assert row.content == expected and row.persona_id == persona.id
    after = await client.get(response.headers["location"])
    assert "Your vote is counted." in after.text
    assert "You can change it until" in after.text
    assert "You have not changed it." in after.text


async def test_changing_a_vote_counts_the_change(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call, BallotKind.APPROVAL, max_choices=2)
    a, b, c, _ = await option_ids(session, ballot.id)
    account, persona = await voter(session, client)
    other = await make_persona(session, account)
    await session.flush()
    token = await csrf_token(client)
    first = {"option": [str(a)], "persona_id": str(persona.id), "csrf_token": token}
    assert (await client.post(f"/votes/{ballot.id}", data=first)).status_code == 303
    page = await client.get(f"/votes/{ballot.id}")
    assert re.search(rf'id="option-{a}" name="option" value="{a}" checked', page.text)
    assert "Change my vote" in page.text
    second = {"option": [str(b), str(c)], "persona_id": str(other.id), "csrf_token": token}
    assert (await client.post(f"/votes/{ballot.id}", data=second)).status_code == 303
    (row,) = await stored(session, ballot.id)
    assert row.content == [b, c] and row.changes == 1 and row.persona_id == other.id
    assert "You have changed it once." in (await client.get(f"/votes/{ballot.id}")).text


@pytest.mark.parametrize(
    ("kind", "settings_", "form", "status", "message"),
    [
        (BallotKind.APPROVAL, {}, lambda o: {"option": o[:3]}, 422, "Choose at most 2 options"),
        (BallotKind.APPROVAL, {}, lambda o: {"option": ["999999"]}, 422, "not part of this vote"),
        (BallotKind.APPROVAL, {}, lambda o: {"option": ["x"]}, 422, "Choose from the options"),
        (BallotKind.APPROVAL, {}, lambda o: {}, 422, "Choose at least one option"),
        (BallotKind.BUDGETING, {}, lambda o: {"option": o[2:]}, 422, "over the budget"),
        (
            BallotKind.RANKED,
            {},
            lambda o: {f"rank-{o[0]}": "1", f"rank-{o[1]}": "1"},
            422,
            "You gave rank 1 to two options",
        ),
        (BallotKind.RANKED, {}, lambda o: {f"rank-{o[0]}": "9"}, 422, "Ranks are whole numbers"),
        (
            BallotKind.STATEMENTS,
            {},
            lambda o: {f"statement-{o[0]}": "5"},
            422,
            "Answer agree, disagree or pass",
        ),
        (
            BallotKind.APPROVAL,
            {"eligibility": {"verified": True}},
            lambda o: {"option": o[:1]},
            403,
            "Only verified residents can vote",
        ),
        (
            BallotKind.APPROVAL,
            {"eligibility": {"postcode_areas": ["TR"]}},
            lambda o: {"option": o[:1]},
            403,
            "postcode area TR",
        ),
    ],
)
async def test_bad_input_is_shown_by_the_field_and_changes_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    kind: BallotKind,
    settings_: dict[str, Any],
    form: Any,
    status: int,
    message: str,
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call, kind, **settings_)
    o = [str(i) for i in await option_ids(session, ballot.id)]
    unverified = settings_.get("eligibility", {}).get("verified")
    claims: dict[str, object] = {} if unverified else {"postcode_area": "EX"}
    _, persona = await voter(session, client, **claims)
    data = {**form(o), "persona_id": str(persona.id), "csrf_token": await csrf_token(client)}
    response = await client.post(f"/votes/{ballot.id}", data=data)
    assert response.status_code == status
    assert message in response.text
    assert 'id="choices-error"' in response.text  # next to the choices
    assert "There is a problem" in response.text
    assert await stored(session, ballot.id) == []
    if kind == BallotKind.APPROVAL and "option" in data and data["option"][0].isdigit():
        for chosen in data["option"]:
            if chosen != "999999":  # what was sent stays chosen
                assert re.search(rf'value="{chosen}" checked', response.text)


async def test_no_persona_and_voting_outside_the_phase(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call)
    o = await option_ids(session, ballot.id)
    _, persona = await voter(session, client)
    token = await csrf_token(client)
    missing = await client.post(
        f"/votes/{ballot.id}", data={"option": [str(o[0])], "csrf_token": token}
    )
    assert missing.status_code == 422 and "Choose who to vote as." in missing.text
    assert 'id="persona_id-error"' in missing.text
    await service.close_ballot(session, ballot.id, now=now(), actor=None)
    await session.flush()
    closed = await client.post(
        f"/votes/{ballot.id}",
        data={"option": [str(o[0])], "persona_id": str(persona.id), "csrf_token": token},
    )
    assert closed.status_code == 403 and "Voting on this ballot is not open." in closed.text
    assert await stored(session, ballot.id) == []
    page = await client.get(f"/votes/{ballot.id}")
    assert "Voting is closed." in page.text and "Cast my vote" not in page.text


async def test_signed_out_visitors_are_asked_to_sign_in(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call)
    page = await client.get(f"/votes/{ballot.id}")
    assert page.status_code == 200 and "Sign in to vote" in page.text
    token = await csrf_token(client)
    refused = await client.post(f"/votes/{ballot.id}", data={"csrf_token": token})
    assert refused.status_code == 401


async def test_drafts_are_hidden_from_residents(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call)
    ballot.status = BallotStatus.DRAFT
    await session.flush()
    await voter(session, client)
    assert (await client.get(f"/votes/{ballot.id}")).status_code == 404


async def test_budget_left_with_htmx_and_without(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call, BallotKind.BUDGETING)  # £200, £400, £600, £800
    a, b, c, d = await option_ids(session, ballot.id)
    _, persona = await voter(session, client)
    page = await client.get(f"/votes/{ballot.id}")
    assert "£1,000.00 left of £1,000.00" in page.text
    assert 'aria-live="polite"' in page.text and "Check my choices" in page.text
    token = await csrf_token(client)
    htmx = {"HX-Request": "true"}
    one = await client.post(
        f"/votes/{ballot.id}/check", data={"option": [str(a)], "csrf_token": token}, headers=htmx
    )
    assert one.status_code == 200 and one.text.strip() == "£800.00 left of £1,000.00"
    over = await client.post(
        f"/votes/{ballot.id}/check",
        data={"option": [str(c), str(d)], "csrf_token": token},
        headers=htmx,
    )
    assert over.text.strip() == (
        "Over budget: your choices cost £1,400.00, £400.00 more than the £1,000.00 to share."
    )
    # Without JavaScript, "Check my choices" shows the page again with the total and the choices.
    plain = await client.post(
        f"/votes/{ballot.id}/check",
        data={"option": [str(a), str(b)], "persona_id": str(persona.id), "csrf_token": token},
    )
    assert plain.status_code == 200
    assert "£400.00 left of £1,000.00" in plain.text
    assert re.search(rf'value="{a}" checked', plain.text)
    assert re.search(rf'value="{b}" checked', plain.text)
    assert await stored(session, ballot.id) == []  # checking is not voting


async def _organiser(session: AsyncSession, client: httpx.AsyncClient, call: Call) -> Account:
    account = await make_account(session)
    await grant_role(session, account, Role.ORGANISER, actor=None, organiser_id=call.organiser_id)
    await session.flush()
    await sign_in(client, session, account)
    return account


async def test_organiser_creates_and_opens_a_budgeting_vote(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    idea = await make_idea(session, call, title="A new bus shelter")
    await _organiser(session, client, call)
    form_page = await client.get(f"/calls/{call.slug}/votes/new")
    assert form_page.status_code == 200 and "A new bus shelter" in form_page.text
    token = await csrf_token(client)
    data = {
        "csrf_token": token,
        "kind": "budgeting",
        "title": "Spend the ward budget",
        "description": "Choose *projects*.",
        "result_method": "equal_shares",
        "idea": [str(idea.id)],
        f"idea-{idea.id}-cost": "250",
        "option-0-title": "Benches",
        "option-0-cost": "£120.50",
        "option-1-title": "",
        "budget": "1,000",
        "who": "verified",
        "postcode_areas": "ex, tr",
        "min_age": "16",
        "secret": "public",
        "live_results": "on",
    }
    response = await client.post(f"/calls/{call.slug}/votes", data=data)
    assert response.status_code == 303, response.text
    ballot_id = int(response.headers["location"].split("/")[2])
    ballot = await session.get(Ballot, ballot_id, populate_existing=True)
    assert ballot is not None and ballot.status == BallotStatus.DRAFT
    assert ballot.budget == 100_000 and not ballot.secret and ballot.live_results
    assert ballot.eligibility == {"verified": True, "postcode_areas": ["EX", "TR"], "min_age": 16}
    options = await service.options_of(session, ballot_id)
    assert [(o.title, o.cost, o.idea_id) for o in options] == [
        ("A new bus shelter", 25_000, idea.id),
        ("Benches", 12_050, None),
    ]
    manage = await client.get(response.headers["location"])
    assert "The vote is saved as a draft." in manage.text and "Open voting" in manage.text
    opened = await client.post(f"/votes/{ballot_id}/open", data={"csrf_token": token})
    assert opened.status_code == 303
    await session.refresh(ballot)
    assert ballot.status == BallotStatus.OPEN
    page = await client.get(f"/votes/{ballot_id}")
    assert "To vote you must hold a current verification, and live in postcode area EX or TR" in (
        page.text
    )
    assert "This vote is public" in page.text and "Manage this vote" in page.text


async def test_bad_settings_are_shown_by_their_fields(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    await _organiser(session, client, call)
    token = await csrf_token(client)
    data = {
        "csrf_token": token,
        "kind": "approval",
        "title": "Pick two",
        "result_method": "instant_runoff",
        "option-0-title": "One",
        "option-1-title": "Two",
        "option-1-cost": "nonsense",  # ignored: not a budgeting vote
    }
    response = await client.post(f"/calls/{call.slug}/votes", data=data)
    assert response.status_code == 422
    assert "For this kind of vote, count with: totals." in response.text
    assert "Say how many options each person may choose." in response.text
    assert 'value="Pick two"' in response.text  # what was typed stays
    budget = {**data, "kind": "budgeting", "result_method": "greedy", "budget": "12.345"}
    budget |= {"option-0-cost": "10", "option-1-cost": "20"}
    response = await client.post(f"/calls/{call.slug}/votes", data=budget)
    assert response.status_code == 422 and "Give the amount to the penny at most." in response.text
    assert list(await session.scalars(select(Ballot).where(Ballot.call_id == call.id))) == []


async def test_only_the_calls_organisers_manage_its_votes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call)
    await voter(session, client)
    assert (await client.get(f"/calls/{call.slug}/votes/new")).status_code == 403
    assert (await client.get(f"/votes/{ballot.id}/manage")).status_code == 403
    token = await csrf_token(client)
    closed = await client.post(f"/votes/{ballot.id}/close", data={"csrf_token": token})
    assert closed.status_code == 403
    assert (await service.get_ballot(session, ballot.id)).status == BallotStatus.OPEN


async def test_organiser_closes_and_publishes_from_the_manage_page(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call)
    await _organiser(session, client, call)
    token = await csrf_token(client)
    early = await client.post(f"/votes/{ballot.id}/publish", data={"csrf_token": token})
    assert early.status_code == 409 and "Close the vote before publishing" in early.text
    assert (await client.post(f"/votes/{ballot.id}/close", data={"csrf_token": token})).is_redirect
    published = await client.post(f"/votes/{ballot.id}/publish", data={"csrf_token": token})
    assert published.status_code == 303
    page = await client.get(published.headers["location"])
    assert "The result is published" in page.text


async def test_call_page_section_lists_votes(
    client: httpx.AsyncClient, session: AsyncSession, app: Starlette
) -> None:
    """votes/_call_votes.html with call_votes_context (as calls/pages.py will include it)."""
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call)
    draft = await make_ballot(session, call)
    draft.title = "Draft vote"
    draft.status = BallotStatus.DRAFT
    await session.flush()
    account = await _organiser(session, client, call)

    async def section(signed_in: Account | None) -> str:
        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "app": app}
        from starlette.requests import Request

        request = Request({**scope, "state": {"account": signed_in}})
        context = await pages.call_votes_context(request, session, call)
        template = app.state.templates.get_template("votes/_call_votes.html")
        return str(template.render(call=call, **context))

    public = await section(None)
    assert f'href="/votes/{ballot.id}"' in public and "Draft vote" not in public
    assert "Create a vote" not in public
    mine = await section(account)
    assert "Draft vote" in mine and f"/calls/{call.slug}/votes/new" in mine


async def test_a_vote_whose_phase_has_not_started(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    call = await make_voting_call(session)
    ballot = await make_ballot(session, call)
    phase = await session.get(Phase, ballot.phase_id)
    assert phase is not None
    phase.starts_at = now() + dt.timedelta(days=1)
    await session.flush()
    page = await client.get(f"/votes/{ballot.id}")
    assert "Voting opens" in page.text and "Cast my vote" not in page.text
