"""Imports every domain's models so that the metadata is complete (for Alembic and tests)."""

from server.calls.models import Call, Organiser, Phase, Region
from server.db import Base
from server.events.models import Event, Venue
from server.ideas.models import Idea
from server.outcomes.models import Outcome

metadata = Base.metadata

__all__ = ["Call", "Event", "Idea", "Organiser", "Outcome", "Phase", "Region", "Venue", "metadata"]
