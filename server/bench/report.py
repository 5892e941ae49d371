"""The results of a harness run: the machine, one row per workload and scale, written as
bench/results/latest.json and latest.md. Nothing here holds or checks a measured figure."""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Measure:
    """One side of a comparison: a rate and, for request workloads, latencies (ms)."""

    rate: float
    unit: str  # "req/s", "ballots/s" or "MB/s"
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    count: int = 0
    bad: int = 0
    # CPU the server and PostgreSQL used per request (ms), whatever the machine's other load.
    cpu_ms: float | None = None

    @classmethod
    def from_load(cls, data: dict[str, Any], unit: str) -> Measure:
        seconds = data["duration_us"] / 1e6
        return cls(
            rate=data["requests"] / seconds if seconds else 0.0,
            unit=unit,
            p50_ms=data["p50_us"] / 1000,
            p95_ms=data["p95_us"] / 1000,
            p99_ms=data["p99_us"] / 1000,
            mean_ms=data["mean_us"] / 1000,
            count=data["requests"],
            bad=data.get("bad", 0) + data.get("socket_errors", 0) + data.get("timeouts", 0),
            cpu_ms=data["server_cpu_s"] * 1000 / data["requests"]
            if "server_cpu_s" in data and data["requests"]
            else None,
        )

    @classmethod
    def median(cls, samples: list[Measure]) -> Measure:
        """Each figure's median over rounds (counts and failures add up): a round spoilt by the
        machine's other tenants moves the median little."""

        def mid(values: list[float | None]) -> float | None:
            known = [v for v in values if v is not None]
            return statistics.median(known) if known else None

        return cls(
            rate=statistics.median(m.rate for m in samples),
            unit=samples[0].unit,
            p50_ms=mid([m.p50_ms for m in samples]),
            p95_ms=mid([m.p95_ms for m in samples]),
            p99_ms=mid([m.p99_ms for m in samples]),
            mean_ms=mid([m.mean_ms for m in samples]),
            count=sum(m.count for m in samples),
            bad=sum(m.bad for m in samples),
            cpu_ms=mid([m.cpu_ms for m in samples]),
        )


@dataclass
class Row:
    workload: str
    scale: float
    app: Measure
    baseline: Measure
    target: float  # the ratio app/baseline wanted at least
    note: str = ""
    rounds: int = 1  # figures are medians over this many runs, taken in turn with other scales

    @classmethod
    def combined(cls, runs: list[Row]) -> Row:
        """The median of a workload's rounds at one scale (the note of the last round)."""
        last = runs[-1]
        return cls(
            last.workload,
            last.scale,
            Measure.median([r.app for r in runs]),
            Measure.median([r.baseline for r in runs]),
            last.target,
            last.note,
            rounds=len(runs),
        )

    @property
    def ratio(self) -> float:
        return self.app.rate / self.baseline.rate if self.baseline.rate else 0.0

    @property
    def met(self) -> bool:
        return self.ratio >= self.target


