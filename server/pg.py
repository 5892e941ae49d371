"""A private PostgreSQL cluster for when no DATABASE_URL is given.

Used by ``moot serve`` and by the test suite alike, so the embedded default is exercised on every
test run. The cluster listens on a Unix socket only (``listen_addresses = ''``), with trust
authentication limited to that socket, which only the owner of the directory can reach.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DB_NAME = "moot"
# Unix socket paths are limited to ~107 bytes; keep ours well below.
_MAX_SOCKET_DIR = 90


class PostgresNotFound(RuntimeError):
    """No PostgreSQL server binaries on this machine."""

    def __init__(self) -> None:
        super().__init__(
            "PostgreSQL server programs (initdb, pg_ctl) were not found. Install them "
            "(Debian/Ubuntu: `apt-get install postgresql`, macOS: `brew install postgresql`) "
            "or set DATABASE_URL to an existing PostgreSQL database."
        )


def find_bindir() -> Path:
    """Directory holding initdb and pg_ctl: PG_BINDIR, then PATH, then Debian's layout."""
    candidates: list[str] = []
    if env := os.environ.get("PG_BINDIR"):
        # An explicit choice is final: never fall back to some other installed version.
        if (Path(env) / "initdb").exists() and (Path(env) / "pg_ctl").exists():
            return Path(env)
        raise PostgresNotFound
    if on_path := shutil.which("pg_ctl"):
        candidates.append(str(Path(on_path).resolve().parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    raise PostgresNotFound


@dataclass
class Cluster:
    """A cluster under ``root``: ``root/data`` holds the data, ``root/run`` the socket."""

    root: Path
    bindir: Path
    user: str | None = None  # OS user that owns the cluster; None means the current user

    @classmethod
    def at(cls, root: Path) -> Cluster:
        # PostgreSQL refuses to run as root; Debian's package creates a `postgres` user for it.
        user = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "Running as root, and there is no `postgres` OS user to own the private "
                    "database. Install Debian's `postgresql` package or set DATABASE_URL."
                ) from None
            user = "postgres"
        return cls(root=root.resolve(), bindir=find_bindir(), user=user)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    def url(self, database: str = DB_NAME) -> str:
        user = self.user or pwd.getpwuid(os.geteuid()).pw_name
        return f"postgresql+asyncpg://{user}@/{database}?host={self.socket_dir}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(  # noqa: S603 - fixed program paths, no shell
            cmd, check=check, capture_output=True, text=True, cwd="/"
        )

    def _prepare_dirs(self) -> None:
        if len(str(self.socket_dir)) > _MAX_SOCKET_DIR:
            raise RuntimeError(
                f"The path {self.socket_dir} is too long for a PostgreSQL socket; "
                "set MOOT_VAR_DIR to a shorter directory."
            )
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        os.chmod(self.root, 0o700)
        if self.user:
            entry = pwd.getpwnam(self.user)
            for p in (self.root, self.socket_dir):
                os.chown(p, entry.pw_uid, entry.pw_gid)
            if self.data_dir.exists():
                os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
            # The cluster's owner must be able to reach root; open the path one step (x only).
            for parent in self.root.parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
                if parent == Path("/"):
                    break

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        self._prepare_dirs()
        if self.initialised():
            return
        log.info("creating private PostgreSQL cluster in %s", self.data_dir)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--auth-local=trust",
            "--auth-host=reject",
            "--no-instructions",
        )
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as f:
            f.write(
                "\n# Moot private cluster: socket only, never on the network.\n"
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "unix_socket_permissions = 0700\n"
                "max_connections = 200\n"
                "shared_buffers = 128MB\n"
            )

    def running(self) -> bool:
        if not self.initialised():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0

    def start(self, *, fast: bool = False) -> bool:
        """Start the cluster; returns False when it was already running (someone else owns it)."""
        self.init()
        self._prepare_dirs()
        if self.running():
            return False
        opts = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" if fast else ""
        log_file = self.root / "postgres.log"
        log_file.touch()
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(log_file, entry.pw_uid, entry.pw_gid)
        result = self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.data_dir),
            "-l",
            str(log_file),
            "-o",
            opts,
            check=False,
        )
        if result.returncode != 0:
            tail = log_file.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start:\n{result.stderr}\n{tail}")
        self.ensure_database(DB_NAME)
        return True

    def stop(self) -> None:
        if self.running():
            # "fast" rolls back open transactions and checkpoints: committed data is kept.
            self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir))

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = self._run(
            "psql",
            "-h",
            str(self.socket_dir),
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-XAtqc",
            sql,
        )
        return result.stdout.strip()

    def ensure_database(self, name: str) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"unsafe database name {name!r}")
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")  # noqa: S608 - checked above
        if exists != "1":
            self.psql(f'CREATE DATABASE "{name}"')


@contextlib.contextmanager
def running_cluster(root: Path, *, fast: bool = False) -> Iterator[Cluster]:
    """Start the cluster for the duration of the block; stop it after only if we started it."""
    cluster = Cluster.at(root)
    started = cluster.start(fast=fast)
    try:
        yield cluster
    finally:
        if started:
            cluster.stop()
