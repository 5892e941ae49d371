"""``make bench``: measure each workload side by side with its physical baseline.

    python -m server.bench.run [--scales 1 10] [--seconds 6] [--rounds 3] [--clients 64]
                               [--workers 2] [--stream-rows 1000000] [--profile]
                               [--only cast pages api stream]

1. Starts a private PostgreSQL under ``var/bench/pg`` (server.pg, *fast* settings: fsync,
   synchronous_commit and full_page_writes off; pg_stat_statements preloaded), makes one
   database per scale and generates it (``server.bench.generate``).
2. Per scale, serves the app (``server.asgi:app`` with MOOT_ENV=production, the rate limit off)
   and the baseline app (:mod:`server.bench.baseline_app`), each in ``--workers`` uvicorn
   processes on 127.0.0.1, all scales at once, and drives them with wrk
   (``bench/wrk/requests.lua``) from another process. Each round measures every workload at
   every scale in turn; the figures are medians over ``--rounds`` rounds, and beside throughput
   each records the CPU the server and PostgreSQL used per request (read from /proc).
3. Workloads: (1) castBallot with bearer tokens vs an asyncpg INSERT … ON CONFLICT loop, both at
   ``--clients`` concurrency; (2) the idea page and the call's list (page and htmx fragment) vs
   the same templates over bare asyncpg; (3) the public list query through Strawberry vs
   graphql-core, plus SQL statements per request for first: 10 and 50; (4) at the largest scale,
   streaming cast_ballots.csv of ``--stream-rows`` rows vs COPY TO STDOUT, with the server's RSS
   growth; (5) the growth of time per request between the smallest and largest scale.
4. Writes bench/results/latest.json and latest.md. ``--profile`` also samples one app worker with
   py-spy during extra runs of workloads 1 and 2 and writes bench/results/profile-*.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from server import migrate
from server.bench import generate as gen
from server.bench import report
from server.bench.database import admin_db, bench_cluster, fresh_database
from server.bench.processes import Server, log
from server.bench.report import Results
from server.bench.workloads import Workloads, tag
from server.settings import PROJECT_ROOT

APP_PORT = 8181
BASELINE_PORT = 8182
WORKLOADS = ("cast", "pages", "api", "stream", "live")


class Harness(Workloads):
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.root = Path(args.root).resolve()
        self.work = Path(tempfile.mkdtemp(prefix="moot-bench-"))
        self.slugs = {}
        self.runs = {}
        self.results = Results(
            machine={},
            config={
                "scales": " and ".join(f"{s:g}" for s in args.scales),
                "seconds per run": args.seconds,
                "rounds": f"{args.rounds} (figures are medians; the scales are measured in turn)",
                "cast clients": args.clients,
                "page/API clients": args.page_clients,
                "uvicorn workers per app": args.workers,
                "PostgreSQL": "private cluster, fast settings (fsync, synchronous_commit, "
                "full_page_writes off)",
                "app": "MOOT_ENV=production, GRAPHQL_RATE_PER_MINUTE=0, LOG_LEVEL=INFO",
            },
        )

    def run(self) -> Results:
        try:
            return self._run()
        finally:
            shutil.rmtree(self.work, ignore_errors=True)

    def _run(self) -> Results:
        self.root.mkdir(parents=True, exist_ok=True)
        with bench_cluster(self.root / "pg") as cluster:
            version = cluster.psql("SHOW server_version")
            self.results.machine = report.machine(version)
            urls = {}
            for scale in self.args.scales:
                urls[scale] = asyncio.run(fresh_database(cluster, f"moot_bench_{tag(scale)}"))
                migrate.upgrade(urls[scale])
                asyncio.run(
                    admin_db(urls[scale], "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                )
                done = asyncio.run(gen.generate(urls[scale], scale))
                log(
                    f"scale {scale:g}: {sum(done.rows.values()):,} rows generated in "
                    f"{done.seconds:.1f} s"
                )
            self.measure(urls)
        return self.results

    def stage(self, index: int, scale: float, url: str) -> Stage:
        """One scale's fixtures and servers (ports by index, so all scales serve at once)."""
        dsn = gen.raw_dsn(url)
        cast = asyncio.run(self.cast_fixtures(url, scale))
        pages = asyncio.run(self.page_fixtures(dsn, scale))
        api = self.api_fixtures(scale, pages)
        env = self.env(url)
        app = Server(
            f"app-{tag(scale)}", "server.asgi:app", APP_PORT + 2 * index, env, self.args.workers
        )
        baseline = Server(
            f"baseline-{tag(scale)}",
            "server.bench.baseline_app:create",
            BASELINE_PORT + 2 * index,
            env,
            self.args.workers,
        )
        stage = Stage(scale, url, dsn, app, baseline, cast, pages, api)
        try:
            app.wait_ready()
            baseline.wait_ready()
        except Exception:
            stage.stop()
            raise
        return stage

    def measure(self, urls: dict[float, str]) -> None:
        """Every scale's servers run side by side, and each round measures the scales in turn
        (the first one alternating): background load on a shared machine then falls on all
        scales alike, instead of on whichever ran while it lasted. Figures are medians."""
        stages: list[Stage] = []
        only = set(self.args.only)
        try:
            for index, scale in enumerate(self.args.scales):
                stages.append(self.stage(index, scale, urls[scale]))
            for n in range(self.args.rounds):
                log(f"round {n + 1} of {self.args.rounds}")
                for st in stages if n % 2 == 0 else stages[::-1]:
                    if "cast" in only:
                        self.workload_cast(st.scale, st.app, st.dsn, *st.cast)
                    if "pages" in only:
                        self.workload_pages(st.scale, st.app, st.baseline, st.pages)
                    if "api" in only:
                        self.workload_api(st.scale, st.app, st.baseline, st.api)
            for st in stages:
                if "api" in only:
                    self.statements_per_request(st.scale, st.app, st.baseline, st.dsn)
            if self.args.profile:
                first = stages[0]
                self.profiles(first.app, first.cast[0], first.pages)
            largest = stages[-1] if stages else None
            if largest is not None and self.args.stream_rows and "stream" in only:
                self.workload_stream(largest.app, largest.url, largest.dsn)
            if largest is not None and self.args.live_connections and "live" in only:
                self.workload_live(largest.app, largest.pages)
        finally:
            for st in stages:
                st.stop()
        self.combine()


@dataclass
class Stage:
    scale: float
    url: str
    dsn: str
    app: Server
    baseline: Server
    # request lines, the baseline's people, the two ballots, the floor's request lines
    cast: tuple[Path, Path, tuple[int, int], Path]
    pages: dict[str, Path]
    api: Path

    def stop(self) -> None:
        self.app.stop()
        self.baseline.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server.bench.run", description=__doc__)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per run (app or baseline)")
    parser.add_argument("--clients", type=int, default=64, help="casting concurrency")
    parser.add_argument("--page-clients", type=int, default=32, help="pages and API")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per app")
    parser.add_argument("--stream-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--live-connections", type=int, default=1000, help="open idea pages held at once"
    )
    parser.add_argument("--root", default=str(PROJECT_ROOT / "var" / "bench"))
    parser.add_argument("--out", default=str(PROJECT_ROOT / "bench" / "results"))
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of each workload per scale (medians)"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy profiles of 1 and 2")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=WORKLOADS,
        default=list(WORKLOADS),
        help="measure only these workloads (while working on one; commit full runs only)",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    results = Harness(args).run()
    json_path, md_path = report.write(results, Path(args.out))
    print(md_path.read_text())
    log(f"written {json_path} and {md_path}")


if __name__ == "__main__":
    main()
