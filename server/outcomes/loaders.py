from __future__ import annotations

from strawberry.dataloader import DataLoader

from server.db import Database
from server.loaders import by_id, one_by
from server.outcomes.models import Outcome


def outcome_by_id(db: Database) -> DataLoader[int, Outcome | None]:
    return by_id(db, Outcome)


def outcome_by_idea(db: Database) -> DataLoader[int, Outcome | None]:
    return one_by(db, Outcome, Outcome.idea_id)
