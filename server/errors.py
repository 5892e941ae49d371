"""One exception hierarchy for every rule Moot enforces.

Each error carries its HTTP status and a stable machine-readable code. Pages render them through
one Starlette handler (``server.web.handlers``); GraphQL maps them once, to user errors in mutation
payloads or to ``extensions.code`` (``server.api``).
"""

from __future__ import annotations

from collections.abc import Mapping


class MootError(Exception):
    status_code = 500
    code = "INTERNAL"
    default_message = "Something went wrong on our side. Please try again."

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.default_message
        self.field = field
        super().__init__(self.message)


class BadRequest(MootError):
    status_code = 400
    code = "BAD_REQUEST"
    default_message = "The request could not be understood."


class ValidationFailed(MootError):
    """Bad input: one message per field, shown next to the field it concerns."""

    status_code = 422
    code = "INVALID_INPUT"
    default_message = "Some of the details need correcting."

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        errors: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.errors: dict[str, str] = dict(errors or {})
        if field and message and field not in self.errors:
            self.errors[field] = message


class NotAuthenticated(MootError):
    status_code = 401
    code = "UNAUTHENTICATED"
    default_message = "Please sign in to do that."


class Forbidden(MootError):
    status_code = 403
    code = "FORBIDDEN"
    default_message = "You are not allowed to do that."


class NotFound(MootError):
    status_code = 404
    code = "NOT_FOUND"
    default_message = "We could not find that page."


class Conflict(MootError):
    status_code = 409
    code = "CONFLICT"
    default_message = "That clashes with something that already exists."


class PayloadTooLarge(MootError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    default_message = "That request is too large."


class RateLimited(MootError):
    status_code = 429
    code = "RATE_LIMITED"
    default_message = "Too many requests. Please wait a moment and try again."

    def __init__(self, message: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(MootError):
    status_code = 503
    code = "UNAVAILABLE"
    default_message = (
        "Moot cannot reach its database just now. Nothing was changed; please try again shortly."
    )
