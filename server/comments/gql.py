from __future__ import annotations

import strawberry


@strawberry.type
class CommentsQuery:
    """Root query fields of this domain (mixed into the schema's Query)."""


@strawberry.type
class CommentsMutations:
    """Mutations of this domain (mixed into the schema's Mutation)."""
