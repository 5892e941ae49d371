"""DataLoaders for ideas and what hangs off them, so lists of ideas cost a fixed number of
queries however long they are."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import or_, select
from strawberry.dataloader import DataLoader

from server.db import Database
from server.ideas.models import Endorsement, Idea, IdeaFollow, IdeaRevision
from server.loaders import by_id, many_by

# (idea id, account id, person id or None): who is looking is part of the key, so one loader
# serves the request whoever the viewer is (always the same one in practice).
ViewerKey = tuple[int, int, int | None]


def idea_by_id(db: Database) -> DataLoader[int, Idea | None]:
    return by_id(db, Idea)


def revisions_by_idea(db: Database) -> DataLoader[int, list[IdeaRevision]]:
    return many_by(db, IdeaRevision, IdeaRevision.idea_id, order_by=[IdeaRevision.version.desc()])


def _by_viewer(keys: Sequence[ViewerKey]) -> dict[tuple[int, int | None], list[int]]:
    groups: dict[tuple[int, int | None], list[int]] = defaultdict(list)
    for idea_id, account_id, person_id in keys:
        groups[(account_id, person_id)].append(idea_id)
    return groups


def endorsed_by_viewer(db: Database) -> DataLoader[ViewerKey, bool]:
    async def load(keys: Sequence[ViewerKey]) -> list[bool]:
        found: set[ViewerKey] = set()
        async with db.session() as session:
            for (account_id, person_id), idea_ids in _by_viewer(keys).items():
                who = Endorsement.account_id == account_id
                if person_id is not None:
                    who = or_(who, Endorsement.person_id == person_id)
                rows = await session.scalars(
                    select(Endorsement.idea_id).where(Endorsement.idea_id.in_(idea_ids), who)
                )
                found.update((i, account_id, person_id) for i in rows)
        return [k in found for k in keys]

    return DataLoader(load_fn=load)


def followed_by_viewer(db: Database) -> DataLoader[ViewerKey, bool]:
    async def load(keys: Sequence[ViewerKey]) -> list[bool]:
        found: set[ViewerKey] = set()
        async with db.session() as session:
            for (account_id, person_id), idea_ids in _by_viewer(keys).items():
                rows = await session.scalars(
                    select(IdeaFollow.idea_id).where(
                        IdeaFollow.idea_id.in_(idea_ids), IdeaFollow.account_id == account_id
                    )
                )
                found.update((i, account_id, person_id) for i in rows)
        return [k in found for k in keys]

    return DataLoader(load_fn=load)
