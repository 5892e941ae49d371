"""Who is calling the API: a bearer token, or a browser session that proves it is ours with the
CSRF header (a session cookie alone would let any site make a signed-in person's browser act)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from server.identity import auth as web_auth
from server.identity import service, tokens
from server.identity.jose import InvalidToken
from server.identity.models import Account, Role, TokenScope
from server.web import now

ALL_SCOPES = frozenset(s.value for s in TokenScope)


@dataclass(frozen=True, slots=True)
class Caller:
    account: Account | None
    scopes: frozenset[str]
    via: str  # "anonymous", "token" or "session"

    @property
    def signed_in(self) -> bool:
        return self.account is not None


ANONYMOUS = Caller(account=None, scopes=frozenset({TokenScope.READ.value}), via="anonymous")


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Send the token as `Authorization: Bearer <token>`.")
    return token.strip()


async def identify(conn: HTTPConnection) -> Caller:
    """Raises InvalidToken for a bad bearer token (the view answers 401)."""
    token = bearer_token(conn)
    db = conn.app.state.db
    if token is not None:
        async with db.session() as session, session.begin():
            owner, scopes = await tokens.authenticate_bearer(
                session, conn.app.state.keys, token, now=now()
            )
        return Caller(account=owner, scopes=scopes, via="token")
    account = await web_auth.current_account(conn)
    if account is not None and web_auth.header_token_valid(conn):
        async with db.session() as session:
            moderates = await service.has_role(session, account.id, Role.MODERATOR)
        scopes = ALL_SCOPES if moderates else ALL_SCOPES - {TokenScope.MODERATE.value}
        return Caller(account=account, scopes=scopes, via="session")
    return ANONYMOUS
