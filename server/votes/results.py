"""Closing votes whose voting phase has ended, and publishing a closed vote's result: the
exported ballots file, counted exactly as a verifier will count it (``counting``), stored with its
hash.

The rest of what this module once held lives beside it: counting and verification in
``counting``, turnout and breakdowns in ``turnout``, tables and the opinion map in ``tables``.
Their names stay importable from here for the modules that use them through ``results``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.calls.models import Phase
from server.errors import Conflict
from server.votes import export
from server.votes.counting import (
    DEFINITION_VERSION,
    Verdict,
    compute,
    compute_json,
    definition,
    differences,
    fetch,
    verify,
    vote_address,
)
from server.votes.models import Ballot, BallotExport, BallotStatus
from server.votes.service import close_ballot, get_ballot, options_of
from server.votes.tables import MAP_MARGIN, MAP_SIZE, Table, opinion_map, result_tables, tally_table
from server.votes.turnout import (
    PERSONA_KIND_LABELS,
    Group,
    breakdowns,
    changes_count,
    eligible_count,
    meets,
    show_live,
)

__all__ = [
    "DEFINITION_VERSION",
    "MAP_MARGIN",
    "MAP_SIZE",
    "PERSONA_KIND_LABELS",
    "Group",
    "Table",
    "Verdict",
    "breakdowns",
    "changes_count",
    "close_due_ballots",
    "compute",
    "compute_json",
    "definition",
    "differences",
    "eligible_count",
    "fetch",
    "meets",
    "opinion_map",
    "publish_results",
    "result_tables",
    "show_live",
    "tally_table",
    "verify",
    "vote_address",
]


async def close_due_ballots(session: AsyncSession, now: dt.datetime) -> list[int]:
    """Close every open vote whose voting phase has ended (as of when it ended)."""
    due = list(
        await session.execute(
            select(Ballot.id, Phase.ends_at)
            .join(Phase, Phase.id == Ballot.phase_id)
            .where(Ballot.status == BallotStatus.OPEN, Phase.ends_at <= now)
            .order_by(Ballot.id)
        )
    )
    closed = []
    for ballot_id, ended in due:
        ballot = await get_ballot(session, ballot_id, lock=True)
        if ballot.status == BallotStatus.OPEN:  # not closed meanwhile by someone else
            await close_ballot(session, ballot_id, now=min(ended, now), actor=None)
            closed.append(ballot_id)
    return closed


async def publish_results(
    session: AsyncSession, ballot_id: int, *, now: dt.datetime, actor: int | None
) -> Ballot:
    """Write the exported ballots file, count it, and publish the result with the file's hash."""
    ballot = await get_ballot(session, ballot_id, lock=True)
    if ballot.status != BallotStatus.CLOSED:
        raise Conflict(
            "Close the vote before publishing its result."
            if ballot.status in (BallotStatus.DRAFT, BallotStatus.OPEN)
            else "The result is already published."
        )
    options = await options_of(session, ballot.id)
    rows = await export.build_rows(session, ballot)
    text = export.write_csv(rows, secret=ballot.secret)
    # Count the file as written (read back), exactly as a verifier will.
    result = compute_json(definition(ballot, options), export.read_csv(text))
    ballot.result = result
    ballot.export_sha256 = export.sha256_of(text)
    ballot.status = BallotStatus.PUBLISHED
    ballot.published_at = now
    session.add(BallotExport(ballot_id=ballot.id, content=text, sha256=ballot.export_sha256))
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=export.PUBLISHED_ACTION,
        subject_type="ballot",
        subject_id=ballot.id,
        sha256=ballot.export_sha256,
        rows=len(rows),
    )
    return ballot
