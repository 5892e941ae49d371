from __future__ import annotations

import strawberry


@strawberry.type
class ModerationQuery:
    """Root query fields of this domain (mixed into the schema's Query)."""


@strawberry.type
class ModerationMutations:
    """Mutations of this domain (mixed into the schema's Mutation)."""
