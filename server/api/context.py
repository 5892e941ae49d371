from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import strawberry
from starlette.requests import HTTPConnection
from strawberry.dataloader import DataLoader

from server.api.auth import ANONYMOUS, Caller
from server.db import Database
from server.errors import Forbidden, NotAuthenticated
from server.identity.models import Account

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class Loaders:
    """The request's DataLoaders, each built on first use from a domain's ``loaders.py``
    factory, so a query pays only for the loaders it touches and nothing is shared between
    requests."""

    db: Database
    _made: dict[Callable[[Database], Any], Any] = field(default_factory=dict)

    def get(self, factory: Callable[[Database], DataLoader[K, V]]) -> DataLoader[K, V]:
        loader = self._made.get(factory)
        if loader is None:
            loader = self._made[factory] = factory(self.db)
        return loader


@dataclass
class Context:
    request: HTTPConnection
    db: Database
    loaders: Loaders
    now: dt.datetime
    caller: Caller = ANONYMOUS
    # graphql-transport-ws: the ``connection_init`` payload (Strawberry sets it).
    connection_params: dict[str, Any] | None = None
    throttle_key: str | None = None  # WebSocket: the rate limit's key, fixed at connection
    read_db: Database | None = None  # a hot standby for read-only queries, if configured

    def read_from_replica(self) -> None:
        """Serve this operation's reads from the hot standby (server.api.replica decides)."""
        if self.read_db is not None:
            self.db = self.read_db
            self.loaders = Loaders(self.read_db)

    def refresh(self, now: dt.datetime) -> None:
        """Forget cached rows and move the clock on. A WebSocket connection keeps one context
        for its whole life, so each subscription event starts afresh, as a request would."""
        self.loaders = Loaders(self.db)
        self.now = now

    def require(self, scope: str) -> Account:
        """The signed-in account, allowed ``scope``; raises otherwise."""
        if self.caller.account is None:
            raise NotAuthenticated(
                "Sign in first: send `Authorization: Bearer <token>` (create a token on your "
                "account page)."
            )
        if scope not in self.caller.scopes:
            raise Forbidden(f"This token does not have the `{scope}` scope.")
        return self.caller.account


Info = strawberry.Info[Context, None]
