"""Signing in and verifying with OpenID Connect providers."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
