"""The public GraphQL schema, assembled from the domains' types."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from server.api.errors import MootErrors
from server.calls.gql import Call, CallsQuery, Organiser, Phase, Region
from server.comments.gql import CommentsMutations, CommentsQuery
from server.events.gql import Event, EventsMutations, EventsQuery, Venue
from server.ideas.gql import Idea, IdeasMutations, IdeasQuery
from server.identity.gql import IdentityMutations, IdentityQuery
from server.moderation.gql import ModerationMutations, ModerationQuery
from server.notifications.gql import NotificationsMutations, NotificationsQuery
from server.outcomes.gql import Outcome, OutcomesMutations, OutcomesQuery
from server.personas.gql import Persona, PersonaMutations

# Decidim ships depth 15 and 5 aliases; ours are in the same spirit and documented at /api.
MAX_DEPTH = 12
MAX_ALIASES = 15
MAX_TOKENS = 2000


@strawberry.type(description="Moot's public API: calls, ideas, events and their outcomes.")
class Query(
    CallsQuery,
    IdentityQuery,
    IdeasQuery,
    CommentsQuery,
    EventsQuery,
    ModerationQuery,
    OutcomesQuery,
    NotificationsQuery,
):
    node: relay.Node = relay.node(description="Fetch any object by its global id.")
    nodes: list[relay.Node] = relay.node(description="Fetch several objects by global id.")


@strawberry.type(description="Changes, made as the signed-in account (token or session).")
class Mutation(
    PersonaMutations,
    IdentityMutations,
    IdeasMutations,
    CommentsMutations,
    EventsMutations,
    ModerationMutations,
    OutcomesMutations,
    NotificationsMutations,
):
    pass


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    types=[Call, Region, Organiser, Phase, Event, Venue, Idea, Outcome, Persona],
    extensions=[
        MootErrors,
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ],
    config=StrawberryConfig(auto_camel_case=True),
)


def sdl() -> str:
    return schema.as_str() + "\n"
