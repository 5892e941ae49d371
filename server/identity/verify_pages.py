"""Pages for verifying identities (register match, one-time codes), micro-participation and
moderators' verification tools."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
