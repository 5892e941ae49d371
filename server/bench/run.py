"""``make bench``: measure each workload side by side with its physical baseline.

    python -m server.bench.run [--scales 1 10] [--seconds 6] [--clients 64] [--workers 2]
                               [--stream-rows 1000000] [--profile]

1. Starts a private PostgreSQL under ``var/bench/pg`` (server.pg, *fast* settings: fsync,
   synchronous_commit and full_page_writes off; pg_stat_statements preloaded), makes one
   database per scale and generates it (``server.bench.generate``).
2. Per scale, serves the app (``server.asgi:app`` with MOOT_ENV=production, the rate limit off,
   through :mod:`server.bench.apps` when a measured feature is not wired in yet) and the
   baseline app (:mod:`server.bench.baseline_app`), each in ``--workers`` uvicorn processes on
   127.0.0.1, and drives them with wrk (``bench/wrk/requests.lua``) from another process.
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
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

from server import migrate
from server.bench import generate as gen
from server.bench import report
from server.bench.gql_baseline import global_id
from server.bench.report import Measure, Results, Row
from server.pg import Cluster
from server.settings import PROJECT_ROOT, Settings

HOST = "127.0.0.1"
APP_PORT = 8181
BASELINE_PORT = 8182
WRK_SCRIPT = PROJECT_ROOT / "bench" / "wrk" / "requests.lua"
TOKENS = 3000  # bearer tokens (people) used by the casting workload, per scale

LIST_QUERY = (
    "query List($slug: String!, $first: Int) { call(slug: $slug) { title ideas(first: $first) "
    "{ totalCount pageInfo { hasNextPage endCursor } edges { node { id title endorsementCount "
    "commentCount outcome { status } } } } } }"
)
CAST_MUTATION = (
    "mutation Cast($ballotId: ID!, $personaId: ID!, $choices: JSON!) { castBallot(ballotId: "
    "$ballotId, personaId: $personaId, choices: $choices) { myVote { changes } errors { message "
    "code } } }"
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def tag(scale: float) -> str:
    return f"{scale:g}".replace(".", "_")


# --- PostgreSQL ------------------------------------------------------------------------------


@contextlib.contextmanager
def bench_cluster(root: Path) -> Iterator[Cluster]:
    cluster = Cluster.at(root)
    cluster.init()
    conf = cluster.data_dir / "postgresql.conf"
    if "pg_stat_statements" not in conf.read_text():
        with conf.open("a") as f:
            f.write(
                "\n# Moot benchmarks: count statements per request.\n"
                "shared_preload_libraries = 'pg_stat_statements'\n"
                "pg_stat_statements.track_utility = on\n"
            )
    started = cluster.start(fast=True)
    try:
        yield cluster
    finally:
        if started:
            cluster.stop()


async def admin(cluster: Cluster, sql: str) -> None:
    conn = await asyncpg.connect(gen.raw_dsn(cluster.url("postgres")))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fresh_database(cluster: Cluster, name: str) -> str:
    await admin(cluster, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(cluster, f'CREATE DATABASE "{name}"')
    return cluster.url(name)


# --- fixtures for the workloads --------------------------------------------------------------


async def make_ballot(conn: asyncpg.Connection, title: str) -> tuple[int, list[int]]:
    call = await conn.fetchrow(
        "SELECT b.call_id, b.phase_id, b.eligibility FROM ballots b JOIN calls c ON "
        "c.id = b.call_id WHERE c.slug = 'generated-call-1' AND b.status = 'open' LIMIT 1"
    )
    ballot_id = await conn.fetchval(
        "INSERT INTO ballots (call_id, phase_id, kind, title, description, max_choices, "
        "result_method, eligibility, secret, live_results, status) VALUES ($1, $2, 'approval', "
        "$3, '', 2, 'totals', $4, true, false, 'open') RETURNING id",
        call["call_id"],
        call["phase_id"],
        title,
        call["eligibility"],
    )
    options = [
        await conn.fetchval(
            "INSERT INTO ballot_options (ballot_id, position, title, description) "
            "VALUES ($1, $2, $3, '') RETURNING id",
            ballot_id,
            position,
            f"Option {position + 1}",
        )
        for position in range(5)
    ]
    return ballot_id, options


async def make_tokens(url: str, settings: Settings, count: int) -> list[tuple[int, int, int, str]]:
    """(account id, person id, persona id, bearer token) for ``count`` generated people, made
    with ``server.identity.tokens.create_token`` like any personal access token."""
    from sqlalchemy import select

    from server.db import Database, create_engine
    from server.identity import tokens
    from server.identity.keys import Keys
    from server.identity.models import Account
    from server.personas.models import Persona

    keys = Keys.load(settings)
    db = Database(create_engine(url, pool_size=1))
    out = []
    try:
        async with db.session() as session, session.begin():
            rows = await session.execute(
                select(Account, Persona.id)
                .join(Persona, Persona.account_id == Account.id)
                .where(Account.email.like(f"%@{gen.EMAIL_DOMAIN}"))
                .order_by(Account.id)
                .limit(count)
            )
            now = dt.datetime.now(dt.UTC)
            for account, persona_id in rows:
                _, token = await tokens.create_token(
                    session,
                    keys,
                    account,
                    name="benchmark",
                    scopes={"read", "participate"},
                    expires_in=dt.timedelta(days=2),
                    now=now,
                )
                assert account.person_id is not None
                out.append((account.id, account.person_id, persona_id, token))
    finally:
        await db.dispose()
    return out


def write_lines(path: Path, lines: list[tuple[str, str, str, str]]) -> Path:
    with path.open("w") as f:
        for method, target, headers, body in lines:
            f.write(f"{method}\t{target}\t{headers or '-'}\t{body or '-'}\n")
    return path


# --- servers ---------------------------------------------------------------------------------


class Server:
    def __init__(self, name: str, factory: str, port: int, env: dict[str, str], workers: int):
        self.name, self.port = name, port
        self.log_path = Path(env["MOOT_VAR_DIR"]) / f"{name}.log"
        self.log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "uvicorn",
                factory,
                "--factory",
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--no-access-log",
                "--proxy-headers",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=self.log_file,
            stderr=self.log_file,
            start_new_session=True,
        )

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not start; see {self.log_path}")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            pids = [int(p) for p in children.read_text().split()]
        except OSError:
            return []
        return [p for p in pids if "resource_tracker" not in _cmdline(p)]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log_file.close()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def rss_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
    return int(found.group(1)) / 1024 if found else 0.0


# --- load ------------------------------------------------------------------------------------


def _bench_json(output: str) -> dict[str, Any]:
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            data: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            return data
    raise RuntimeError(f"no result in:\n{output[-2000:]}")


def wrk(
    base: str, lines: Path, *, seconds: float, clients: int, threads: int = 2
) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 - fixed program
        [  # noqa: S607 - wrk from PATH (Debian's package)
            "wrk",
            f"-t{threads}",
            f"-c{clients}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_SCRIPT),
            base,
            "--",
            str(lines),
            str(threads),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    if result.stderr.strip():
        log("wrk: " + result.stderr.strip().splitlines()[0])
    return _bench_json(result.stdout)


def load_tool(*args: str, timeout: float = 600) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "server.bench.load", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=PROJECT_ROOT,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return _bench_json(result.stdout)


async def count_statements(
    dsn: str, send: Any, requests: int, warm_up: int = 20
) -> tuple[float, float]:
    """Statements the server ran per request (pg_stat_statements), total and queries only."""
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(warm_up):  # both workers' pools connected, types introspected
            await send()
        await conn.execute("SELECT pg_stat_statements_reset()")
        for _ in range(requests):
            await send()
        rows = await conn.fetch(
            "SELECT query, calls FROM pg_stat_statements WHERE query NOT ILIKE "
            "'%pg_stat_statements%'"
        )
    finally:
        await conn.close()
    total = sum(r["calls"] for r in rows)
    # Queries: what reads or writes data; not BEGIN/ROLLBACK, nor asyncpg's connection reset
    # (SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL) on release to a pool.
    queries = sum(
        r["calls"]
        for r in rows
        if r["query"].lstrip().split(" ")[0].upper()
        in {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}
        and "pg_advisory_unlock_all" not in r["query"]
    )
    return total / requests, queries / requests


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        log("py-spy is not installed: no profile")
        return None
    return subprocess.Popen(  # noqa: S603 - fixed program
        [
            spy,
            "record",
            "-p",
            str(pid),
            "-d",
            str(int(seconds)),
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarise_profile(raw: Path, top: int = 25) -> str:
    """Self and inclusive time per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "no samples\n"
    out = [f"{total} samples", "", "Self time:"]
    out += [f"{100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    out += ["", "Inclusive time:"]
    out += [f"{100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top * 2)]
    return "\n".join(out) + "\n"


# --- the run ---------------------------------------------------------------------------------


class Harness:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.root = Path(args.root).resolve()
        self.work = Path(tempfile.mkdtemp(prefix="moot-bench-"))
        self.results = Results(
            machine={},
            config={
                "scales": " and ".join(f"{s:g}" for s in args.scales),
                "seconds per run": args.seconds,
                "cast clients": args.clients,
                "page/API clients": args.page_clients,
                "uvicorn workers per app": args.workers,
                "PostgreSQL": "private cluster, fast settings (fsync, synchronous_commit, "
                "full_page_writes off)",
                "app": "MOOT_ENV=production, GRAPHQL_RATE_PER_MINUTE=0, LOG_LEVEL=INFO",
            },
        )

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
            largest = max(self.args.scales)
            for scale in self.args.scales:
                self.measure_scale(scale, urls[scale], stream=scale == largest)
        return self.results

    def start_servers(self, url: str) -> tuple[Server, Server]:
        from server.bench import apps

        features = apps.features(self.settings(url))
        native = all(features.values())
        for feature, ok in features.items():
            if not ok:
                note = (
                    f"{feature}: not wired into the app yet; measured through the stand-in in "
                    "server/bench/apps.py (same service code, no GraphQL layer)"
                    if feature == "castBallot mutation"
                    else f"{feature}: not wired into the app yet; mounted by server/bench/apps.py"
                )
                if note not in self.results.notes:
                    self.results.notes.append(note)
        self.cast_native = features["castBallot mutation"]
        factory = "server.asgi:app" if native else "server.bench.apps:moot_app"
        env = self.env(url)
        app = Server("app", factory, APP_PORT, env, self.args.workers)
        baseline = Server(
            "baseline", "server.bench.baseline_app:create", BASELINE_PORT, env, self.args.workers
        )
        try:
            app.wait_ready()
            baseline.wait_ready()
        except Exception:
            app.stop()
            baseline.stop()
            raise
        return app, baseline

    def measure_scale(self, scale: float, url: str, *, stream: bool) -> None:
        dsn = gen.raw_dsn(url)
        cast_lines, people_file, cast_ballots = asyncio.run(self.cast_fixtures(url, scale))
        page_lines = asyncio.run(self.page_fixtures(dsn, scale))
        app, baseline = self.start_servers(url)
        try:
            self.workload_cast(scale, app, dsn, cast_lines, people_file, cast_ballots)
            self.workload_pages(scale, app, baseline, page_lines)
            self.workload_api(scale, app, baseline, dsn)
            if self.args.profile and scale == min(self.args.scales):
                self.profiles(app, cast_lines, page_lines)
            if stream and self.args.stream_rows:
                self.workload_stream(app, url, dsn)
        finally:
            app.stop()
            baseline.stop()

    # -- workload 1 --

    async def cast_fixtures(self, url: str, scale: float) -> tuple[Path, Path, tuple[int, int]]:
        dsn = gen.raw_dsn(url)
        conn = await asyncpg.connect(dsn)
        try:
            app_ballot, app_options = await make_ballot(conn, "Benchmark vote (app)")
            base_ballot, base_options = await make_ballot(conn, "Benchmark vote (baseline)")
        finally:
            await conn.close()
        people = await make_tokens(url, self.settings(url), TOKENS)
        lines = []
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
            base_choices = sorted({base_options[i % 5], base_options[(i * 3 + 1) % 5]})
            baseline_people.append(f"{person_id}\t{persona_id}\t{json.dumps(base_choices)}")
        shim = [(m, "/bench/cast-ballot", h, b) for m, _, h, b in lines]
        tagname = tag(scale)
        write_lines(self.work / f"cast-gql-{tagname}.txt", lines)
        write_lines(self.work / f"cast-shim-{tagname}.txt", shim)
        people_file = self.work / f"people-{tagname}.txt"
        people_file.write_text("\n".join(baseline_people) + "\n")
        return self.work / f"cast-{{}}-{tagname}.txt", people_file, (app_ballot, base_ballot)

    def workload_cast(
        self,
        scale: float,
        app: Server,
        dsn: str,
        lines_pattern: Path,
        people_file: Path,
        ballots: tuple[int, int],
    ) -> None:
        lines = Path(str(lines_pattern).format("gql" if self.cast_native else "shim"))
        log(f"scale {scale:g}: casting ({'GraphQL' if self.cast_native else 'stand-in'})")
        app_data = wrk(app.base, lines, seconds=self.args.seconds, clients=self.args.clients)
        base_data = load_tool(
            "cast-baseline",
            dsn,
            str(ballots[1]),
            str(people_file),
            "--seconds",
            str(self.args.seconds),
            "--clients",
            str(self.args.clients),
        )
        counts = asyncio.run(cast_counts(dsn, ballots[0]))
        note = (
            f"{counts['ballots']:,} ballots recorded, {counts['changes']:,} changes "
            f"(tokens cycle over {TOKENS:,} people)"
        )
        if not self.cast_native:
            note += "; via the stand-in route, not GraphQL"
        self.results.rows.append(
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
            a = wrk(app.base, path, seconds=self.args.seconds, clients=self.args.page_clients)
            b = wrk(baseline.base, path, seconds=self.args.seconds, clients=self.args.page_clients)
            self.results.rows.append(
                Row(
                    f"2. {name}",
                    scale,
                    Measure.from_load(a, "req/s"),
                    Measure.from_load(b, "req/s"),
                    0.5,
                )
            )
        self.slugs = str(lines["_slugs"]).split(",")

    # -- workload 3 --

    def workload_api(self, scale: float, app: Server, baseline: Server, dsn: str) -> None:
        def body(slug: str, first: int) -> str:
            return json.dumps(
                {"query": LIST_QUERY, "variables": {"slug": slug, "first": first}},
                separators=(",", ":"),
            )

        path = write_lines(
            self.work / f"api-{tag(scale)}.txt",
            [
                ("POST", "/graphql", "Content-Type: application/json", body(s, 50))
                for s in self.slugs
            ],
        )
        log(f"scale {scale:g}: GraphQL list query")
        a = wrk(app.base, path, seconds=self.args.seconds, clients=self.args.page_clients)
        b = wrk(baseline.base, path, seconds=self.args.seconds, clients=self.args.page_clients)
        self.results.rows.append(
            Row(
                "3. GraphQL call → ideas(first: 50)",
                scale,
                Measure.from_load(a, "req/s"),
                Measure.from_load(b, "req/s"),
                0.4,
            )
        )
        for server in (app, baseline):
            for first in (10, 50):

                async def send(server: Server = server, first: int = first) -> None:
                    async with httpx.AsyncClient() as client:
                        response = await client.post(
                            server.base + "/graphql",
                            content=body(self.slugs[0], first),
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
        self.results.rows.append(
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

    # -- profiles --

    def profiles(self, app: Server, cast_pattern: Path, pages: dict[str, Path]) -> None:
        workers = app.workers()
        if not workers:
            return
        out = Path(self.args.out)
        out.mkdir(parents=True, exist_ok=True)
        seconds = min(self.args.seconds, 5)
        cast_lines = Path(str(cast_pattern).format("gql" if self.cast_native else "shim"))
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


async def admin_db(url: str, sql: str) -> None:
    conn = await asyncpg.connect(gen.raw_dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def cast_counts(dsn: str, ballot_id: int) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS ballots, coalesce(sum(changes), 0) AS changes FROM cast_ballots "
            "WHERE ballot_id = $1",
            ballot_id,
        )
        return {"ballots": row["ballots"], "changes": row["changes"]}
    finally:
        await conn.close()


async def published_casts(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM cast_ballots cb JOIN ballots b ON b.id = cb.ballot_id "
            "WHERE b.status = 'published'"
        )
        return count
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server.bench.run", description=__doc__)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per run (app or baseline)")
    parser.add_argument("--clients", type=int, default=64, help="casting concurrency")
    parser.add_argument("--page-clients", type=int, default=32, help="pages and API")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per app")
    parser.add_argument("--stream-rows", type=int, default=1_000_000)
    parser.add_argument("--root", default=str(PROJECT_ROOT / "var" / "bench"))
    parser.add_argument("--out", default=str(PROJECT_ROOT / "bench" / "results"))
    parser.add_argument("--profile", action="store_true", help="py-spy profiles of 1 and 2")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    results = Harness(args).run()
    json_path, md_path = report.write(results, Path(args.out))
    print(md_path.read_text())
    log(f"written {json_path} and {md_path}")


if __name__ == "__main__":
    main()
