"""Imports every domain's models so that the metadata is complete (for Alembic and tests)."""

from server.audit.models import AuditEntry
from server.calls.models import Call, Organiser, Phase, Region
from server.comments.models import Comment
from server.db import Base
from server.events.models import Event, EventSession, Registration, Solution, Venue, VenueHost
from server.ideas.models import Endorsement, Idea, IdeaFollow, IdeaRevision
from server.identity.models import (
    Account,
    ApiToken,
    OidcLogin,
    OutboxMessage,
    Person,
    Register,
    RegisterEntry,
    RoleGrant,
    Session,
    SigningKey,
    SignInLink,
    ThrottleHit,
    Verification,
    VerificationCode,
    VerificationConflict,
)
from server.moderation.models import Report
from server.notifications.models import Notification, NotificationSettings
from server.outcomes.models import Outcome
from server.personas.models import Persona
from server.votes.models import Ballot, BallotExport, BallotOption, CastBallot, Tally

metadata = Base.metadata

__all__ = [
    "Account",
    "ApiToken",
    "AuditEntry",
    "Ballot",
    "BallotExport",
    "BallotOption",
    "Call",
    "CastBallot",
    "Comment",
    "Endorsement",
    "Event",
    "EventSession",
    "Idea",
    "IdeaFollow",
    "IdeaRevision",
    "Notification",
    "NotificationSettings",
    "OidcLogin",
    "Organiser",
    "OutboxMessage",
    "Outcome",
    "Person",
    "Persona",
    "Phase",
    "Region",
    "Register",
    "RegisterEntry",
    "Registration",
    "Report",
    "RoleGrant",
    "Session",
    "SignInLink",
    "SigningKey",
    "Solution",
    "Tally",
    "ThrottleHit",
    "Venue",
    "VenueHost",
    "Verification",
    "VerificationCode",
    "VerificationConflict",
    "metadata",
]
