from __future__ import annotations

from strawberry.dataloader import DataLoader

from server.calls.models import Call, Organiser, Phase, Region
from server.db import Database
from server.loaders import by_id, many_by


def call_by_id(db: Database) -> DataLoader[int, Call | None]:
    return by_id(db, Call)


def region_by_id(db: Database) -> DataLoader[int, Region | None]:
    return by_id(db, Region)


def organiser_by_id(db: Database) -> DataLoader[int, Organiser | None]:
    return by_id(db, Organiser)


def phase_by_id(db: Database) -> DataLoader[int, Phase | None]:
    return by_id(db, Phase)


def phases_by_call(db: Database) -> DataLoader[int, list[Phase]]:
    return many_by(db, Phase, Phase.call_id, [Phase.position])
