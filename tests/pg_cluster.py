"""A throwaway PostgreSQL server for tests and benches, from the machine's own binaries.

Debian's `postgresql` package puts them in /usr/lib/postgresql/<version>/bin (not on
PATH). The server refuses to run as root, so as root every command runs as the
`postgres` user. The cluster trusts every local connection except those of the role
GUARDED_USER, which must give its password: the fault tests need a server that can
refuse one. It starts in about a second; stop() removes it.
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


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin that has initdb, else None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """One running PostgreSQL server on 127.0.0.1:port, in a temporary folder."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="notes-pg-"))
        self.data = self.root / "data"
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
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-w",
            "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200",
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

    def create_database(self, owner: str = "notes") -> str:
        """Create a new, empty database and return its name."""
        name = f"notes_test_{os.getpid()}_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name} OWNER {owner}")
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, closing any connection still open to it."""
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
