from __future__ import annotations

from strawberry.dataloader import DataLoader

from server.db import Database
from server.ideas.models import Idea
from server.loaders import by_id


def idea_by_id(db: Database) -> DataLoader[int, Idea | None]:
    return by_id(db, Idea)
