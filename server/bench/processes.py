"""The processes a benchmark run starts and reads: the apps under uvicorn (:class:`Server`),
wrk and the load tool (``python -m server.bench.load``) that drive them, and py-spy profiles."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from server.settings import PROJECT_ROOT

HOST = "127.0.0.1"
WRK_SCRIPT = PROJECT_ROOT / "bench" / "wrk" / "requests.lua"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


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


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int | str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the processes have used so far; gone processes count 0."""
    total = 0
    for pid in pids:
        if fields := _stat(pid):
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def postgres_cpu_seconds() -> float:
    """CPU time used by PostgreSQL: its live processes, plus the backends that have exited
    (the postmaster, their parent, is credited with the time of children it reaped)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        if fields := _stat(entry.name):
            total += int(fields[11]) + int(fields[12])
            parent = Path(f"/proc/{fields[1]}/comm")
            if not (parent.exists() and parent.read_text().strip() == "postgres"):
                total += int(fields[13]) + int(fields[14])  # the postmaster's reaped children
    return total / _TICKS


@contextlib.contextmanager
def server_cpu(pids: list[int], into: dict[str, Any]) -> Iterator[None]:
    """CPU seconds used by ``pids`` and PostgreSQL while the block runs, into
    ``into["server_cpu_s"]``. CPU per request moves far less than throughput when a shared
    machine's other tenants take the cores for a while, so the reports give both."""
    before = cpu_seconds(pids) + postgres_cpu_seconds()
    try:
        yield
    finally:
        into["server_cpu_s"] = cpu_seconds(pids) + postgres_cpu_seconds() - before


# --- load ------------------------------------------------------------------------------------


def bench_json(output: str) -> dict[str, Any]:
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
    return bench_json(result.stdout)


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
    return bench_json(result.stdout)


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
