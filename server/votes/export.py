"""The exported ballots file of a published vote: one CSV row per cast ballot.

Columns:

- ``row_id``: a random identifier of the row, made when the file is written. It links to
  nothing: not to the person, not to the persona, not to the order ballots were cast in.
- ``persona_id`` and ``persona_name``: public ballots only, the persona the ballot was last cast
  as (empty when that persona no longer exists). Secret ballots have neither column.
- ``content``: the ballot as JSON: the option ids chosen (support, approval, budgeting), the
  option ids in order of preference (ranked), or ``{"statement id": 1 | -1 | 0}`` for agree,
  disagree and pass (statements).

Rows are in a random order. The file is UTF-8 with ``\\n`` line endings, and its SHA-256 (of the
exact bytes served) is published with the result. The file itself is written once, when the
result is published, into ``ballot_exports``, so what is served later is byte for byte what the
result was computed from.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.personas.models import Persona
from server.votes.models import Ballot, BallotExport, CastBallot

SECRET_COLUMNS = ("row_id", "content")
PUBLIC_COLUMNS = ("row_id", "persona_id", "persona_name", "content")
PUBLISHED_ACTION = "ballot.published"


class ExportError(ValueError):
    """An exported ballots file that cannot be read."""


@dataclass(frozen=True, slots=True)
class ExportRow:
    row_id: str
    content: Any
    persona_id: int | None = None
    persona_name: str | None = None


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_csv(rows: list[ExportRow], *, secret: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SECRET_COLUMNS if secret else PUBLIC_COLUMNS)
    for row in rows:
        content = json.dumps(row.content, separators=(",", ":"), sort_keys=True)
        if secret:
            writer.writerow((row.row_id, content))
        else:
            persona = "" if row.persona_id is None else str(row.persona_id)
            writer.writerow((row.row_id, persona, row.persona_name or "", content))
    return out.getvalue()


def read_csv(text: str) -> list[ExportRow]:
    """The rows of an exported ballots file; raises ``ExportError`` when it is malformed."""
    reader = csv.reader(io.StringIO(text))
    header = tuple(next(reader, ()))
    if header not in (SECRET_COLUMNS, PUBLIC_COLUMNS):
        raise ExportError(
            f"Unexpected columns {list(header)}: expected {list(SECRET_COLUMNS)} or "
            f"{list(PUBLIC_COLUMNS)}."
        )
    rows = []
    for number, record in enumerate(reader, start=2):
        if len(record) != len(header):
            raise ExportError(f"Line {number} has {len(record)} fields, not {len(header)}.")
        values = dict(zip(header, record, strict=True))
        try:
            content = json.loads(values["content"])
        except json.JSONDecodeError:
            raise ExportError(f"Line {number}: the content is not JSON.") from None
        persona = values.get("persona_id") or None
        if persona is not None and not persona.isdigit():
            raise ExportError(f"Line {number}: the persona id is not a number.")
        rows.append(
            ExportRow(
                row_id=values["row_id"],
                content=content,
                persona_id=int(persona) if persona is not None else None,
                persona_name=values.get("persona_name") or None,
            )
        )
    return rows


async def build_rows(session: AsyncSession, ballot: Ballot) -> list[ExportRow]:
    """Every cast ballot, in a random order with random row ids (persona columns for public
    ballots only)."""
    query = (
        select(CastBallot.content, CastBallot.persona_id, Persona.display_name)
        .outerjoin(Persona, Persona.id == CastBallot.persona_id)
        .where(CastBallot.ballot_id == ballot.id)
    )
    records = list(await session.execute(query))
    secrets.SystemRandom().shuffle(records)
    used: set[str] = set()
    rows = []
    for content, persona_id, name in records:
        row_id = secrets.token_hex(8)
        while row_id in used:  # pragma: no cover - 64 random bits
            row_id = secrets.token_hex(8)
        used.add(row_id)
        if ballot.secret:
            rows.append(ExportRow(row_id=row_id, content=content))
        else:
            rows.append(
                ExportRow(row_id=row_id, content=content, persona_id=persona_id, persona_name=name)
            )
    return rows


async def published_file(session: AsyncSession, ballot_id: int) -> str | None:
    """The exported ballots file written when the vote's result was published."""
    return await session.scalar(
        select(BallotExport.content).where(BallotExport.ballot_id == ballot_id)
    )
