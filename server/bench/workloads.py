"""The measured workloads, each against the app and its physical baseline: (1) casting ballots,
(2) the idea page and the call's list, (3) the GraphQL list query and its statements per
request, (4) streaming cast_ballots.csv; and py-spy profiles of 1 and 2. :class:`Workloads` is
the part of :class:`server.bench.run.Harness` that runs them, given the servers of a scale."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

from server.bench import generate as gen
from server.bench.database import (
    cast_counts,
    count_statements,
    make_ballot,
    make_tokens,
    published_casts,
    settle,
)
from server.bench.gql_baseline import global_id
from server.bench.processes import (
    Server,
    bench_json,
    load_tool,
    log,
    profile,
    rss_mb,
    server_cpu,
    summarise_profile,
    write_lines,
    wrk,
)
from server.bench.report import Measure, Results, Row
from server.settings import PROJECT_ROOT, Settings

TOKENS = 3000  # bearer tokens (people) used by the casting workload, per scale

LIST_QUERY = (
    "query List($slug: String!, $first: Int) { call(slug: $slug) { title ideas(first: $first) "
    "{ totalCount pageInfo { hasNextPage endCursor } edges { node { id title endorsementCount "
    "commentCount outcome { status } } } } } }"
)
FLOOR_QUERY = json.dumps({"query": "{ __typename }"})
CAST_MUTATION = (
    "mutation Cast($ballotId: ID!, $personaId: ID!, $choices: JSON!) { castBallot(ballotId: "
    "$ballotId, personaId: $personaId, choices: $choices) { myVote { changes } errors { message "
    "code } } }"
)


def tag(scale: float) -> str:
    return f"{scale:g}".replace(".", "_")


class Workloads:
    """The workloads of a run, as methods of the harness: ``args`` are the command line's,
    ``root`` holds the cluster and the servers' logs, ``work`` the request files."""

    args: argparse.Namespace
    root: Path
    work: Path
    results: Results
    slugs: dict[float, list[str]]  # per scale, the generated calls, found by workload 2's fixtures
    runs: dict[tuple[str, float], list[Row]]  # each round's figures, before their medians

    def record(self, row: Row) -> None:
        self.runs.setdefault((row.workload, row.scale), []).append(row)

    def combine(self) -> None:
        """The results' rows: per workload and scale, the median of its rounds."""
        self.results.rows = [Row.combined(runs) for runs in self.runs.values()]

    def env(self, url: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MOOT_", "GRAPHQL_", "DB_", "LOG_"))
        }
        env.update(
            DATABASE_URL=url,
            MOOT_ENV="production",
            MOOT_VAR_DIR=str(self.root),
            GRAPHQL_RATE_PER_MINUTE="0",
            LOG_LEVEL="INFO",
            PYTHONPATH=str(PROJECT_ROOT),
        )
        return env

    def settings(self, url: str) -> Settings:
        return Settings.from_env(self.env(url))

    def measured(self, server: Server | None, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``run``'s load figures, with the CPU the server and PostgreSQL used meanwhile."""
        cpu: dict[str, Any] = {}
        with server_cpu(server.workers() if server else [], cpu):
            data = run()
        return {**data, **cpu}

    def load(self, server: Server, lines: Path, clients: int | None = None) -> dict[str, Any]:
        """wrk against ``server`` for the run's seconds, with the server's CPU."""
        return self.measured(
            server,
            lambda: wrk(
                server.base,
                lines,
                seconds=self.args.seconds,
                clients=clients or self.args.page_clients,
            ),
        )

    # -- workload 1 --

    async def cast_fixtures(
        self, url: str, scale: float
    ) -> tuple[Path, Path, tuple[int, int], Path]:
        dsn = gen.raw_dsn(url)
        conn = await asyncpg.connect(dsn)
        try:
            app_ballot, app_options = await make_ballot(conn, "Benchmark vote (app)")
            base_ballot, base_options = await make_ballot(conn, "Benchmark vote (baseline)")
        finally:
            await conn.close()
        people = await make_tokens(url, self.settings(url), TOKENS)
        lines = []
        floor = []
        baseline_people = []
        for i, (_, person_id, persona_id, token) in enumerate(people):
            choices = sorted({app_options[i % 5], app_options[(i * 3 + 1) % 5]})
            variables = {
                "ballotId": global_id("Ballot", app_ballot),
                "personaId": global_id("Persona", persona_id),
                "choices": choices,
            }
            body = {"query": CAST_MUTATION, "variables": variables}
            headers = f"Authorization: Bearer {token}|Content-Type: application/json"
            lines.append(("POST", "/graphql", headers, json.dumps(body, separators=(",", ":"))))
            floor.append(("POST", "/graphql", headers, FLOOR_QUERY))
            base_choices = sorted({base_options[i % 5], base_options[(i * 3 + 1) % 5]})
            baseline_people.append(f"{person_id}\t{persona_id}\t{json.dumps(base_choices)}")
        tagname = tag(scale)
        people_file = self.work / f"people-{tagname}.txt"
        people_file.write_text("\n".join(baseline_people) + "\n")
        cast_lines = write_lines(self.work / f"cast-{tagname}.txt", lines)
        floor_lines = write_lines(self.work / f"floor-{tagname}.txt", floor)
        return cast_lines, people_file, (app_ballot, base_ballot), floor_lines

    def workload_cast(
        self,
        scale: float,
        app: Server,
        dsn: str,
        lines: Path,
        people_file: Path,
        ballots: tuple[int, int],
        floor_lines: Path,
    ) -> None:
        log(f"scale {scale:g}: casting")
        app_data = self.load(app, lines, self.args.clients)
        # What the same endpoint costs with nothing to do but check the token: the ceiling the
        # HTTP, GraphQL and authentication layers alone put on casting, on this machine.
        floor = Measure.from_load(self.load(app, floor_lines, self.args.clients), "req/s")
        base_data = self.measured(
            None,  # the baseline's server is PostgreSQL alone
            lambda: load_tool(
                "cast-baseline",
                dsn,
                str(ballots[1]),
                str(people_file),
                "--seconds",
                str(self.args.seconds),
                "--clients",
                str(self.args.clients),
            ),
        )
        counts = asyncio.run(cast_counts(dsn, ballots[0]))
        asyncio.run(settle(dsn))
        note = (
            f"{counts['ballots']:,} ballots recorded, {counts['changes']:,} changes "
            f"(tokens cycle over {TOKENS:,} people); floor, an authenticated "
            f"`{{ __typename }}` on the same endpoint: {floor.rate:,.0f} req/s, p99 "
            f"{floor.p99_ms or 0:,.0f} ms, {floor.cpu_ms or 0:.2f} ms server CPU per request"
        )
        self.record(
            Row(
                "1. cast ballot",
                scale,
                Measure.from_load(app_data, "ballots/s"),
                Measure.from_load({**base_data, "socket_errors": 0}, "ballots/s"),
                0.5,
                note,
            )
        )

    # -- workload 2 --

    async def page_fixtures(self, dsn: str, scale: float) -> dict[str, Path]:
        conn = await asyncpg.connect(dsn)
        try:
            ideas = await conn.fetch(
                "SELECT i.id FROM ideas i JOIN calls c ON c.id = i.call_id "
                "WHERE c.slug LIKE 'generated-call-%' ORDER BY i.id"
            )
            slugs = [
                r["slug"]
                for r in await conn.fetch(
                    "SELECT slug FROM calls WHERE slug LIKE 'generated-call-%' ORDER BY id"
                )
            ]
        finally:
            await conn.close()
        step = max(1, len(ideas) // 200)
        t = tag(scale)
        return {
            "idea page": write_lines(
                self.work / f"idea-{t}.txt",
                [("GET", f"/ideas/{r['id']}", "", "") for r in ideas[::step]],
            ),
            "idea list page": write_lines(
                self.work / f"list-{t}.txt", [("GET", f"/calls/{s}/ideas", "", "") for s in slugs]
            ),
            "idea list fragment": write_lines(
                self.work / f"fragment-{t}.txt",
                [("GET", f"/calls/{s}/ideas", "HX-Request: true", "") for s in slugs],
            ),
            "_slugs": Path(",".join(slugs)),
        }

    def workload_pages(
        self, scale: float, app: Server, baseline: Server, lines: dict[str, Path]
    ) -> None:
        for name, path in lines.items():
            if name.startswith("_"):
                continue
            log(f"scale {scale:g}: {name}")
            a = self.load(app, path)
            b = self.load(baseline, path)
            self.record(
                Row(
                    f"2. {name}",
                    scale,
                    Measure.from_load(a, "req/s"),
                    Measure.from_load(b, "req/s"),
                    0.5,
                )
            )

    # -- workload 3 --

    @staticmethod
    def _list_body(slug: str, first: int) -> str:
        return json.dumps(
            {"query": LIST_QUERY, "variables": {"slug": slug, "first": first}},
            separators=(",", ":"),
        )

    def api_fixtures(self, scale: float, lines: dict[str, Path]) -> Path:
        self.slugs[scale] = str(lines["_slugs"]).split(",")
        return write_lines(
            self.work / f"api-{tag(scale)}.txt",
            [
                ("POST", "/graphql", "Content-Type: application/json", self._list_body(s, 50))
                for s in self.slugs[scale]
            ],
        )

    def workload_api(self, scale: float, app: Server, baseline: Server, path: Path) -> None:
        log(f"scale {scale:g}: GraphQL list query")
        a = self.load(app, path)
        b = self.load(baseline, path)
        self.record(
            Row(
                "3. GraphQL call → ideas(first: 50)",
                scale,
                Measure.from_load(a, "req/s"),
                Measure.from_load(b, "req/s"),
                0.4,
            )
        )

    def statements_per_request(self, scale: float, app: Server, baseline: Server, dsn: str) -> None:
        """Workload 3's SQL statements per request, for first: 10 and first: 50."""
        for server in (app, baseline):
            for first in (10, 50):

                async def send(server: Server = server, first: int = first) -> None:
                    async with httpx.AsyncClient() as client:
                        response = await client.post(
                            server.base + "/graphql",
                            content=self._list_body(self.slugs[scale][0], first),
                            headers={"content-type": "application/json"},
                        )
                        data = response.json()
                        if data.get("errors") or not data.get("data", {}).get("call"):
                            raise RuntimeError(f"{server.name}: {response.text[:500]}")

                total, queries = asyncio.run(count_statements(dsn, send, 10))
                self.results.statements.append(
                    {
                        "server": "Strawberry (app)" if server is app else "graphql-core",
                        "scale": scale,
                        "first": first,
                        "statements": total,
                        "queries": queries,
                    }
                )

    # -- workload 4 --

    def workload_stream(self, app: Server, url: str, dsn: str) -> None:
        from server.identity.keys import Keys
        from server.opendata import package as packages
        from server.opendata.resources import BY_NAME

        existing = asyncio.run(published_casts(dsn))
        if existing < self.args.stream_rows:
            log(f"adding {self.args.stream_rows - existing:,} published cast ballots")
            asyncio.run(gen.add_published_casts(url, self.args.stream_rows - existing))
        rows = asyncio.run(published_casts(dsn))
        key = packages.anonymisation_key(Keys.load(self.settings(url)).sign)

        async def query() -> str:
            conn = await asyncpg.connect(dsn)
            try:
                ref = await packages.find_package(conn, packages.PLATFORM)
                assert ref is not None
                return packages.file_query(BY_NAME["cast_ballots"], ref, jsonl=False, key=key)
            finally:
                await conn.close()

        query_file = self.work / "copy.sql"
        query_file.write_text(asyncio.run(query()))
        log(f"streaming {rows:,} cast ballots: COPY baseline")
        base = load_tool("copy-baseline", dsn, str(query_file))
        log("streaming: app")
        workers = app.workers()
        before = {p: rss_mb(p) for p in workers}
        peak = dict(before)
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                for p in workers:
                    peak[p] = max(peak[p], rss_mb(p))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            got = load_tool("stream", f"{app.base}/open-data/{packages.PLATFORM}/cast_ballots.csv")
        finally:
            stop.set()
            sampler.join()
        growth = {p: peak[p] - before[p] for p in workers}
        worst = max(growth, key=lambda p: growth[p]) if growth else None
        app_rate = got["bytes"] / 1e6 / got["seconds"] if got["status"] == 200 else 0.0
        self.record(
            Row(
                "4. cast_ballots.csv stream",
                max(self.args.scales),
                Measure(rate=app_rate, unit="MB/s", count=1, bad=int(got["status"] != 200)),
                Measure(rate=base["bytes"] / 1e6 / base["seconds"], unit="MB/s", count=1),
                0.5,
                f"HTTP {got['status']}, {got['bytes']:,} bytes vs COPY {base['bytes']:,} bytes",
            )
        )
        self.results.streaming = {
            "rows": rows,
            "mb": got["bytes"] / 1e6,
            "rss_before_mb": before.get(worst, 0.0) if worst else None,
            "rss_peak_mb": peak.get(worst, 0.0) if worst else None,
            "rss_growth_mb": growth.get(worst, 0.0) if worst else None,
            "met": bool(worst is not None and growth[worst] < 50),
        }

    # -- live updates --

    def workload_live(self, app: Server, pages: dict[str, Path]) -> None:
        """How many open idea pages (server-sent event streams) one app holds, and the memory
        they take: what sizes a pod for the evening a popular idea is discussed."""
        first = pages["idea page"].read_text().split("\t")[1]  # /ideas/<id>
        url = f"{app.base}{first}/comments/stream"
        n = self.args.live_connections
        log(f"holding {n:,} live comment streams")
        workers = app.workers()
        before = sum(rss_mb(p) for p in workers)
        tool = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                *(sys.executable, "-m", "server.bench.load", "hold-streams", url),
                *("--connections", str(n), "--seconds", "3"),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=PROJECT_ROOT,
        )
        assert tool.stdout is not None
        ready = tool.stdout.readline().strip() == "READY"
        time.sleep(1)  # the workers settle after accepting the last stream
        held = sum(rss_mb(p) for p in workers)
        out, _ = tool.communicate(timeout=300)
        if not ready or tool.returncode != 0:
            raise RuntimeError(f"hold-streams failed: {out[-2000:]}")
        data = bench_json(out)
        growth = held - before
        self.results.live = {
            "connections": n,
            "opened": data["opened"],
            "refused": data["refused"],
            "connect_seconds": data["connect_seconds"],
            "rss_before_mb": before,
            "rss_held_mb": held,
            "kb_per_connection": growth * 1024 / data["opened"] if data["opened"] else None,
        }

    # -- profiles --

    def profiles(self, app: Server, cast_lines: Path, pages: dict[str, Path]) -> None:
        workers = app.workers()
        if not workers:
            return
        out = Path(self.args.out)
        out.mkdir(parents=True, exist_ok=True)
        seconds = min(self.args.seconds, 5)
        for name, lines, clients in (
            ("cast", cast_lines, self.args.clients),
            ("idea-page", pages["idea page"], self.args.page_clients),
            ("idea-list", pages["idea list page"], self.args.page_clients),
        ):
            raw = self.work / f"profile-{name}.raw"
            log(f"profiling {name} (py-spy on worker {workers[0]})")
            spy = profile(workers[0], seconds, raw)
            if spy is None:
                return
            time.sleep(0.5)
            wrk(app.base, lines, seconds=seconds, clients=clients)
            spy.wait(timeout=60)
            if raw.exists():
                (out / f"profile-{name}.txt").write_text(summarise_profile(raw))
