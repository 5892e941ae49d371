"""Smoke tests of the benchmark harness: the generator at a tiny scale, and the report writer on
made-up numbers. No timing is measured or asserted here."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from server.bench import generate as gen
from server.bench.processes import postgres_cpu_seconds, server_cpu, summarise_profile
from server.bench.report import Measure, Results, Row, markdown, write


async def test_generate_tiny_scale_is_consistent_and_idempotent(
    fresh_database: Callable[[], Awaitable[str]],
) -> None:
    url = await fresh_database()
    plan = gen.Plan.for_scale(0.01)
    result = await gen.generate(url, 0.01)
    assert not result.skipped
    rows = result.rows
    assert rows["ideas"] == plan.ideas
    assert rows["comments"] == plan.comments
    assert rows["persons"] == rows["accounts"] == rows["verifications"] == plan.people
    assert rows["personas"] == plan.people
    assert rows["cast_ballots"] == plan.cast_ballots
    assert rows["ballots"] == plan.ballots
    conn = await asyncpg.connect(gen.raw_dsn(url))
    try:
        for table in ("ideas", "comments", "persons", "cast_ballots", "endorsements", "venues"):
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == rows[table]  # noqa: S608
        assert await gen.check_counters(conn) == {
            "ideas.endorsement_count": 0,
            "ideas.comment_count": 0,
            "venues.registered": 0,
            "ballot_tallies": 0,
        }
        # Threads: every reply's path extends its parent's.
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM comments c JOIN comments p ON p.id = c.parent_id "
                "WHERE c.path NOT LIKE p.path || '.%' OR c.depth <> p.depth + 1"
            )
            == 0
        )
    finally:
        await conn.close()

    again = await gen.generate(url, 0.01)
    assert again.skipped
    with pytest.raises(gen.AlreadyGenerated):
        await gen.generate(url, 0.02)
    bigger = await gen.generate(url, 0.02, reset=True)
    assert bigger.rows["ideas"] == gen.Plan.for_scale(0.02).ideas
    conn = await asyncpg.connect(gen.raw_dsn(url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM ideas") == bigger.rows["ideas"]
        assert await conn.fetchval("SELECT count(*) FROM persons") == bigger.rows["persons"]
        added = await gen.add_published_casts(url, 50)
        assert added == 50
        assert (await gen.check_counters(conn))["ballot_tallies"] == 0
    finally:
        await conn.close()


def _fake() -> Results:
    load = {
        "requests": 600,
        "duration_us": 6_000_000,
        "mean_us": 9000.0,
        "p50_us": 8000,
        "p95_us": 15000,
        "p99_us": 20000,
        "bad": 0,
        "server_cpu_s": 1.2,
    }
    slower = {**load, "mean_us": 9900.0, "server_cpu_s": 1.5}
    results = Results(machine={"cpu": "Test CPU", "cores": 2}, config={"seconds per run": 6})
    results.rows = [
        Row(
            "1. cast",
            1,
            Measure.from_load(load, "ballots/s"),
            Measure(200, "ballots/s"),
            0.5,
            note="a made-up floor",
        ),
        Row("1. cast", 10, Measure.from_load(slower, "ballots/s"), Measure(100, "ballots/s"), 0.5),
    ]
    results.statements = [
        {"server": "app", "scale": 1, "first": 10, "statements": 6.0, "queries": 4.0}
    ]
    results.streaming = {"rows": 10, "mb": 1.0, "rss_growth_mb": 1.0}
    results.live = {
        "connections": 100,
        "opened": 99,
        "refused": 1,
        "connect_seconds": 0.5,
        "rss_before_mb": 200.0,
        "rss_held_mb": 210.0,
        "kb_per_connection": 103.4,
    }
    results.notes = ["made-up numbers"]
    return results


def test_report_writes_table_and_json(tmp_path: Path) -> None:
    results = _fake()
    json_path, md_path = write(results, tmp_path)
    data = json.loads(json_path.read_text())
    assert [r["ratio"] for r in data["rows"]] == [0.5, 1.0]
    assert data["scaling"][0]["growth_percent"] == pytest.approx(10.0)
    assert data["rows"][0]["app"]["cpu_ms"] == pytest.approx(2.0)  # 1.2 s over 600 requests
    assert data["scaling"][0]["cpu_growth_percent"] == pytest.approx(25.0)
    assert data["scaling"][0]["cpu_met"] is False
    text = md_path.read_text()
    assert text == markdown(results)
    assert "| 1. cast | 1 | 100.0 ballots/s |" in text
    assert "| 2.00 / – |" in text  # CPU per request: the app's, none given for the baseline
    assert "Test CPU" in text and "made-up numbers" in text
    assert "- 1. cast, scale 1: a made-up floor." in text
    assert "99 of 100 opened (1 refused)" in text and "about 103.4 KB per open page" in text


def test_profile_summary(tmp_path: Path) -> None:
    raw = tmp_path / "p.raw"
    raw.write_text("main (a.py:1);work (b.py:2) 3\nmain (a.py:1);idle (c.py:3) 1\n")
    text = summarise_profile(raw)
    assert "4 samples" in text
    assert "75.0%  work (b.py)" in text


async def test_server_cpu_counts_a_busy_process_and_postgresql(
    fresh_database: Callable[[], Awaitable[str]],
) -> None:
    """The CPU meter reads /proc: a process that computes for a while is seen doing so, and
    the suite's PostgreSQL has used some CPU by the time a database is made."""
    await fresh_database()
    into: dict[str, float] = {}
    with server_cpu([os.getpid()], into):
        deadline = time.process_time() + 0.3
        while time.process_time() < deadline:
            pass
    assert into["server_cpu_s"] >= 0.2
    assert postgres_cpu_seconds() > 0


def test_rounds_combine_into_medians() -> None:
    def run(rate: float, cpu: float, note: str) -> Row:
        app = Measure(rate, "req/s", p99_ms=1000 / rate, count=10, bad=1, cpu_ms=cpu)
        return Row("2. page", 1, app, Measure(2 * rate, "req/s", count=20), 0.5, note)

    row = Row.combined([run(100, 9.0, "first"), run(300, 3.0, "second"), run(200, 5.0, "last")])
    assert row.app.rate == 200 and row.baseline.rate == 400
    assert row.app.cpu_ms == 5.0 and row.app.p99_ms == pytest.approx(5.0)
    assert (row.app.count, row.app.bad, row.rounds, row.note) == (30, 3, 3, "last")
