"""What goes wrong with OpenID Connect: a bad ``OIDC_PROVIDERS`` setting, a provider that cannot
be reached, and an answer from a provider that did not pass our checks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from server.errors import MootError
from server.settings import SettingsError

if TYPE_CHECKING:
    from server.identity.oidc.config import Provider

# The shape of an OAuth error code (``error=`` on the callback, ``error`` from the token
# endpoint): anything else is recorded as "other".
ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")


class OidcConfigError(SettingsError):
    """OIDC_PROVIDERS holds something Moot cannot use; the message names the bad key."""


class OidcError(MootError):
    """A sign-in or verification with a provider that did not work. ``message`` is for the
    person; ``reason`` (never personal data) is for logs and the audit log."""

    status_code = 400
    code = "OIDC_FAILED"
    default_message = "Signing in with that provider did not work. Nothing was changed."

    def __init__(self, message: str | None = None, *, reason: str = "failed") -> None:
        super().__init__(message)
        self.reason = reason


class ProviderUnavailable(OidcError):
    status_code = 503
    code = "OIDC_UNAVAILABLE"


def unavailable(provider: Provider, reason: str) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"We could not reach {provider.title} just now. Nothing was changed; please try again "
        "in a few minutes.",
        reason=reason,
    )


def refused(provider: Provider, reason: str) -> OidcError:
    return OidcError(
        f"We could not confirm who you are with {provider.title}: its answer did not pass our "
        "checks. Nothing was changed; please try again.",
        reason=reason,
    )
