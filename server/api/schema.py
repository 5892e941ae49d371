"""The public GraphQL schema, assembled from the domains' types."""

from __future__ import annotations

import functools

import strawberry
from strawberry import relay
from strawberry.schema.config import StrawberryConfig

from server.api.caches import CachedParse, CachedValidation
from server.api.errors import HideSuggestions, MootErrors
from server.api.limits import Limits, QueryLimits
from server.api.replica import ReadsOnReplica
from server.calls.gql import Call, CallsQuery, Organiser, Phase, Region
from server.comments.gql import CommentsMutations, CommentsQuery, CommentsSubscription
from server.events.gql import Event, EventsMutations, EventsQuery, Venue
from server.ideas.gql import Idea, IdeasMutations, IdeasQuery
from server.identity.gql import IdentityMutations, IdentityQuery
from server.moderation.gql import ModerationMutations, ModerationQuery
from server.notifications.gql import NotificationsMutations, NotificationsQuery
from server.outcomes.gql import Outcome, OutcomesMutations, OutcomesQuery
from server.personas.gql import Persona, PersonaMutations
from server.settings import Settings
from server.votes.gql import (
    Ballot,
    BallotOption,
    VotesMutations,
    VotesQuery,
    VotesSubscription,
)


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
    VotesQuery,
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
    VotesMutations,
):
    pass


@strawberry.type(
    description="Live updates over WebSocket (graphql-transport-ws, at /graphql). Anyone may "
    "subscribe; send a token in `connection_init` to be signed in."
)
class Subscription(CommentsSubscription, VotesSubscription):
    pass


@functools.cache
def limits(settings: Settings) -> Limits:
    return Limits(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_cost=settings.graphql_max_cost,
        max_tokens=settings.graphql_max_tokens,
    )


def request_limits(context: object) -> Limits:
    """The limits of the app serving this request (``app.state.settings``); the defaults when
    the schema is run outside an app. One schema serves every app: Strawberry's relay fields
    cannot be bound into a second schema, so the limits are looked up per request instead."""
    request = getattr(context, "request", None)  # a Request, or the WebSocket
    app = getattr(request, "app", None) if request is not None else None
    settings = getattr(getattr(app, "state", None), "settings", None)
    return limits(settings if isinstance(settings, Settings) else DEFAULTS)


DEFAULTS = Settings()

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[
        Call,
        Region,
        Organiser,
        Phase,
        Event,
        Venue,
        Idea,
        Outcome,
        Persona,
        Ballot,
        BallotOption,
    ],
    extensions=[
        # Order matters: errors are mapped last (on the way out); the limits are checked before
        # validation, and anonymous callers' documents are validated without suggestions.
        MootErrors,
        CachedParse,
        lambda: QueryLimits(request_limits),
        HideSuggestions,
        CachedValidation,
        ReadsOnReplica,
    ],
    config=StrawberryConfig(auto_camel_case=True),
)


def sdl() -> str:
    return schema.as_str() + "\n"
