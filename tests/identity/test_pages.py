"""Signing up, in and out in the browser's terms: forms, cookies, CSRF and throttling."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.identity.auth import CSRF_COOKIE, SESSION_COOKIE
from server.identity.models import Account, OutboxMessage, Session
from tests.factories import csrf_token, make_account, sign_in

PASSWORD = "correct horse battery"


async def _last_link(session: AsyncSession, to: str) -> str:
    message = await session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == to)
        .order_by(OutboxMessage.id.desc())
    )
    assert message is not None, f"no email to {to}"
    match = re.search(r"http://localhost(/sign-in/link/\S+)", message.body)
    assert match
    return match.group(1)


async def test_sign_up_confirm_by_link_then_sign_in_with_password(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    token = await csrf_token(client)
    response = await client.post(
        "/sign-up", data={"email": "Jane@Example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 200 and "Check your email" in response.text
    # Not confirmed yet: the password alone does not sign in.
    refused = await client.post(
        "/sign-in", data={"email": "Jane@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 401 and "confirm your email" in refused.text
    link = await _last_link(session, "Jane@example.org")
    page = await client.get(link)
    assert "Continue and sign in" in page.text  # a button: mail scanners cannot use the link up
    signed_in = await client.post(link, data={"csrf_token": token})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/account"
    assert SESSION_COOKIE in client.cookies
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    # The link works once.
    again = await client.post(link, data={"csrf_token": token})
    assert again.status_code == 401 and "expired or has already been used" in again.text
    client.cookies.delete(SESSION_COOKIE)
    ok = await client.post(
        "/sign-in", data={"email": "jane@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert ok.status_code == 303


async def test_same_answer_for_known_and_unknown_emails(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_account(session, email="known@example.org", password=PASSWORD)
    token = await csrf_token(client)
    answers = []
    for email in ("known@example.org", "unknown@example.org"):
        link = await client.post("/sign-in/link", data={"link_email": email, "csrf_token": token})
        signup = await client.post(
            "/sign-up", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        answers.append(
            (
                link.status_code,
                link.text.replace(email, "E"),
                signup.status_code,
                signup.text.replace(email, "E"),
            )
        )
    assert answers[0] == answers[1]
    # What differs is what arrives in the inbox.
    known = await session.scalars(
        select(OutboxMessage.subject).where(OutboxMessage.to_address == "known@example.org")
    )
    assert sorted(known) == ["You already have a Moot account", "Your Moot sign-in link"]


async def test_wrong_password_and_bad_email_change_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_account(session, email="a@example.org", password=PASSWORD)
    token = await csrf_token(client)
    before = await session.scalar(select(func.count()).select_from(Session))
    wrong = await client.post(
        "/sign-in",
        data={"email": "a@example.org", "password": "nope-nope-nope", "csrf_token": token},
    )
    assert wrong.status_code == 401 and "email address or password is not right" in wrong.text
    bad = await client.post(
        "/sign-up", data={"email": "not an email", "password": PASSWORD, "csrf_token": token}
    )
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text and "Enter an email address like" in bad.text
    short = await client.post(
        "/sign-up", data={"email": "b@example.org", "password": "short", "csrf_token": token}
    )
    assert short.status_code == 422 and "at least 10 characters" in short.text
    assert await session.scalar(select(func.count()).select_from(Session)) == before
    assert (
        await session.scalar(
            select(func.count()).select_from(Account).where(Account.email == "b@example.org")
        )
        == 0
    )


async def test_forms_without_a_csrf_token_are_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_account(session, email="c@example.org", password=PASSWORD)
    await client.get("/sign-in")  # has the cookie, but sends no token
    response = await client.post("/sign-in", data={"email": "c@example.org", "password": PASSWORD})
    assert response.status_code == 403 and "This form has expired" in response.text
    forged = await client.post(
        "/sign-in", data={"email": "c@example.org", "password": PASSWORD, "csrf_token": "x" * 64}
    )
    assert forged.status_code == 403
    json_post = await client.post("/sign-out", json={})
    assert json_post.status_code == 403
    cross_site = await client.post(
        "/sign-up",
        data={"csrf_token": await csrf_token(client)},
        headers={"origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403


async def test_every_post_route_demands_a_csrf_token(app, client: httpx.AsyncClient) -> None:
    await client.get("/")
    assert CSRF_COOKIE in client.cookies
    posts = [
        r.path
        for r in app.routes
        if "POST" in getattr(r, "methods", set()) and r.path != "/graphql"
    ]
    assert len(posts) >= 5
    for path in posts:
        url = re.sub(r"\{[^}]+\}", "x", re.sub(r"\{\w+:id\}", "1", path))
        response = await client.post(url, data={"anything": "1"})
        assert response.status_code == 403, f"{path} accepted a form without a CSRF token"


async def test_htmx_header_token_is_accepted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    await sign_in(client, session, account)
    token = await csrf_token(client)
    response = await client.post("/sign-out", headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert response.status_code == 303


async def test_sign_out_everywhere_revokes_every_session_at_once(
    client: httpx.AsyncClient, app, session: AsyncSession
) -> None:
    account = await make_account(session)
    await sign_in(client, session, account)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as other:
        await sign_in(other, session, account)
        assert "Your account" in (await other.get("/")).text
        token = await csrf_token(client)
        response = await client.post("/sign-out/everywhere", data={"csrf_token": token})
        assert response.status_code == 303
        assert "Your account" not in (await other.get("/")).text
        assert (await other.get("/account")).headers.get("location", "").startswith("/sign-in")


async def test_sign_in_is_throttled_per_account(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_account(session, email="t@example.org", password=PASSWORD)
    token = await csrf_token(client)
    statuses = []
    for _ in range(12):
        r = await client.post(
            "/sign-in",
            data={"email": "t@example.org", "password": "wrong-wrong-1", "csrf_token": token},
        )
        statuses.append(r.status_code)
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    # Even the right password waits now; the answer says how long.
    r = await client.post(
        "/sign-in", data={"email": "t@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 429 and "Too many attempts" in r.text and "retry-after" in r.headers


async def test_oversized_form_is_refused_clearly(client: httpx.AsyncClient) -> None:
    token = await csrf_token(client)
    response = await client.post(
        "/sign-up", data={"email": "x" * 400_000, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 413 and "too large" in response.text


async def test_next_is_never_an_open_redirect(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_account(session, email="n@example.org", password=PASSWORD)
    token = await csrf_token(client)
    r = await client.post(
        "/sign-in?next=//evil.example/x",
        data={"email": "n@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert r.headers["location"] == "/account"


async def test_outbox_page_in_development(client: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await csrf_token(client)
    await client.post(
        "/sign-up", data={"email": "o@example.org", "password": PASSWORD, "csrf_token": token}
    )
    page = await client.get("/dev/outbox")
    assert page.status_code == 200 and "Confirm your email for Moot" in page.text
