"""Moot: open policy-making and micro-participation."""

from server import routing

routing.register()
