"""A throwaway PostgreSQL server for tests and benches, from the machine's own binaries.

Debian's `postgresql` package puts them in /usr/lib/postgresql/<version>/bin (not on
PATH). The server refuses to run as root, so as root every command runs as the
`postgres` user. The cluster trusts every local connection except those of the role
GUARDED_USER, which must give its password: the fault tests need a server that can
refuse one. It starts in about a second; remove() deletes it.

The benches (bench/) pass two optional arguments: `root`, a folder that outlives the
server (a seeded database is kept there between runs; remove() still deletes it), and
`settings`, server settings given to `postgres -c` at every start, e.g. BENCH_SETTINGS.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

HOW_TO_GET_IT = "PostgreSQL not found: install it with `apt-get install postgresql`"
GUARDED_USER = "guarded"
GUARDED_PASSWORD = "s3cret-Pa55word-for-tests"
# Settings for the benches: the default 128 MB of shared buffers would measure reads
# from the OS cache rather than the queries; the larger WAL keeps checkpoints out of
# the 1,000,000-note seed. Durability is left at the defaults (fsync, synchronous_commit
# on), so an acknowledged write in bench/stress.py is on disk.
BENCH_SETTINGS = {"shared_buffers": "1GB", "max_wal_size": "4GB", "checkpoint_timeout": "30min"}


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin that has initdb, else None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """One running PostgreSQL server on 127.0.0.1:port, in a temporary folder (or in
    root, kept after stop(), with its databases, for the next Cluster on that root).

    settings: extra server settings ({"shared_buffers": "1GB"}), applied at every start.
    """

    def __init__(
        self, bin_dir: Path, root: Path | None = None, settings: dict[str, str] | None = None
    ) -> None:
        self.bin_dir = bin_dir
        self.kept = root is not None
        if root is None:
            self.root = Path(tempfile.mkdtemp(prefix="notes-pg-"))
        else:
            self.root = Path(root).resolve()
            self.root.mkdir(parents=True, exist_ok=True)
        self.data = self.root / "data"
        self.settings = dict(settings or {})
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres")

    def _run(self, *args: str, check: bool = True) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=check, capture_output=True, timeout=60)

    def start(self) -> Cluster:
        """initdb (first time only) and start the server; return self."""
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", "notes", "--auth=trust", "-E", "UTF8")
            hba = self.data / "pg_hba.conf"
            hba.write_text(
                f"host all {GUARDED_USER} 127.0.0.1/32 scram-sha-256\n"
                "host all all 127.0.0.1/32 trust\nlocal all all trust\n"
            )
        if self.kept and (self.data / "postmaster.pid").exists():  # left running last time
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        options += " -c max_connections=200"
        options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-w",
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "start",
        )
        if not self._role_exists():
            self.admin(f"CREATE ROLE {GUARDED_USER} LOGIN CREATEDB PASSWORD '{GUARDED_PASSWORD}'")
        return self

    def _role_exists(self) -> bool:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            return bool(
                conn.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = %s", (GUARDED_USER,)
                ).fetchone()
            )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (the data stays, so start() brings the same databases back)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop the server if it runs and delete everything."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str, user: str = "notes", password: str | None = None) -> str:
        """A postgresql:// URL for database on this server."""
        login = f"{user}:{password}" if password else user
        return f"postgresql://{login}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run one statement as the superuser, outside a transaction."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(
        self, owner: str = "notes", name: str | None = None, template: str | None = None
    ) -> str:
        """Create a new database (named name, else a fresh test name); return its name.

        It is empty, or a copy of the database template (which must have no connections).
        """
        name = name or f"notes_test_{os.getpid()}_{next(self._names)}"
        copy = f" TEMPLATE {template}" if template else ""
        self.admin(f"CREATE DATABASE {name} OWNER {owner}{copy}")
        return name

    def has_database(self, name: str) -> bool:
        """True if a database called name exists on this server."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return found.fetchone() is not None

    def server_pid(self) -> int:
        """The postmaster's process id (for the benches' server CPU time)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def drop_database(self, name: str) -> None:
        """Drop a database, closing any connection still open to it."""
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
