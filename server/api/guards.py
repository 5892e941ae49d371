"""The checks a GraphQL request passes before it reaches the schema (``view.py``).

The caller is identified (a bad token answers 401) and counted against the rate limit (429 with
Retry-After), the body is read up to the API's own limit (413), batches are refused (400,
``BATCH_REFUSED``) and persisted operations are looked up (``persisted.py``). Each refusal is a
:class:`Refused`, answered in GraphQL's shape: ``{"errors": [{"message": …, "extensions":
{"code": …}}]}``. The WebSocket (``ws.py``) counts against the same rate limit and refuses
subscriptions the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope

from server.api.auth import Caller, bearer_token, identify
from server.api.errors import error_body
from server.api.persisted import OperationStore, PersistedError
from server.db import Database
from server.errors import PayloadTooLarge, RateLimited
from server.identity import throttle
from server.identity.jose import InvalidToken
from server.identity.keys import Keys
from server.settings import Settings
from server.web import now

RATE_WINDOW = dt.timedelta(minutes=1)


class Refused(Exception):
    """A request answered before it reaches the schema, in GraphQL's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        self.extensions = extensions

    def response(self) -> Response:
        return JSONResponse(
            error_body(self.message, self.code, **self.extensions),
            status_code=self.status,
            headers=self.headers,
        )


async def identify_request(db: Database, scope: Scope, settings: Settings) -> Caller:
    """The caller of an HTTP request, counted against the rate limit."""
    conn = HTTPConnection(scope)
    try:
        caller = await identify(conn)
    except InvalidToken as exc:
        # Bad tokens are counted against the address, so guessing them is throttled too.
        await count_request(db, conn, settings, None)
        # Refused before execution, in GraphQL's error shape, with the standard challenge.
        raise Refused(
            401,
            exc.message,
            exc.code,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    await count_request(db, conn, settings, caller)
    return caller


async def count_request(
    db: Database,
    conn: HTTPConnection,
    settings: Settings,
    caller: Caller | None,
    token: str | None = None,
) -> str:
    """One request against the rate limit: per token, per signed-in browser, or (anonymous
    and bad-token requests) per address. Keys are keyed hashes: no token or address is
    stored. ``token``: the bearer token, when it did not come in a header (WebSocket).
    Returns the key, for the WebSocket's later subscriptions."""
    keys: Keys = conn.app.state.keys
    key: str
    if caller is not None and caller.via == "token":
        token = token or bearer_token(conn) or ""
        key = "gql:t:" + keys.sign("throttle-token", token)
    elif caller is not None and caller.account is not None:
        key = "gql:s:" + keys.sign("throttle-account", str(caller.account.id))
    else:
        address = conn.client.host if conn.client else "unknown"
        key = "gql:a:" + keys.sign("throttle-address", address)
    await hit_limit(db, settings, key)
    return key


async def hit_limit(db: Database, settings: Settings, key: str) -> None:
    """One hit on the rate limit's ``key``: Refused (429) when it is over the limit."""
    limit = settings.graphql_rate_per_minute
    if limit <= 0:
        return
    try:
        async with db.session() as session, session.begin():
            await throttle.hit(session, key, limit=limit, window=RATE_WINDOW, now=now())
    except RateLimited as exc:
        raise Refused(
            429,
            f"Too many requests: the API allows {limit} per minute. Try again in "
            f"{exc.retry_after} seconds.",
            "RATE_LIMITED",
            headers={"Retry-After": str(exc.retry_after)},
            retryAfter=exc.retry_after,
            limit=limit,
        ) from None


async def read_body(scope: Scope, receive: Receive, settings: Settings) -> bytes | None:
    """A POST's body, read up to the API's limit (Refused, 413, beyond it); None otherwise."""
    if scope["method"] != "POST":
        return None
    limit = settings.graphql_max_body_bytes
    too_large = Refused(
        413,
        f"The request body is too large: the API's limit is {limit // 1024:,} KB. Send "
        "smaller queries, or the hash of a published operation (see /api).",
        "PAYLOAD_TOO_LARGE",
        limit=limit,
    )
    length = HTTPConnection(scope).headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_large
    chunks: list[bytes] = []
    seen = 0
    more = True
    while more:
        try:
            message = await receive()
        except PayloadTooLarge:  # the app-wide body limit, when it is the lower one
            raise too_large from None
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > limit:
            raise too_large
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def refuse_batch(body: bytes | None) -> None:
    """Refuses (400, ``BATCH_REFUSED``) a body that is a JSON array of operations."""
    if body is not None and body.lstrip()[:1] == b"[":
        raise Refused(
            400,
            "Batched requests (a JSON array of operations) are not accepted: send one "
            "operation per request.",
            "BATCH_REFUSED",
        )


def replay(body: bytes | None, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to Strawberry once."""
    if body is None:
        return receive
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def resolve_persisted(
    operations: OperationStore,
    query: str | None,
    extensions: Mapping[str, Any] | None,
    settings: Settings,
    *,
    over_http: bool,
) -> str | None:
    """The text to run: ``query``, or the persisted operation ``extensions`` names. A refusal
    of the store is Refused with its code: over HTTP with 400 when the request is malformed and
    200 otherwise (an unknown hash is what clients of automatic persisted queries expect to
    hear); over the WebSocket, 400."""
    try:
        return operations.resolve(query, extensions, allowlist_only=settings.graphql_allowlist_only)
    except PersistedError as exc:
        malformed = exc.code.startswith(("BAD_", "PERSISTED_QUERY_V"))
        status = 400 if malformed or not over_http else 200
        raise Refused(status, exc.message, exc.code) from None
