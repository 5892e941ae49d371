"""`moot serve` with no DATABASE_URL: the private cluster starts, serves, stops, and keeps data."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from server.pg import Cluster
from server.settings import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(MOOT_VAR_DIR=str(var_dir), LOG_LEVEL="WARNING", **extra)
    return env


def _start(var_dir: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    var_dir.mkdir(parents=True, exist_ok=True)
    with (var_dir / "serve.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port), *args],
            env=_env(var_dir),
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _log(var_dir: Path) -> str:
    return (var_dir / "serve.log").read_text(errors="replace")


def _wait_healthy(
    proc: subprocess.Popen[bytes], var_dir: Path, port: int, timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"moot serve exited early ({proc.returncode}):\n{_log(var_dir)}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    pytest.fail("moot serve did not become healthy in time")


def _stop(proc: subprocess.Popen[bytes], var_dir: Path, sig: signal.Signals) -> None:
    proc.send_signal(sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"moot serve ignored {sig.name}")
    assert proc.returncode == 0, _log(var_dir)
    assert "Traceback" not in _log(var_dir)


def _postgres_processes(data_dir: Path) -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if str(data_dir) in line]


def test_serve_owns_a_private_cluster_and_keeps_data_between_runs(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    port = _free_port()
    first = _start(var_dir, port, "--demo")
    try:
        _wait_healthy(first, var_dir, port)
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text
        assert "South West Futures — Open Ideas Day" in home
    finally:
        _stop(first, var_dir, signal.SIGTERM)
    cluster = Cluster.at(var_dir / "pg")
    assert not cluster.running(), "the private PostgreSQL outlived the server"
    assert _postgres_processes(cluster.data_dir) == []
    # The cluster listens on its socket only, never on the network.
    conf = (cluster.data_dir / "postgresql.conf").read_text()
    assert "listen_addresses = ''" in conf

    second = _start(var_dir, port, "--demo")  # --demo again must not duplicate anything
    try:
        _wait_healthy(second, var_dir, port)
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text
        assert home.count("South West Futures — Open Ideas Day") == 1
        assert "1 call open now" in home
    finally:
        _stop(second, var_dir, signal.SIGINT)  # Ctrl-C
    assert not cluster.running()


def test_missing_postgresql_gives_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "db", "current"],
        env=_env(tmp_path / "var", PG_BINDIR=str(tmp_path / "no-postgres-here")),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "PostgreSQL server programs (initdb, pg_ctl) were not found" in result.stderr
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_configuration_gives_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "db", "current"],
        env=_env(tmp_path / "var", PORT="not-a-port"),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Configuration error: PORT must be a whole number" in result.stderr
