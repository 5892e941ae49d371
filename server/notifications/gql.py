from __future__ import annotations

import strawberry


@strawberry.type
class NotificationsQuery:
    """Root query fields of this domain (mixed into the schema's Query)."""


@strawberry.type
class NotificationsMutations:
    """Mutations of this domain (mixed into the schema's Mutation)."""