@dataclass
class Results:
    machine: dict[str, Any]
    config: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    statements: list[dict[str, Any]] = field(default_factory=list)
    streaming: dict[str, Any] = field(default_factory=dict)
    live: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def scaling(self) -> list[dict[str, Any]]:
        """Mean time per request of the app at the smallest vs the largest scale."""
        scales = sorted({r.scale for r in self.rows})
        if len(scales) < 2:
            return []
        low, high = scales[0], scales[-1]
        out = []
        for name in dict.fromkeys(r.workload for r in self.rows):
            a = next((r for r in self.rows if r.workload == name and r.scale == low), None)
            b = next((r for r in self.rows if r.workload == name and r.scale == high), None)
            if a is None or b is None or not a.app.mean_ms or not b.app.mean_ms:
                continue
            growth = (b.app.mean_ms / a.app.mean_ms - 1) * 100
            cpu_growth = (
                (b.app.cpu_ms / a.app.cpu_ms - 1) * 100 if a.app.cpu_ms and b.app.cpu_ms else None
            )
            out.append(
                {
                    "workload": name,
                    "from_scale": low,
                    "to_scale": high,
                    "mean_ms_from": a.app.mean_ms,
                    "mean_ms_to": b.app.mean_ms,
                    "growth_percent": growth,
                    "met": growth <= 20,
                    "cpu_ms_from": a.app.cpu_ms,
                    "cpu_ms_to": b.app.cpu_ms,
                    "cpu_growth_percent": cpu_growth,
                    "cpu_met": cpu_growth is not None and cpu_growth <= 20,
                }
            )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "config": self.config,
            "rows": [{**asdict(r), "ratio": r.ratio, "met": r.met} for r in self.rows],
            "scaling": self.scaling(),
            "statements": self.statements,
            "streaming": self.streaming,
            "live": self.live,
            "notes": self.notes,
        }


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def markdown(results: Results) -> str:
    m = results.machine
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {m.get('cpu')} ({m.get('cores')} cores), {m.get('memory_gb')} GB memory; "
        f"PostgreSQL {m.get('postgresql')}; Python {m.get('python')}; {m.get('load_generator')}.",
        "",
        "Setup: " + "; ".join(f"{k} {v}" for k, v in results.config.items()) + ".",
        "",
        "| Workload | Scale | App | Baseline | Ratio (target) | App p50 / p95 / p99 ms "
        "| Baseline p50 / p95 / p99 ms | Server CPU ms per request: app / baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def lat(x: Measure) -> str:
        if x.p50_ms is None:
            return "–"
        return f"{_fmt(x.p50_ms)} / {_fmt(x.p95_ms)} / {_fmt(x.p99_ms)}"

    for r in results.rows:
        flag = "" if r.met else " ✗"
        bad = f" ({r.app.bad:,} bad)" if r.app.bad else ""
        lines.append(
            f"| {r.workload} | {r.scale:g} | {_fmt(r.app.rate)} {r.app.unit}{bad} "
            f"| {_fmt(r.baseline.rate)} {r.baseline.unit} "
            f"| {r.ratio:.2f} (≥ {r.target:g}){flag} | {lat(r.app)} | {lat(r.baseline)} "
            f"| {_fmt(r.app.cpu_ms, 2)} / {_fmt(r.baseline.cpu_ms, 2)} |"
        )
    noted = [r for r in results.rows if r.note]
    if noted:
        lines += [""] + [f"- {r.workload}, scale {r.scale:g}: {r.note}." for r in noted]
    scaling = results.scaling()
    if scaling:
        lines += [
            "",
            "Scaling (app): mean time per request under load, and server CPU (app and "
            "PostgreSQL) per request:",
            "",
            "| Workload | Scale | ms | Scale | ms | Growth (target ≤ 20 %) "
            "| CPU ms | CPU ms | CPU growth (target ≤ 20 %) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for s in scaling:
            cpu = (
                "–"
                if s["cpu_growth_percent"] is None
                else f"{s['cpu_growth_percent']:+.0f} %{'' if s['cpu_met'] else ' ✗'}"
            )
            lines.append(
                f"| {s['workload']} | {s['from_scale']:g} | {_fmt(s['mean_ms_from'], 2)} "
                f"| {s['to_scale']:g} | {_fmt(s['mean_ms_to'], 2)} "
                f"| {s['growth_percent']:+.0f} %{'' if s['met'] else ' ✗'} "
                f"| {_fmt(s['cpu_ms_from'], 2)} | {_fmt(s['cpu_ms_to'], 2)} | {cpu} |"
            )
    if results.statements:
        lines += [
            "",
            "SQL statements per request (pg_stat_statements, total incl. BEGIN/ROLLBACK, "
            "and queries only):",
            "",
            "| Server | Scale | first | Statements | Queries |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for s in results.statements:
            lines.append(
                f"| {s['server']} | {s['scale']:g} | {s['first']} | {_fmt(s['statements'])} "
                f"| {_fmt(s['queries'])} |"
            )
    if results.streaming:
        s = results.streaming
        lines += [
            "",
            f"Streaming {s.get('rows', 0):,} cast ballots as CSV ({_fmt(s.get('mb'))} MB): server "
            f"memory growth {_fmt(s.get('rss_growth_mb'))} MB (RSS {_fmt(s.get('rss_before_mb'))} "
            f"→ peak {_fmt(s.get('rss_peak_mb'))} MB; target < 50 MB).",
        ]
    if results.live:
        v = results.live
        lines += [
            "",
            f"Live comment streams (server-sent events, open idea pages) held by one app: "
            f"{v['opened']:,} of {v['connections']:,} opened ({v['refused']:,} refused) in "
            f"{_fmt(v['connect_seconds'], 2)} s; the workers' memory "
            f"{_fmt(v['rss_before_mb'])} → {_fmt(v['rss_held_mb'])} MB, about "
            f"{_fmt(v['kb_per_connection'])} KB per open page.",
        ]
    if results.notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in results.notes]
    return "\n".join(lines) + "\n"


def write(results: Results, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "latest.json", directory / "latest.md"
    json_path.write_text(json.dumps(results.to_json(), indent=2) + "\n")
    md_path.write_text(markdown(results))
    return json_path, md_path


def machine(postgresql: str | None = None) -> dict[str, Any]:
    cpu = platform.processor() or "unknown CPU"
    try:
        text = Path("/proc/cpuinfo").read_text()
        if found := re.search(r"^model name\s*:\s*(.+)$", text, re.M):
            cpu = found.group(1).strip()
    except OSError:
        pass
    memory = None
    try:
        if found := re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M):
            memory = round(int(found.group(1)) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)  # noqa: S607
        load = (wrk.stdout or wrk.stderr).split("[")[0].strip() or "wrk"
    except OSError:
        load = "wrk not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory,
        "postgresql": postgresql,
        "python": platform.python_version(),
        "os": platform.platform(),
        "load_generator": load,
    }
