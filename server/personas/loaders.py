from __future__ import annotations

from strawberry.dataloader import DataLoader

from server.db import Database
from server.loaders import by_id
from server.personas.models import Persona


def persona_by_id(db: Database) -> DataLoader[int, Persona | None]:
    return by_id(db, Persona)
