"""Anyone can recount every published vote from the open-data package alone."""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
import sys
from pathlib import Path

from server.db import Database
from server.settings import PROJECT_ROOT
from server.votes.models import BallotKind, ResultMethod
from server.votes.package_verify import verify_package
from tests.opendata.conftest import export
from tests.votes.factories import make_ballot, make_voting_call
from tests.votes.test_pages import option_ids
from tests.votes.test_results import ballots_for, cast_all, close_and_publish

VOTES = [
    (BallotKind.SUPPORT, ResultMethod.TOTALS, {"threshold": 3}),
    (BallotKind.APPROVAL, ResultMethod.TOTALS, {}),
    (BallotKind.BUDGETING, ResultMethod.EQUAL_SHARES, {}),
    (BallotKind.RANKED, ResultMethod.INSTANT_RUNOFF, {}),
    (BallotKind.STATEMENTS, ResultMethod.OPINION_GROUPS, {}),
]


async def _published_votes(db: Database) -> None:
    async with db.session() as s, s.begin():
        call = await make_voting_call(s, slug="recount")
        for kind, method, settings in VOTES:
            ballot = await make_ballot(s, call, kind, **settings)
            ballot.result_method = method
            await cast_all(s, ballot, ballots_for(kind, await option_ids(s, ballot.id)))
            await close_and_publish(s, ballot)


async def test_every_published_vote_recounts_from_the_package(
    live_db: Database, tmp_path: Path
) -> None:
    await _published_votes(live_db)
    descriptor = await export(live_db, "platform", tmp_path / "package")
    verdicts = verify_package(descriptor.parent)
    assert len(verdicts) == len(VOTES)
    assert [v.problems for v in verdicts] == [()] * len(VOTES)
    # The command prints OK for each and exits 0.
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "server.cli",
            "results",
            "verify",
            "--package",
            str(descriptor.parent),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("OK: vote") == len(VOTES)


async def test_a_changed_ballot_in_the_package_is_caught(live_db: Database, tmp_path: Path) -> None:
    await _published_votes(live_db)
    descriptor = await export(live_db, "platform", tmp_path / "package")
    path = descriptor.parent / "cast_ballots.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with (descriptor.parent / "ballots.csv").open(newline="", encoding="utf-8") as f:
        approval = next(b["id"] for b in csv.DictReader(f) if b["kind"] == "approval")
    # One approval ballot now chooses nothing but the least chosen option: the totals move.
    votes = [r for r in rows if r["ballot_id"] == approval]
    chosen = [o for r in votes for o in json.loads(r["content"])]
    rarest = min(set(chosen), key=chosen.count)
    target = next(r for r in votes if json.loads(r["content"]) != [rarest])
    target["content"] = json.dumps([rarest])
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    verdicts = verify_package(descriptor.parent)
    assert any(v.problems for v in verdicts)
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "server.cli",
            "results",
            "verify",
            "--package",
            str(descriptor.parent),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "DIFFERENT" in done.stdout
