from __future__ import annotations

from strawberry.dataloader import DataLoader

from server.db import Database
from server.loaders import by_id
from server.notifications.models import Notification


def notification_by_id(db: Database) -> DataLoader[int, Notification | None]:
    return by_id(db, Notification)
