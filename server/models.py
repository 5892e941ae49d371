"""Imports every domain's models so that the metadata is complete (for Alembic and tests)."""

from server.audit.models import AuditEntry
from server.calls.models import Call, Organiser, Phase, Region
from server.db import Base
from server.events.models import Event, Venue
from server.ideas.models import Idea
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
from server.outcomes.models import Outcome
from server.personas.models import Persona

metadata = Base.metadata

__all__ = [
    "Account",
    "ApiToken",
    "AuditEntry",
    "Call",
    "Event",
    "Idea",
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
    "RoleGrant",
    "Session",
    "SignInLink",
    "SigningKey",
    "ThrottleHit",
    "Venue",
    "Verification",
    "VerificationCode",
    "VerificationConflict",
    "metadata",
]
