"""Mutation results: the changed object plus user errors for bad input, kept apart from GraphQL
errors (which mean a malformed request, a missing sign-in or a missing permission)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from server.errors import Conflict, NotFound, RateLimited, ValidationFailed

T = TypeVar("T")


@strawberry.type(description="A problem with the input of a mutation; nothing was changed.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault, if any.")
    message: str = strawberry.field(description="What is wrong, for a person to read.")
    code: str = strawberry.field(description="A stable code for programs, e.g. INVALID_INPUT.")


async def attempt(work: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Run a mutation's transaction; bad input becomes user errors (and nothing is written,
    because the transaction is rolled back by the exception)."""
    try:
        return await work(), []
    except ValidationFailed as exc:
        if exc.errors:
            return None, [
                UserError(field=field, message=message, code=exc.code)
                for field, message in exc.errors.items()
            ]
        return None, [UserError(field=exc.field, message=exc.message, code=exc.code)]
    except (Conflict, NotFound, RateLimited) as exc:
        return None, [UserError(field=exc.field, message=exc.message, code=exc.code)]
