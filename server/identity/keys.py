"""The platform's secrets, loaded once at start-up and handed to the services that need them."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from server import secrets
from server.settings import Settings


@dataclass(frozen=True, slots=True)
class Keys:
    # Signs cookies and CSRF tokens, and encrypts our JWT signing keys at rest.
    secret: bytes
    # Peppers the keyed hashes of real-world identities. Separate from `secret` so rotating the
    # signing secret never changes who is who; losing it means everyone must verify again.
    identity_pepper: bytes

    @classmethod
    def load(cls, settings: Settings) -> Keys:
        return cls(
            secret=secrets.load_or_create(
                settings.secrets_dir, "secret_key", settings.secret_key
            ).encode(),
            identity_pepper=secrets.load_or_create(
                settings.secrets_dir, "identity_pepper", settings.identity_pepper
            ).encode(),
        )

    def identity_key(self, namespace: str, value: str) -> str:
        """A keyed hash of a real-world identity: stable, unique, and not reversible without the
        pepper. ``namespace`` keeps methods apart (an OIDC subject never equals a code)."""
        return hmac.new(
            self.identity_pepper, f"{namespace}\x00{value}".encode(), hashlib.sha256
        ).hexdigest()

    def sign(self, purpose: str, value: str) -> str:
        return hmac.new(self.secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
